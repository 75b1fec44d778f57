package sqlite

import "github.com/prometheus/client_golang/prometheus"

// metrics are the store's Prometheus metrics.
type metrics struct {
	commits          prometheus.Counter
	commitErrors     prometheus.Counter
	commitSeconds    prometheus.Histogram
	writes           prometheus.Counter
	eventsStored     prometheus.Counter
	eventsDuplicate  prometheus.Counter
	retentionDeleted *prometheus.CounterVec
	queueLength      prometheus.GaugeFunc
}

func newMetrics(db *DB) *metrics {
	const ns, sub = "vigil", "store"
	m := &metrics{
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "commits_total",
			Help: "Write transactions committed.",
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "commit_errors_total",
			Help: "Write transactions that failed as a whole (full disk, I/O error), failing every write in them.",
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "commit_seconds",
			Help:    "Time from the start of a write transaction to its commit.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9),
		}),
		writes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "writes_total",
			Help: "Writes committed (an Append of any size counts once).",
		}),
		eventsStored: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "events_stored_total",
			Help: "Events stored by Append.",
		}),
		eventsDuplicate: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "events_duplicate_total",
			Help: "Events Append did not store because they were already stored.",
		}),
		retentionDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "retention_deleted_total",
			Help: "Records removed by retention, by kind.",
		}, []string{"kind"}),
	}
	m.queueLength = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: sub, Name: "write_queue_length",
		Help: "Writes waiting for the writer.",
	}, func() float64 {
		if db.writer == nil {
			return 0
		}
		return float64(len(db.writer.queue))
	})
	return m
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.commits, m.commitErrors, m.commitSeconds, m.writes, m.eventsStored,
		m.eventsDuplicate, m.retentionDeleted, m.queueLength}
}

func (m *metrics) register(r prometheus.Registerer) error {
	var registered []prometheus.Collector
	for _, c := range m.collectors() {
		if err := r.Register(c); err != nil {
			for _, c := range registered {
				r.Unregister(c)
			}
			return err
		}
		registered = append(registered, c)
	}
	return nil
}

func (m *metrics) unregister(r prometheus.Registerer) {
	for _, c := range m.collectors() {
		r.Unregister(c)
	}
}
