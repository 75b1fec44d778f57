package api

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

func evidenceKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(pub)
}

// enroll redeems an enrollment token and returns the answer.
func (e *testEnv) enroll(t *testing.T, secret, name string) (response, enrollResponse) {
	t.Helper()
	r := e.do("", http.MethodPost, "/api/v1/agents/enroll", enrollRequest{
		EnrollmentToken: secret, Name: name, OS: "linux", Version: "0.4.0", EvidenceKey: evidenceKey(t),
	})
	var out enrollResponse
	if r.status == http.StatusCreated {
		r.json(t, &out)
	}
	return r, out
}

func TestEnrollAndHeartbeat(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	_, once, err := env.db.Tokens().Create(ctx, store.NewToken{Name: "enroll-once", Role: store.RoleAgent,
		Kind: store.TokenEnrollment, SingleUse: true})
	require.NoError(t, err)

	// Bad requests say what is wrong.
	r := env.do("", http.MethodPost, "/api/v1/agents/enroll", enrollRequest{EnrollmentToken: once, Name: "ws-1", EvidenceKey: "short"})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.errorMessage(t), "evidence_key")
	r = env.do("", http.MethodPost, "/api/v1/agents/enroll", `{"enrollment_token": "x", "name": "ws", "evidence_key": "", "extra": 1}`)
	require.Equal(t, CodeInvalidBody, r.errorCode(t))
	r, _ = env.enroll(t, env.secrets[store.RoleAdmin], "ws-1")
	require.Equal(t, http.StatusUnauthorized, r.status, "an API token is not an enrollment token")

	r, got := env.enroll(t, once, "ws-1")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	require.NotEmpty(t, got.AgentID)
	require.NotEmpty(t, got.Token)
	r, _ = env.enroll(t, once, "ws-2")
	require.Equal(t, http.StatusUnauthorized, r.status, "a single-use token works once")

	// The agent's own token works for agent routes.
	env.secrets["enrolled"] = got.Token
	r = env.do("enrolled", http.MethodPost, "/api/v1/agents/heartbeat", heartbeatRequest{
		Version: "0.4.1", BundleName: "vigil-library", BundleRevision: "0.1.0",
		Sensors: json.RawMessage(`{"removable": {"state": "ok", "mode": "fanotify"}}`),
		Spool:   json.RawMessage(`{"bytes": 1024, "dropped_events": 0}`),
	})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var hb heartbeatResponse
	r.json(t, &hb)
	require.Empty(t, hb.BundleETag, "no bundle was activated through the API")
	require.Zero(t, hb.LastSeq)

	// People may not send heartbeats.
	r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/agents/heartbeat", `{}`)
	require.Equal(t, http.StatusForbidden, r.status)

	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/agents", nil)
	require.Equal(t, http.StatusOK, r.status)
	var list agentList
	r.json(t, &list)
	require.Len(t, list.Agents, 1)
	a := list.Agents[0]
	require.Equal(t, got.AgentID, a.ID)
	require.Equal(t, "ws-1", a.Name)
	require.Equal(t, "0.4.1", a.Version)
	require.Equal(t, "0.1.0", a.BundleRevision)
	require.JSONEq(t, `{"removable": {"state": "ok", "mode": "fanotify"}}`, string(a.Sensors))
	r = env.do(store.RoleAgent, http.MethodGet, "/api/v1/agents", nil)
	require.Equal(t, http.StatusForbidden, r.status, "agents do not list agents")

	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/agents/"+got.AgentID, nil)
	require.Equal(t, http.StatusOK, r.status)
	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/agents/nope", nil)
	require.Equal(t, http.StatusNotFound, r.status)

	// Enrollment is audited.
	entries, _, err := env.db.Audit().List(ctx, store.AuditFilter{Action: "agent.enroll"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, got.AgentID, entries[0].Target)

	// A hand-made agent token shows up on its first heartbeat.
	r = env.do(store.RoleAgent, http.MethodPost, "/api/v1/agents/heartbeat", `{"version": "0.4.0"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = env.do(store.RoleAdmin, http.MethodGet, "/api/v1/agents", nil)
	r.json(t, &list)
	require.Len(t, list.Agents, 2)
}

// TestAgentDecisions: an alerting decision only the endpoint reached raises
// its alert; one the server reaches too is kept once; a replayed batch adds
// nothing.
func TestAgentDecisions(t *testing.T) {
	env := newTestEnv(t)
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

	// The server's engine alerts on this event too: same decision id, one alert.
	usb := payrollToUSB("01JD0000000000000000000001", at)
	prog := env.live.Program()
	d := engine.Decision{DecisionID: event.DerivedID(at, "decision", "01JD0000000000000000000001", prog.Name()),
		Timestamp: at, EventID: "01JD0000000000000000000001", Action: "file-copied-to-removable", UserName: "jdoe",
		Alert: true, Severity: "high", Bundle: engine.BundleRef{Name: prog.Name(), Revision: prog.Revision()}}

	// The server's engine does not alert on this one; the endpoint did.
	quiet := benign("01JD0000000000000000000002", at)
	endpoint := engine.Decision{DecisionID: event.DerivedID(at, "endpoint"), Timestamp: at,
		EventID: "01JD0000000000000000000002", Action: "file-created", UserName: "jdoe", HostName: "ws-042",
		Alert: true, Severity: "high", RiskScore: 70, Bundle: engine.BundleRef{Name: "vigil-library", Revision: "0.1.0"},
		Rules: []engine.RuleRef{{ID: "endpoint-only", Version: 1}}, DecidedBy: "rego"}
	outside := endpoint
	outside.DecisionID, outside.EventID = event.DerivedID(at, "outside"), "01JD0000000000000000000099"

	body := func(seq int) string {
		dj, err := json.Marshal([]engine.Decision{d, endpoint, outside})
		require.NoError(t, err)
		return fmt.Sprintf(`{"seq": %d, "events": [%s, %s], "decisions": %s}`, seq, usb, quiet, dj)
	}
	r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", body(1))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var resp ingestResponse
	r.json(t, &resp)
	require.Equal(t, 1, resp.AgentDecisions, "the endpoint-only decision is recorded; the shared one is the server's; the outside one is ignored")
	require.Equal(t, 2, resp.Alerts)

	alerts, _, err := env.db.Alerts().List(context.Background(), store.AlertFilter{})
	require.NoError(t, err)
	require.Len(t, alerts, 2)
	ids := map[string]bool{alerts[0].DecisionID: true, alerts[1].DecisionID: true}
	require.True(t, ids[d.DecisionID])
	require.True(t, ids[endpoint.DecisionID])

	// Replayed: nothing more.
	r = env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", body(1))
	require.Equal(t, http.StatusOK, r.status)
	r.json(t, &resp)
	require.True(t, resp.DuplicateBatch)
	require.Zero(t, resp.AgentDecisions)

	// A decision that is not an alerting one is refused with the batch.
	r = env.do(store.RoleAgent, http.MethodPost, "/api/v1/events",
		fmt.Sprintf(`{"seq": 2, "events": [%s], "decisions": [{"decision_id": "x", "event_id": "y", "alert": false}]}`, benign("01JD0000000000000000000003", at)))
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, CodeInvalidBody, r.errorCode(t))
}
