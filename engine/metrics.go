package engine

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's Prometheus metrics. Create them once per process
// with NewMetrics and pass them to every Compile; they outlive Programs. A
// nil *Metrics records nothing.
type Metrics struct {
	events     prometheus.Counter
	findings   *prometheus.CounterVec
	ruleErrors *prometheus.CounterVec
	suppressed *prometheus.CounterVec
	decisions  *prometheus.CounterVec
	regoErrors prometheus.Counter
	regoTime   prometheus.Histogram
	reloads    *prometheus.CounterVec
	bundle     *prometheus.GaugeVec
}

type ruleMetrics struct {
	findings, errors, suppressed prometheus.Counter
}

// NewMetrics creates the engine metrics and registers them with reg (which
// may be nil to keep them unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_engine_events_total", Help: "Events evaluated.",
		}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_engine_findings_total", Help: "Rule findings, by rule.",
		}, []string{"rule"}),
		ruleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_engine_rule_errors_total", Help: "Failed rule condition evaluations, by rule.",
		}, []string{"rule"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_engine_suppressed_total", Help: "Findings suppressed by a rule's suppress setting, by rule.",
		}, []string{"rule"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_engine_decisions_total", Help: "Decisions made for events with findings, by whether they alert.",
		}, []string{"alert"}),
		regoErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_engine_rego_errors_total", Help: "Failed Rego decision evaluations (the default decision was used).",
		}),
		regoTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_engine_rego_duration_seconds", Help: "Time to evaluate the Rego decision.",
			Buckets: prometheus.ExponentialBuckets(5e-6, 4, 8),
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_engine_reloads_total", Help: "Bundle reloads, by result.",
		}, []string{"result"}),
		bundle: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_engine_bundle_info", Help: "The active bundle (value 1), by name and revision.",
		}, []string{"name", "revision"}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.findings, m.ruleErrors, m.suppressed, m.decisions,
			m.regoErrors, m.regoTime, m.reloads, m.bundle)
	}
	return m
}

func (m *Metrics) forRule(id string) *ruleMetrics {
	return &ruleMetrics{
		findings:   m.findings.WithLabelValues(id),
		errors:     m.ruleErrors.WithLabelValues(id),
		suppressed: m.suppressed.WithLabelValues(id),
	}
}

func (m *Metrics) setBundle(p *Program) {
	m.bundle.Reset()
	m.bundle.WithLabelValues(p.name, p.revision).Set(1)
}

func (m *Metrics) reload(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.reloads.WithLabelValues("success").Inc()
	} else {
		m.reloads.WithLabelValues("failure").Inc()
	}
}
