package alerts

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
	"github.com/vigil-itm/vigil/store"
)

// Alert is what sinks deliver: a stored alert together with what its
// decision says about it (rule titles, tags, reasons and the masked event
// it was raised on). Its JSON form is the "json" payload format.
type Alert struct {
	ID             string    `json:"id"`
	DecisionID     string    `json:"decision_id,omitempty"`
	Time           time.Time `json:"time"`
	Created        time.Time `json:"created"`
	EventID        string    `json:"event_id,omitempty"`
	Action         string    `json:"action,omitempty"`
	User           string    `json:"user,omitempty"`
	Host           string    `json:"host,omitempty"`
	Severity       string    `json:"severity,omitempty"`
	RiskScore      float64   `json:"risk_score"`
	RuleIDs        []string  `json:"rule_ids,omitempty"`
	BundleName     string    `json:"bundle_name,omitempty"`
	BundleRevision string    `json:"bundle_revision,omitempty"`
	Status         string    `json:"status,omitempty"`
	// Title is the title of the alert's first finding, or its first rule
	// id when the decision is not known.
	Title string `json:"title,omitempty"`
	// Tags is the union of the findings' tags, in order of appearance.
	Tags []string `json:"tags,omitempty"`
	// Reasons are the decision's reasons.
	Reasons []string `json:"reasons,omitempty"`
	// Findings are the rules that fired.
	Findings []Finding `json:"findings,omitempty"`
	// Event is the event the alert was raised on, as the decision recorded
	// it (sensitive fields masked); nil when unknown.
	Event *event.Event `json:"event,omitempty"`
}

// Finding is one rule that fired for an alert.
type Finding struct {
	Rule        string   `json:"rule"`
	RuleVersion int      `json:"rule_version,omitempty"`
	Title       string   `json:"title,omitempty"`
	Severity    string   `json:"severity,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Message     string   `json:"message,omitempty"`
}

// decisionJSON is the part of an engine decision's JSON form that sinks
// use. It mirrors the engine's field names without importing the engine.
type decisionJSON struct {
	Reasons  []string  `json:"reasons"`
	Findings []Finding `json:"findings"`
	Input    *struct {
		Event *event.Event `json:"event"`
	} `json:"input"`
}

// FromStore builds the Alert to deliver from a stored alert and the
// decision record it was raised from. rec may be the zero record (or its
// Decision empty): the alert then carries only what the store keeps. A
// decision that is not valid JSON is an error, and the alert returned still
// carries the stored fields.
func FromStore(a store.Alert, rec store.DecisionRecord) (*Alert, error) {
	out := &Alert{
		ID: a.ID, DecisionID: a.DecisionID, Time: a.Time.UTC(), Created: a.Created.UTC(),
		EventID: a.EventID, Action: a.Action, User: a.User, Host: a.Host,
		Severity: a.Severity, RiskScore: a.RiskScore, RuleIDs: slices.Clone(a.RuleIDs),
		BundleName: a.BundleName, BundleRevision: a.BundleRevision, Status: string(a.Status),
	}
	if len(out.RuleIDs) > 0 {
		out.Title = out.RuleIDs[0]
	}
	if len(rec.Decision) == 0 {
		return out, nil
	}
	var d decisionJSON
	if err := json.Unmarshal(rec.Decision, &d); err != nil {
		return out, fmt.Errorf("decode decision %q of alert %q: %w", rec.ID, a.ID, err)
	}
	out.Reasons = d.Reasons
	out.Findings = d.Findings
	for i, f := range d.Findings {
		if f.Title != "" && (i == 0 || len(out.RuleIDs) > 0 && f.Rule == out.RuleIDs[0]) {
			out.Title = f.Title
		}
		for _, t := range f.Tags {
			if !slices.Contains(out.Tags, t) {
				out.Tags = append(out.Tags, t)
			}
		}
	}
	if d.Input != nil {
		out.Event = d.Input.Event
	}
	return out, nil
}

// SampleAlert returns a made-up alert for testing a sink (`vigil sink
// test`): a USB mass copy by a departing employee. Its id is derived from
// now so that receivers do not drop a second test as a duplicate.
func SampleAlert(now time.Time) *Alert {
	now = now.UTC().Truncate(time.Millisecond)
	id := event.NewID(now)
	return &Alert{
		ID: id, DecisionID: event.NewID(now), Time: now, Created: now,
		EventID: event.NewID(now), Action: event.ActionFileCopiedToRemovable,
		User: "jdoe", Host: "ws-042", Severity: string(policies.SeverityHigh), RiskScore: 70,
		RuleIDs: []string{"usb-mass-copy"}, BundleName: "vigil-library", BundleRevision: "test",
		Status: string(store.StatusOpen), Title: "Many files copied to removable media (test alert)",
		Tags:     []string{"exfiltration", "removable", "test"},
		Reasons:  []string{"this is a test alert sent by vigil sink test"},
		Findings: []Finding{{Rule: "usb-mass-copy", RuleVersion: 1, Title: "Many files copied to removable media", Severity: "high", Tags: []string{"exfiltration", "removable"}, Message: "test"}},
		Event: &event.Event{
			Timestamp: now,
			Event:     event.Meta{ID: id, Kind: "event", Action: event.ActionFileCopiedToRemovable, Module: "removable", OCSF: &event.OCSF{ClassUID: 1001, ActivityID: 1}},
			Host:      &event.Host{Name: "ws-042"},
			User:      &event.User{Name: "jdoe"},
			File:      &event.File{Path: "/media/jdoe/KINGSTON/q3.xlsx", Name: "q3.xlsx", Extension: "xlsx", Size: 48213},
		},
	}
}

// severityRank orders alert severities: info=0 … critical=4, unknown -1.
func severityRank(s string) int { return policies.Severity(s).Rank() }
