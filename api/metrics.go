package api

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus metrics.
type metrics struct {
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	ingested        *prometheus.CounterVec
	batches         *prometheus.CounterVec
	decisions       prometheus.Counter
	alerts          prometheus.Counter
	evalErrors      prometheus.Counter
	persistErrors   prometheus.Counter
	bundleUploads   *prometheus.CounterVec
	evidenceUploads *prometheus.CounterVec
	bundleActivates *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_api_requests_total", Help: "HTTP requests answered, by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_api_request_duration_seconds", Help: "Time to answer HTTP requests, by route and method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9),
		}, []string{"route", "method"}),
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_api_ingested_events_total", Help: "Events received in batches, by result: stored, duplicate or rejected.",
		}, []string{"result"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_api_ingest_batches_total", Help: "Event batches received, by result: stored, duplicate (a replayed seq), partial (some events rejected) or rejected.",
		}, []string{"result"}),
		decisions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_api_decisions_stored_total", Help: "Decisions on ingested events recorded in the store.",
		}),
		alerts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_api_alerts_created_total", Help: "Alerts raised by decisions on ingested events.",
		}),
		evalErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_api_evaluation_errors_total", Help: "Ingested events the engine failed to evaluate.",
		}),
		persistErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_api_decision_store_errors_total", Help: "Decisions or alerts on ingested events that could not be stored.",
		}),
		bundleUploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_api_bundle_uploads_total", Help: "Bundle uploads, by result code (ok or an error code).",
		}, []string{"result"}),
		evidenceUploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_api_evidence_uploads_total", Help: "Evidence package uploads, by result code (ok or an error code).",
		}, []string{"result"}),
		bundleActivates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_api_bundle_activations_total", Help: "Bundle activations, by result code (ok or an error code).",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.duration, m.ingested, m.batches, m.decisions, m.alerts,
		m.evalErrors, m.persistErrors, m.bundleUploads, m.bundleActivates, m.evidenceUploads,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
