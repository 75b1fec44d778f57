package alerts

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the dispatcher's Prometheus metrics of one stream (alerts
// or events), labelled by sink.
type metrics struct {
	sent          *prometheus.CounterVec
	failed        *prometheus.CounterVec
	deadLettered  *prometheus.CounterVec
	discarded     *prometheus.CounterVec
	filtered      *prometheus.CounterVec
	queueLength   *prometheus.GaugeVec
	deadLetters   *prometheus.GaugeVec
	sendDuration  *prometheus.HistogramVec
	renderFailure *prometheus.CounterVec
	// dropped counts events a full event queue dropped; alerts are never
	// dropped, so the alert metrics do not register it.
	dropped *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_sent_total", Help: "Alerts delivered, by sink.",
		}, []string{"sink"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_failed_total", Help: "Alert delivery attempts that failed, by sink.",
		}, []string{"sink"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_dead_lettered_total", Help: "Alerts moved to the dead letters, by sink and reason (max_attempts, rejected, queue_full).",
		}, []string{"sink", "reason"}),
		discarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_dead_letters_discarded_total", Help: "Oldest dead letters discarded because a sink's dead letters were full.",
		}, []string{"sink"}),
		filtered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_filtered_total", Help: "Alerts a sink's filter left out.",
		}, []string{"sink"}),
		queueLength: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_sink_queue_length", Help: "Alerts waiting for delivery, by sink.",
		}, []string{"sink"}),
		deadLetters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_sink_dead_letters", Help: "Dead letters kept, by sink.",
		}, []string{"sink"}),
		sendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_sink_send_duration_seconds", Help: "Time of one delivery attempt (one batch), by sink.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"sink"}),
		renderFailure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_render_errors_total", Help: "Alerts that could not be rendered in a sink's format.",
		}, []string{"sink"}),
	}
	if err := m.register(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// newEventMetrics returns the metrics of the event stream.
func newEventMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_events_sent_total", Help: "Events of the event stream delivered, by sink.",
		}, []string{"sink"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_events_failed_total", Help: "Events in event stream delivery attempts that failed, by sink.",
		}, []string{"sink"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_events_dead_lettered_total", Help: "Events moved to the dead letters, by sink and reason (max_attempts, rejected).",
		}, []string{"sink", "reason"}),
		discarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_events_dead_letters_discarded_total", Help: "Events of the oldest event dead letters discarded because a sink's dead letters were full.",
		}, []string{"sink"}),
		filtered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_events_filtered_total", Help: "Events a sink's action filter left out.",
		}, []string{"sink"}),
		queueLength: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_sink_events_queue_length", Help: "Events waiting for delivery, by sink.",
		}, []string{"sink"}),
		deadLetters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_sink_events_dead_letters", Help: "Events kept in dead letters, by sink.",
		}, []string{"sink"}),
		sendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_sink_events_send_duration_seconds", Help: "Time of one event stream delivery attempt (one batch), by sink.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"sink"}),
		renderFailure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_events_render_errors_total", Help: "Events that could not be rendered in a sink's format.",
		}, []string{"sink"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_sink_events_dropped_total", Help: "Oldest events dropped because a sink's event queue was full.",
		}, []string{"sink"}),
	}
	if err := m.register(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers the metrics on reg, when reg is not nil.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	cs := []prometheus.Collector{m.sent, m.failed, m.deadLettered, m.discarded, m.filtered, m.queueLength, m.deadLetters, m.sendDuration, m.renderFailure}
	if m.dropped != nil {
		cs = append(cs, m.dropped)
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register sink metrics: %w", err)
		}
	}
	return nil
}
