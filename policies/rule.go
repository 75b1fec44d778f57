package policies

import (
	"strings"
	"time"
)

// Severity is how serious a finding is.
type Severity string

// Severities, from least to most serious.
const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: info=0 … critical=4, unknown=-1.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 0
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	case SeverityCritical:
		return 4
	}
	return -1
}

// Position is a place in a bundle source file, for messages.
type Position struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// String renders the position as file:line:column.
func (p Position) String() string {
	s := p.File
	if p.Line > 0 {
		s += ":" + itoa(p.Line)
		if p.Column > 0 {
			s += ":" + itoa(p.Column)
		}
	}
	return s
}

// Rule is one detection rule from a bundle's rules/*.yaml file.
//
// A plain rule fires on every event its When condition matches; a rule with
// Threshold, Sequence, FirstSeen or Baseline (at most one of them) keeps state
// per key over event time and fires when that state says so.
type Rule struct {
	ID          string   `json:"id" yaml:"id"`
	Version     int      `json:"version,omitempty" yaml:"version,omitempty"`
	Title       string   `json:"title" yaml:"title"`
	Description string   `json:"description,omitempty" yaml:"description,omitempty"`
	Rationale   string   `json:"rationale,omitempty" yaml:"rationale,omitempty"`
	Tuning      string   `json:"tuning,omitempty" yaml:"tuning,omitempty"`
	Severity    Severity `json:"severity" yaml:"severity"`
	Tags        []string `json:"tags,omitempty" yaml:"tags,omitempty"`
	// Disabled rules are loaded and linted but never evaluated.
	Disabled bool `json:"disabled,omitempty" yaml:"disabled,omitempty"`
	// When is the CEL condition an event must satisfy. Optional for sequences
	// (each step has its own).
	When string `json:"when,omitempty" yaml:"when,omitempty"`
	// Actions optionally lists the event actions the rule applies to; when
	// empty the engine derives them from When.
	Actions []string `json:"actions,omitempty" yaml:"actions,omitempty"`

	Threshold  *Threshold    `json:"threshold,omitempty" yaml:"threshold,omitempty"`
	Sequence   *Sequence     `json:"sequence,omitempty" yaml:"sequence,omitempty"`
	FirstSeen  *FirstSeen    `json:"first_seen,omitempty" yaml:"first_seen,omitempty"`
	Baseline   *Baseline     `json:"baseline,omitempty" yaml:"baseline,omitempty"`
	Evidence   *EvidenceSpec `json:"evidence,omitempty" yaml:"evidence,omitempty"`
	Suppress   *Suppress     `json:"suppress,omitempty" yaml:"suppress,omitempty"`
	Exceptions []Exception   `json:"exceptions,omitempty" yaml:"exceptions,omitempty"`

	// Source is where the rule was defined; set by the loader.
	Source Position `json:"source" yaml:"-"`
	// FieldPos maps a YAML key path such as "when", "threshold.window" or
	// "sequence.steps.1.when" to its position, for precise messages.
	FieldPos map[string]Position `json:"field_pos,omitempty" yaml:"-"`
}

// Kind names the rule's kind: plain, threshold, sequence, first_seen or baseline.
func (r *Rule) Kind() string {
	switch {
	case r.Threshold != nil:
		return "threshold"
	case r.Sequence != nil:
		return "sequence"
	case r.FirstSeen != nil:
		return "first_seen"
	case r.Baseline != nil:
		return "baseline"
	}
	return "plain"
}

// Pos returns the position of a field of the rule, falling back to the
// nearest enclosing field that has one ("threshold" for
// "threshold.sum.field"), then to the rule's own position.
func (r *Rule) Pos(field string) Position {
	for field != "" {
		if p, ok := r.FieldPos[field]; ok {
			return p
		}
		i := strings.LastIndexByte(field, '.')
		if i < 0 {
			break
		}
		field = field[:i]
	}
	return r.Source
}

// Threshold fires when, within a sliding Window of event time per By key,
// the count of matching events reaches Count, or the sum of a field exceeds
// Sum, or the number of distinct values of a field exceeds Distinct.
// Exactly one of Count, Sum and Distinct is set.
type Threshold struct {
	Count    int64       `json:"count,omitempty" yaml:"count,omitempty"`
	Sum      *FieldBound `json:"sum,omitempty" yaml:"sum,omitempty"`
	Distinct *FieldBound `json:"distinct,omitempty" yaml:"distinct,omitempty"`
	Window   Duration    `json:"window" yaml:"window"`
	By       []string    `json:"by,omitempty" yaml:"by,omitempty"`
}

// FieldBound is a bound on an aggregate of an event field: the aggregate must
// be greater than GT, or at least GTE. Exactly one of GT and GTE is set.
type FieldBound struct {
	Field string   `json:"field" yaml:"field"`
	GT    *float64 `json:"gt,omitempty" yaml:"gt,omitempty"`
	GTE   *float64 `json:"gte,omitempty" yaml:"gte,omitempty"`
}

// Sequence fires when Steps match in order, for the same By key, with the
// whole sequence inside Within of event time.
type Sequence struct {
	By     []string `json:"by,omitempty" yaml:"by,omitempty"`
	Within Duration `json:"within" yaml:"within"`
	Steps  []Step   `json:"steps" yaml:"steps"`
}

// Step is one step of a sequence.
type Step struct {
	ID   string `json:"id,omitempty" yaml:"id,omitempty"`
	When string `json:"when" yaml:"when"`
}

// FirstSeen fires when the value of Field has not been seen for the By key in
// the last Within of event time. Nothing fires until the key has Learning of
// history, so a new deployment does not alert on everything it meets.
type FirstSeen struct {
	Field    string   `json:"field" yaml:"field"`
	By       []string `json:"by,omitempty" yaml:"by,omitempty"`
	Within   Duration `json:"within" yaml:"within"`
	Learning Duration `json:"learning,omitempty" yaml:"learning,omitempty"`
}

// Baseline fires when the key's count (or sum of Field) in the current
// Window is well above its own history: above Factor times the mean of the
// previous History, and/or above mean + Sigma standard deviations, and at
// least Min. Nothing fires until MinHistory of history exists.
type Baseline struct {
	Field      string   `json:"field,omitempty" yaml:"field,omitempty"`
	By         []string `json:"by,omitempty" yaml:"by,omitempty"`
	Window     Duration `json:"window" yaml:"window"`
	History    Duration `json:"history" yaml:"history"`
	Factor     float64  `json:"factor,omitempty" yaml:"factor,omitempty"`
	Sigma      float64  `json:"sigma,omitempty" yaml:"sigma,omitempty"`
	Min        float64  `json:"min,omitempty" yaml:"min,omitempty"`
	MinHistory Duration `json:"min_history,omitempty" yaml:"min_history,omitempty"`
}

// Suppress stops a rule from firing again for the same By key for For after
// it fired.
type Suppress struct {
	For Duration `json:"for" yaml:"for"`
	By  []string `json:"by,omitempty" yaml:"by,omitempty"`
}

// Exception excludes events from a rule before any state is kept. Either
// When (a CEL condition) or Field with In (a list, or a "data.…" reference to
// a list in bundle data) or Equals.
type Exception struct {
	When   string `json:"when,omitempty" yaml:"when,omitempty"`
	Field  string `json:"field,omitempty" yaml:"field,omitempty"`
	In     any    `json:"in,omitempty" yaml:"in,omitempty"`
	Equals any    `json:"equals,omitempty" yaml:"equals,omitempty"`
}

// EvidenceSpec says which evidence to capture when the rule fires.
type EvidenceSpec struct {
	Screenshot bool        `json:"screenshot,omitempty" yaml:"screenshot,omitempty"`
	Video      *RollWindow `json:"video,omitempty" yaml:"video,omitempty"`
	Keystrokes *RollWindow `json:"keystrokes,omitempty" yaml:"keystrokes,omitempty"`
	Clipboard  *RollWindow `json:"clipboard,omitempty" yaml:"clipboard,omitempty"`
	Terminal   *RollWindow `json:"terminal,omitempty" yaml:"terminal,omitempty"`
}

// RollWindow is how much evidence to keep before (pre-roll) and after
// (post-roll) the moment a rule fires.
type RollWindow struct {
	Before Duration `json:"before,omitempty" yaml:"before,omitempty"`
	After  Duration `json:"after,omitempty" yaml:"after,omitempty"`
}

// Duration is a time.Duration written as "90s", "10m", "1h", "7d" or "2w".
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
