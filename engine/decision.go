package engine

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

// Decision is the engine's verdict on one event. Events without findings
// get a decision with no id and Alert false, and are not meant to be
// recorded; every other decision carries what is needed to explain and
// reproduce it.
type Decision struct {
	DecisionID string    `json:"decision_id,omitempty"`
	Timestamp  time.Time `json:"@timestamp"`
	EventID    string    `json:"event_id,omitempty"`
	Action     string    `json:"action,omitempty"`
	UserName   string    `json:"user_name,omitempty"`
	HostName   string    `json:"host_name,omitempty"`
	Bundle     BundleRef `json:"bundle"`

	Alert     bool                   `json:"alert"`
	Severity  string                 `json:"severity,omitempty"`
	RiskScore float64                `json:"risk_score"`
	Reasons   []string               `json:"reasons,omitempty"`
	Evidence  *policies.EvidenceSpec `json:"evidence,omitempty"`
	Actions   []string               `json:"actions,omitempty"`

	Findings []Finding `json:"findings,omitempty"`
	Rules    []RuleRef `json:"rules,omitempty"`
	// DecidedBy is "rego" when the bundle's decision policy decided, or
	// "default" when the bundle has none or it failed (see Errors).
	DecidedBy string  `json:"decided_by,omitempty"`
	Timings   Timings `json:"timings"`
	// Input is what the decision was made on, with sensitive fields masked;
	// together with Findings and the bundle revision it reproduces the
	// decision.
	Input *DecisionInput `json:"input,omitempty"`
	// Errors lists evaluation failures met on the way (a rule whose
	// condition failed, a failed Rego evaluation).
	Errors []string `json:"errors,omitempty"`
}

// DecisionInput is the recorded input of a decision.
type DecisionInput struct {
	Event  *event.Event `json:"event"`
	Bundle BundleRef    `json:"bundle"`
}

// BundleRef names a bundle revision.
type BundleRef struct {
	Name     string `json:"name"`
	Revision string `json:"revision"`
}

// RuleRef names a rule version.
type RuleRef struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

// Timings are the time spent in each stage, in nanoseconds.
type Timings struct {
	MatchNS int64 `json:"match_ns"`
	StateNS int64 `json:"state_ns"`
	RegoNS  int64 `json:"rego_ns"`
	TotalNS int64 `json:"total_ns"`
}

// Finding is one rule that fired, with the explanation of why.
type Finding struct {
	Rule        string                 `json:"rule"`
	RuleVersion int                    `json:"rule_version"`
	Title       string                 `json:"title"`
	Severity    string                 `json:"severity"`
	Tags        []string               `json:"tags,omitempty"`
	Kind        string                 `json:"kind"`
	Source      string                 `json:"source"`
	Condition   string                 `json:"condition,omitempty"`
	Key         map[string]string      `json:"key,omitempty"`
	Message     string                 `json:"message"`
	Window      *WindowExplanation     `json:"window,omitempty"`
	Sequence    *SequenceExplanation   `json:"sequence,omitempty"`
	FirstSeen   *FirstSeenExplanation  `json:"first_seen,omitempty"`
	Baseline    *BaselineExplanation   `json:"baseline,omitempty"`
	Evidence    *policies.EvidenceSpec `json:"evidence,omitempty"`
}

// WindowExplanation explains a threshold finding: the aggregate over the
// window against its limit.
type WindowExplanation struct {
	Aggregate string    `json:"aggregate"` // count, sum or distinct
	Field     string    `json:"field,omitempty"`
	Value     float64   `json:"value"`
	Op        string    `json:"op"`
	Limit     float64   `json:"limit"`
	Window    string    `json:"window"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
}

// SequenceExplanation explains a sequence finding: when each step matched.
type SequenceExplanation struct {
	Within string      `json:"within"`
	Steps  []StepMatch `json:"steps"`
}

// StepMatch is one matched step of a sequence.
type StepMatch struct {
	ID   string    `json:"id"`
	When string    `json:"when"`
	At   time.Time `json:"at"`
}

// FirstSeenExplanation explains a first_seen finding.
type FirstSeenExplanation struct {
	Field       string `json:"field"`
	Value       string `json:"value"`
	Within      string `json:"within"`
	KnownValues int    `json:"known_values"`
}

// BaselineExplanation explains a baseline finding: the current window
// against the key's own history.
type BaselineExplanation struct {
	Field          string  `json:"field,omitempty"`
	Window         string  `json:"window"`
	Current        float64 `json:"current"`
	Mean           float64 `json:"mean"`
	StdDev         float64 `json:"stddev"`
	Limit          float64 `json:"limit"`
	HistoryBuckets int     `json:"history_buckets"`
}

func evidenceFrom(v any) (*policies.EvidenceSpec, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var ev policies.EvidenceSpec
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("want {screenshot, video, keystrokes, clipboard, terminal}: %w", err)
	}
	return &ev, nil
}

// mergeEvidence combines the evidence requests of several findings: the
// union of kinds, the longest pre- and post-roll of each.
func mergeEvidence(specs ...*policies.EvidenceSpec) *policies.EvidenceSpec {
	var out *policies.EvidenceSpec
	for _, s := range specs {
		if s == nil {
			continue
		}
		if out == nil {
			out = &policies.EvidenceSpec{}
		}
		out.Screenshot = out.Screenshot || s.Screenshot
		out.Video = mergeRoll(out.Video, s.Video)
		out.Keystrokes = mergeRoll(out.Keystrokes, s.Keystrokes)
		out.Clipboard = mergeRoll(out.Clipboard, s.Clipboard)
		out.Terminal = mergeRoll(out.Terminal, s.Terminal)
	}
	return out
}

func mergeRoll(a, b *policies.RollWindow) *policies.RollWindow {
	switch {
	case a == nil && b == nil:
		return nil
	case a == nil:
		c := *b
		return &c
	case b == nil:
		return a
	}
	return &policies.RollWindow{Before: max(a.Before, b.Before), After: max(a.After, b.After)}
}

// severityScore is the default risk score of a severity.
func severityScore(s string) float64 {
	switch policies.Severity(s) {
	case policies.SeverityInfo:
		return 5
	case policies.SeverityLow:
		return 20
	case policies.SeverityMedium:
		return 45
	case policies.SeverityHigh:
		return 70
	case policies.SeverityCritical:
		return 90
	}
	return 0
}
