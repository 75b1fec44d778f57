package store

import (
	"context"
	"time"
)

// AlertStatus is where an alert stands in the triage workflow:
//
//	open → acknowledged → resolved
//	                    → false-positive
//
// Resolved and false-positive are final.
type AlertStatus string

// The alert statuses.
const (
	StatusOpen          AlertStatus = "open"
	StatusAcknowledged  AlertStatus = "acknowledged"
	StatusResolved      AlertStatus = "resolved"
	StatusFalsePositive AlertStatus = "false-positive"
)

// Valid reports whether s is one of the alert statuses.
func (s AlertStatus) Valid() bool {
	switch s {
	case StatusOpen, StatusAcknowledged, StatusResolved, StatusFalsePositive:
		return true
	}
	return false
}

// Final reports whether no transition leaves s.
func (s AlertStatus) Final() bool {
	return s == StatusResolved || s == StatusFalsePositive
}

// CanTransitionTo reports whether the workflow allows moving an alert from
// s to to. Staying in the same status is not a transition.
func (s AlertStatus) CanTransitionTo(to AlertStatus) bool {
	switch s {
	case StatusOpen:
		return to == StatusAcknowledged
	case StatusAcknowledged:
		return to == StatusResolved || to == StatusFalsePositive
	}
	return false
}

// Alert is an alert raised by an alerting decision, with its triage state.
type Alert struct {
	// ID is the alert's id, a ULID assigned on creation.
	ID string `json:"id"`
	// DecisionID is the decision the alert was raised from; it is the
	// dedupe key (one alert per decision).
	DecisionID string `json:"decision_id"`
	// Time is the decision's event time.
	Time time.Time `json:"time"`
	// Created is when the alert was stored; Updated when it last changed.
	Created        time.Time   `json:"created"`
	Updated        time.Time   `json:"updated"`
	EventID        string      `json:"event_id,omitempty"`
	Action         string      `json:"action,omitempty"`
	User           string      `json:"user,omitempty"`
	Host           string      `json:"host,omitempty"`
	Severity       string      `json:"severity,omitempty"`
	RiskScore      float64     `json:"risk_score"`
	RuleIDs        []string    `json:"rule_ids,omitempty"`
	BundleName     string      `json:"bundle_name,omitempty"`
	BundleRevision string      `json:"bundle_revision,omitempty"`
	Status         AlertStatus `json:"status"`
	Assignee       string      `json:"assignee,omitempty"`
}

// AlertUpdate changes an alert. Empty fields change nothing; at least one
// of Status, Assignee and Comment must be set.
type AlertUpdate struct {
	// Actor is who makes the change. Required.
	Actor string
	// Status is the new status; it must be a transition the workflow allows
	// from the current status.
	Status AlertStatus
	// Assignee, when not nil, is the new assignee ("" to unassign).
	Assignee *string
	// Comment is recorded with the change.
	Comment string
}

// AlertChange is one entry of an alert's history: its creation, a status
// change, an assignment or a comment.
type AlertChange struct {
	Time  time.Time `json:"time"`
	Actor string    `json:"actor"`
	// FromStatus is the status before the change, "" for the creation;
	// ToStatus the status after it (the same for an assignment or a
	// comment).
	FromStatus AlertStatus `json:"from_status,omitempty"`
	ToStatus   AlertStatus `json:"to_status"`
	// Assignee is the alert's assignee after the change.
	Assignee string `json:"assignee,omitempty"`
	Comment  string `json:"comment,omitempty"`
}

// AlertFilter selects alerts. Empty fields do not filter. From is
// inclusive and To exclusive, on alert time.
type AlertFilter struct {
	Status   AlertStatus
	Severity string
	// Rule matches alerts whose RuleIDs contain it.
	Rule     string
	User     string
	Host     string
	Assignee string
	From     time.Time
	To       time.Time
	Limit    int
	Cursor   string
}

// Alerts stores alerts and their triage workflow.
//
// Create raises the alert of an alerting decision (d.Alert must be true and
// d.ID set, else ErrInvalid). The decision id is the dedupe key: when an
// alert for d.ID exists, Create returns it with created false and changes
// nothing. The alert starts open, and its history starts with the creation.
//
// Get returns one alert, or ErrNotFound. List returns alerts newest first,
// one page at a time; next is "" after the last page.
//
// Update applies an AlertUpdate atomically and returns the alert after it.
// A status change the workflow does not allow is ErrInvalidTransition and
// changes nothing; an unknown alert is ErrNotFound. Every successful
// update adds one entry to the history.
//
// History returns an alert's changes, oldest first, or ErrNotFound.
//
// Raise records decisions and raises their alerts in one write: for each
// record in order, what Decisions.Put does, then, when d.Alert is set, what
// Create does. It returns one result per record. A record Put would refuse
// (ErrInvalid) gets that error and is skipped; when the write itself fails,
// every other record gets its error too, which Raise also returns.
//
// All methods are safe for concurrent use; concurrent updates of one alert
// are serialised, each seeing the result of the one before.
type Alerts interface {
	Create(ctx context.Context, d DecisionRecord) (a Alert, created bool, err error)
	Raise(ctx context.Context, recs []DecisionRecord) ([]Raised, error)
	Get(ctx context.Context, id string) (Alert, error)
	List(ctx context.Context, f AlertFilter) (alerts []Alert, next string, err error)
	Update(ctx context.Context, id string, u AlertUpdate) (Alert, error)
	History(ctx context.Context, id string) ([]AlertChange, error)
}

// Raised is what Alerts.Raise did with one decision record.
type Raised struct {
	// Err is why the decision was not stored; nil when it is stored (now
	// or before).
	Err error
	// Alert is the decision's alert, when it alerts and Err is nil.
	Alert Alert
	// Created reports that Alert was created by this call.
	Created bool
}
