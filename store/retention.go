package store

import "time"

// Retention says how long each kind of record is kept. A zero period keeps
// records forever. Alerts, their history, bundles, users and tokens are
// not subject to retention.
type Retention struct {
	// Events are removed by event time.
	Events time.Duration `json:"events" yaml:"events"`
	// Decisions are removed by decision time.
	Decisions time.Duration `json:"decisions" yaml:"decisions"`
	// Evidence index records are removed by creation time. Removing the
	// packages themselves is the evidence storage's job.
	Evidence time.Duration `json:"evidence" yaml:"evidence"`
	// Audit entries are removed by time.
	Audit time.Duration `json:"audit" yaml:"audit"`
}

// Days returns a retention period of n days.
func Days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// RetentionResult counts what one retention pass removed.
type RetentionResult struct {
	Events    int64 `json:"events"`
	Decisions int64 `json:"decisions"`
	Evidence  int64 `json:"evidence"`
	Audit     int64 `json:"audit"`
}
