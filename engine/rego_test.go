package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

func withDecision(b *policies.Bundle, src string) *policies.Bundle {
	b.Modules = append(b.Modules, policies.Module{Path: "policy/decision.rego", Source: []byte(src)})
	return b
}

func TestRegoDecisionWeighsUserContext(t *testing.T) {
	b := withDecision(testBundle(&policies.Rule{ID: "usb", When: `event.action == "file-copied-to-removable"`,
		Severity: policies.SeverityMedium, Evidence: &policies.EvidenceSpec{Screenshot: true}}), `
package vigil.decision

leaving if input.user.employment.status == "notice"

decision := {
	"alert": true,
	"severity": "critical",
	"risk_score": 99,
	"reasons": ["leaving user", input.findings[0].rule, input.bundle.revision],
	"evidence": {"screenshot": true, "video": {"before": "2m"}},
	"actions": ["notify-security"],
} if leaving

decision := {"alert": true, "severity": "medium", "risk_score": 45, "reasons": ["usb"]} if not leaving
`)
	p, err := Compile(b)
	require.NoError(t, err)

	e := copyEvent("e1", t0, "jdoe", "/m/a.pdf")
	e.User.Employment = &event.Employment{Status: "notice"}
	d, err := p.Evaluate(context.Background(), e)
	require.NoError(t, err)
	require.Equal(t, "rego", d.DecidedBy)
	require.True(t, d.Alert)
	require.Equal(t, "critical", d.Severity)
	require.InDelta(t, 99, d.RiskScore, 0)
	require.Equal(t, []string{"leaving user", "usb", "r1"}, d.Reasons)
	require.Equal(t, []string{"notify-security"}, d.Actions)
	require.Equal(t, policies.Duration(120e9), d.Evidence.Video.Before)
	require.Empty(t, d.Errors)

	d, err = p.Evaluate(context.Background(), copyEvent("e2", t0, "asmith", "/m/a.pdf"))
	require.NoError(t, err)
	require.Equal(t, "medium", d.Severity)

	// No findings: Rego is not consulted and nothing is recorded.
	d, err = p.Evaluate(context.Background(), &event.Event{Timestamp: t0, Event: event.Meta{ID: "x", Action: "logon"}})
	require.NoError(t, err)
	require.Empty(t, d.DecidedBy)
	require.Empty(t, d.DecisionID)
}

func TestRegoEveryEvent(t *testing.T) {
	b := withDecision(testBundle(), `
package vigil.decision

decision := {"alert": count(input.findings) > 0, "severity": "info", "risk_score": 0, "reasons": ["seen"]}
`)
	b.Manifest.Metadata["rego_every_event"] = true
	p, err := Compile(b)
	require.NoError(t, err)
	d, err := p.Evaluate(context.Background(), &event.Event{Timestamp: t0, Event: event.Meta{ID: "x", Action: "logon"}})
	require.NoError(t, err)
	require.Equal(t, "rego", d.DecidedBy)
	require.NotEmpty(t, d.DecisionID)
	require.Equal(t, []string{"seen"}, d.Reasons)
	require.False(t, d.Alert)
}

func TestBadRegoResultFallsBackToDefault(t *testing.T) {
	b := withDecision(testBundle(&policies.Rule{ID: "usb", When: `event.action == "file-copied-to-removable"`}), `
package vigil.decision

decision := {"alert": "yes", "severity": "severe"}
`)
	p, err := Compile(b)
	require.NoError(t, err)
	d, err := p.Evaluate(context.Background(), copyEvent("e1", t0, "jdoe", "/m/a"))
	require.NoError(t, err)
	require.Equal(t, "default", d.DecidedBy)
	require.True(t, d.Alert, "the findings still alert")
	require.Equal(t, "high", d.Severity)
	require.Len(t, d.Errors, 1)
	require.Contains(t, d.Errors[0], "decision.")
}

func TestRegoCompileErrorIsPositioned(t *testing.T) {
	b := withDecision(testBundle(), "package vigil.decision\n\ndecision := {\"alert\": input.x +}\n")
	_, err := Compile(b)
	require.Error(t, err)
	require.ErrorIs(t, err, ErrCompile)
	require.Contains(t, err.Error(), "policy/decision.rego:3:")
}
