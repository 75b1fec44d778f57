package policies

import "github.com/vigil-itm/vigil/event"

// ScenarioFile is one tests/*.yaml file: a list of scenario cases.
type ScenarioFile struct {
	Path  string
	Cases []*Scenario

	// fieldPos holds, per case, the positions of its key paths (such as
	// "events.0.event.file.size"), for lint.
	fieldPos scenarioPositions
}

// Scenario is one scenario test: a sequence of events with timestamps, the
// alerts expected and the rules that must not fire.
type Scenario struct {
	Name string `yaml:"name"`
	// User is directory context merged into the user of every event.
	User *event.User `yaml:"user,omitempty"`
	// Events are fed to a fresh engine in order.
	Events []ScenarioEvent `yaml:"events"`
	// Expect lists alerts that must be raised.
	Expect []ExpectedAlert `yaml:"expect,omitempty"`
	// ExpectNone lists rule ids that must not raise any alert; "*" means no
	// alert at all.
	ExpectNone []string `yaml:"expect_none,omitempty"`
	// Source is where the case starts.
	Source Position `yaml:"-"`
}

// ScenarioEvent is one event of a scenario, or Repeat copies of it spaced by
// Every. In string values "${i}" is replaced by the copy's index (0-based).
type ScenarioEvent struct {
	// At is an RFC 3339 time, or an offset such as "+5m" from the previous
	// event's time. The event's own @timestamp, if set, wins.
	At     string         `yaml:"at,omitempty"`
	Repeat int            `yaml:"repeat,omitempty"`
	Every  Duration       `yaml:"every,omitempty"`
	Event  map[string]any `yaml:"event"`
	// Source is where the event item starts.
	Source Position `yaml:"-"`
}

// ExpectedAlert is an alert a scenario expects.
type ExpectedAlert struct {
	Rule string `yaml:"rule"`
	// Count is the exact number of alerts from Rule; 0 means at least one.
	Count int `yaml:"count,omitempty"`
	// Severity, when set, is the decision's expected severity.
	Severity Severity `yaml:"severity,omitempty"`
	// MinRisk, when set, is a lower bound on the decision's risk score.
	MinRisk float64  `yaml:"min_risk,omitempty"`
	Source  Position `yaml:"-"`
}
