package store

import (
	"context"
	"encoding/json"
	"time"
)

// DecisionRecord is what the store keeps of one engine decision: the fields
// callers filter on, and the whole decision as JSON so that it can be
// explained and reproduced later. The server builds it from the engine's
// decision; the store never sees engine types.
type DecisionRecord struct {
	// ID is the decision id (engine decision_id). Required.
	ID string `json:"id"`
	// Time is the decision's event time; zero means the time of storing.
	Time    time.Time `json:"time"`
	EventID string    `json:"event_id,omitempty"`
	Action  string    `json:"action,omitempty"`
	// User and Host are user.name and host.name of the event.
	User           string `json:"user,omitempty"`
	Host           string `json:"host,omitempty"`
	BundleName     string `json:"bundle_name,omitempty"`
	BundleRevision string `json:"bundle_revision,omitempty"`
	// Alert reports that the decision asks for an alert.
	Alert     bool    `json:"alert"`
	Severity  string  `json:"severity,omitempty"`
	RiskScore float64 `json:"risk_score"`
	// RuleIDs are the ids of the rules whose findings the decision was made
	// on.
	RuleIDs []string `json:"rule_ids,omitempty"`
	// Decision is the full decision as JSON. It must be valid JSON when set.
	Decision json.RawMessage `json:"decision,omitempty"`
}

// DecisionFilter selects decision records. Empty fields do not filter. From
// is inclusive and To exclusive, on decision time.
type DecisionFilter struct {
	User   string
	Host   string
	Bundle string
	// Rule matches records whose RuleIDs contain it.
	Rule string
	// AlertsOnly keeps only decisions that asked for an alert.
	AlertsOnly bool
	From       time.Time
	To         time.Time
	Limit      int
	Cursor     string
}

// Decisions records engine decisions.
//
// Put stores a record. It is idempotent by ID: a record whose ID is already
// stored is left as it is and Put returns nil, so a replayed or retried
// decision is harmless. A record without ID, or with Decision that is not
// valid JSON, is ErrInvalid.
//
// Get returns the record with the given ID, or ErrNotFound.
//
// List returns records newest first, one page at a time; next is "" after
// the last page.
//
// All methods are safe for concurrent use; returned records belong to the
// caller.
type Decisions interface {
	Put(ctx context.Context, d DecisionRecord) error
	Get(ctx context.Context, id string) (DecisionRecord, error)
	List(ctx context.Context, f DecisionFilter) (records []DecisionRecord, next string, err error)
}
