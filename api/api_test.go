package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/store"
)

func TestAuth(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	revoked, revokedSecret, err := env.db.Tokens().Create(ctx, store.NewToken{Name: "gone", Role: store.RoleAdmin})
	require.NoError(t, err)
	require.NoError(t, env.db.Tokens().Revoke(ctx, revoked.ID))
	expired, expiredSecret, err := env.db.Tokens().Create(ctx, store.NewToken{Name: "old", Role: store.RoleAdmin, Expires: time.Now().Add(time.Millisecond)})
	require.NoError(t, err)
	_ = expired
	_, enrollSecret, err := env.db.Tokens().Create(ctx, store.NewToken{Name: "enrol", Role: store.RoleAgent, Kind: store.TokenEnrollment, SingleUse: true})
	require.NoError(t, err)
	time.Sleep(5 * time.Millisecond)

	for _, tt := range []struct {
		name, header string
	}{
		{"no token", ""},
		{"not bearer", "Basic YWRtaW46YWRtaW4="},
		{"junk", "Bearer hunter2"},
		{"well-formed but unknown", "Bearer " + store.NewTokenSecret()},
		{"revoked", "Bearer " + revokedSecret},
		{"expired", "Bearer " + expiredSecret},
		{"enrollment token", "Bearer " + enrollSecret},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.header != "" {
				hdr = []string{"Authorization", tt.header}
			}
			r := env.do("", http.MethodGet, "/api/v1/alerts", nil, hdr...)
			require.Equal(t, http.StatusUnauthorized, r.status, "%s", r.body)
			require.Equal(t, CodeUnauthenticated, r.errorCode(t))
			require.Equal(t, `Bearer realm="vigil"`, r.header.Get("WWW-Authenticate"))
		})
	}

	// One row per role and route family: the role table at work.
	for _, tt := range []struct {
		role         store.Role
		method, path string
		body         string
		want         int
	}{
		{store.RoleAgent, http.MethodGet, "/api/v1/alerts", "", http.StatusForbidden},
		{store.RoleAgent, http.MethodGet, "/api/v1/decisions", "", http.StatusForbidden},
		{store.RoleAgent, http.MethodGet, "/api/v1/bundles/active", "", http.StatusNotFound}, // allowed; nothing active yet
		{store.RoleAnalyst, http.MethodPost, "/api/v1/events", batch("", 1, benign("x", t0)), http.StatusForbidden},
		{store.RoleAuditor, http.MethodPost, "/api/v1/events", batch("", 1, benign("x", t0)), http.StatusForbidden},
		{store.RoleAuditor, http.MethodPatch, "/api/v1/alerts/x", `{"status": "acknowledged"}`, http.StatusForbidden},
		{store.RoleAnalyst, http.MethodPatch, "/api/v1/alerts/x", `{"status": "acknowledged"}`, http.StatusNotFound},
		{store.RoleAnalyst, http.MethodGet, "/api/v1/audit", "", http.StatusForbidden},
		{store.RoleAuditor, http.MethodGet, "/api/v1/audit", "", http.StatusOK},
		{store.RoleAnalyst, http.MethodGet, "/api/v1/tokens", "", http.StatusForbidden},
		{store.RoleAuditor, http.MethodPost, "/api/v1/tokens", `{"name": "x", "role": "admin"}`, http.StatusForbidden},
		{store.RoleAnalyst, http.MethodPost, "/api/v1/bundles", "x", http.StatusForbidden},
		{store.RoleAnalyst, http.MethodPost, "/api/v1/bundles/a/b/activate", "", http.StatusForbidden},
		{store.RoleAdmin, http.MethodGet, "/api/v1/tokens", "", http.StatusOK},
	} {
		t.Run(string(tt.role)+" "+tt.method+" "+tt.path, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			r := env.do(tt.role, tt.method, tt.path, body)
			require.Equal(t, tt.want, r.status, "%s", r.body)
			if tt.want == http.StatusForbidden {
				require.Equal(t, CodeForbidden, r.errorCode(t))
				require.Contains(t, string(r.body), string(tt.role))
			}
		})
	}
	// Nothing was ingested by the refused requests.
	require.Equal(t, 0, env.countEvents())
}

func TestAlertWorkflow(t *testing.T) {
	env := newTestEnv(t)
	r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch("", 1, payrollToUSB("usb-1", t0)))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/alerts", nil)
	var list alertList
	r.json(t, &list)
	require.Len(t, list.Alerts, 1)
	id := list.Alerts[0].ID
	path := "/api/v1/alerts/" + id

	update := func(body string, want int) store.Alert {
		t.Helper()
		r := env.do(store.RoleAnalyst, http.MethodPatch, path, body)
		require.Equal(t, want, r.status, "%s", r.body)
		var a store.Alert
		if want == http.StatusOK {
			r.json(t, &a)
		}
		return a
	}
	// open → resolved skips a step.
	r = env.do(store.RoleAnalyst, http.MethodPatch, path, `{"status": "resolved"}`)
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
	require.Equal(t, CodeInvalidTransition, r.errorCode(t))

	a := update(`{"status": "acknowledged", "assignee": "alice", "comment": "looking"}`, http.StatusOK)
	require.Equal(t, store.StatusAcknowledged, a.Status)
	require.Equal(t, "alice", a.Assignee)
	a = update(`{"comment": "asked HR"}`, http.StatusOK)
	require.Equal(t, store.StatusAcknowledged, a.Status)
	a = update(`{"status": "resolved", "comment": "approved transfer"}`, http.StatusOK)
	require.Equal(t, store.StatusResolved, a.Status)

	// Every change is in the audit log too, with its comment; refused ones
	// are not.
	entries, _, err := env.db.Audit().List(context.Background(), store.AuditFilter{Target: id})
	require.NoError(t, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+":"+e.Reason)
	}
	require.ElementsMatch(t, []string{"alert.acknowledged:looking", "alert.update:asked HR", "alert.resolved:approved transfer"}, actions)

	// Resolved is final.
	r = env.do(store.RoleAnalyst, http.MethodPatch, path, `{"status": "acknowledged"}`)
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
	require.Equal(t, CodeInvalidTransition, r.errorCode(t))

	for _, tt := range []struct {
		body string
		code Code
	}{
		{`{"status": "closed"}`, CodeInvalidBody},
		{`{}`, CodeInvalidBody},
		{`{"state": "resolved"}`, CodeInvalidBody},
		{`{"status": `, CodeInvalidJSON},
	} {
		r = env.do(store.RoleAnalyst, http.MethodPatch, path, tt.body)
		require.Equal(t, http.StatusBadRequest, r.status, "%s: %s", tt.body, r.body)
		require.Equal(t, tt.code, r.errorCode(t), tt.body)
	}
	r = env.do(store.RoleAnalyst, http.MethodPatch, "/api/v1/alerts/no-such-alert", `{"status": "acknowledged"}`)
	require.Equal(t, http.StatusNotFound, r.status)

	r = env.do(store.RoleAuditor, http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var detail struct {
		Alert    store.Alert         `json:"alert"`
		History  []store.AlertChange `json:"history"`
		Decision struct {
			DecisionID string `json:"decision_id"`
			Findings   []struct {
				Rule    string `json:"rule"`
				Message string `json:"message"`
			} `json:"findings"`
		} `json:"decision"`
	}
	r.json(t, &detail)
	require.Equal(t, store.StatusResolved, detail.Alert.Status)
	require.Equal(t, detail.Alert.DecisionID, detail.Decision.DecisionID)
	require.Equal(t, "usb-sensitive-file", detail.Decision.Findings[0].Rule)
	var trail []string
	for _, h := range detail.History {
		trail = append(trail, string(h.ToStatus)+"/"+h.Actor+"/"+h.Comment)
	}
	require.Equal(t, []string{
		"open//", "acknowledged/test-analyst/looking", "acknowledged/test-analyst/asked HR", "resolved/test-analyst/approved transfer",
	}, clearActor(trail, 0))

	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/alerts?status=acknowledged", nil)
	r.json(t, &list)
	require.Empty(t, list.Alerts)
	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/alerts?status=resolved&assignee=alice", nil)
	r.json(t, &list)
	require.Len(t, list.Alerts, 1)
}

// clearActor blanks the actor and comment of entry i (the creation, whose
// actor is the store's business).
func clearActor(trail []string, i int) []string {
	parts := strings.SplitN(trail[i], "/", 2)
	trail[i] = parts[0] + "//"
	return trail
}

func TestQueryParameters(t *testing.T) {
	env := newTestEnv(t)
	for _, tt := range []struct {
		path     string
		contains string
	}{
		{"/api/v1/alerts?usr=jdoe", `unknown query parameter "usr"`},
		{"/api/v1/alerts?status=closed", `status="closed"`},
		{"/api/v1/alerts?severity=urgent", `severity="urgent"`},
		{"/api/v1/alerts?from=yesterday", "RFC 3339"},
		{"/api/v1/alerts?limit=0", "limit"},
		{"/api/v1/alerts?limit=100000", "limit"},
		{"/api/v1/decisions?alert=maybe", "true or false"},
		{"/api/v1/users?days=-1", "days"},
		{"/api/v1/tokens?x=1", "takes none"},
	} {
		r := env.do(store.RoleAdmin, http.MethodGet, tt.path, nil)
		require.Equal(t, http.StatusBadRequest, r.status, "%s: %s", tt.path, r.body)
		require.Equal(t, CodeInvalidArgument, r.errorCode(t), tt.path)
		require.Contains(t, r.errorMessage(t), tt.contains, tt.path)
	}
}

func TestUnknownRoutes(t *testing.T) {
	env := newTestEnv(t)
	r := env.do(store.RoleAdmin, http.MethodGet, "/api/v1/nothing", nil)
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, CodeNotFound, r.errorCode(t))
	r = env.do(store.RoleAdmin, http.MethodPut, "/api/v1/alerts", nil)
	require.Equal(t, http.StatusMethodNotAllowed, r.status)
	require.Equal(t, CodeMethodNotAllowed, r.errorCode(t))
	r = env.do(store.RoleAdmin, http.MethodGet, "/api/v1/alerts/", nil)
	require.Equal(t, http.StatusNotFound, r.status)
}

func TestRequestID(t *testing.T) {
	env := newTestEnv(t)
	r := env.do("", http.MethodGet, "/api/v1/alerts", nil, "X-Request-Id", "trace-42")
	require.Equal(t, "trace-42", r.header.Get("X-Request-Id"))
	var eb errorBody
	r.json(t, &eb)
	require.Equal(t, "trace-42", eb.Error.RequestID)
	// A header that is not a sensible id is replaced.
	r = env.do("", http.MethodGet, "/healthz", nil, "X-Request-Id", "bad id\twith spaces")
	require.NotEqual(t, "bad id\twith spaces", r.header.Get("X-Request-Id"))
	require.Len(t, r.header.Get("X-Request-Id"), 26) // a ULID
}

func TestTokens(t *testing.T) {
	env := newTestEnv(t)
	r := env.do(store.RoleAdmin, http.MethodPost, "/api/v1/tokens", `{"name": "ci", "role": "analyst", "reason": "pipeline"}`)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var created tokenCreated
	r.json(t, &created)
	require.True(t, store.WellFormedTokenSecret(created.Secret))
	require.Equal(t, store.RoleAnalyst, created.Token.Role)
	require.Equal(t, "test-admin", created.Token.CreatedBy)

	// The new token works, with its role.
	env.secrets["ci"] = created.Secret
	r = env.do("ci", http.MethodGet, "/api/v1/alerts", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = env.do("ci", http.MethodGet, "/api/v1/tokens", nil)
	require.Equal(t, http.StatusForbidden, r.status)

	// Listed and fetched, never with a secret.
	r = env.do(store.RoleAdmin, http.MethodGet, "/api/v1/tokens", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NotContains(t, string(r.body), created.Secret)
	var list tokenList
	r.json(t, &list)
	require.Len(t, list.Tokens, 5)
	r = env.do(store.RoleAdmin, http.MethodGet, "/api/v1/tokens/"+created.Token.ID, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NotContains(t, string(r.body), created.Secret)

	// Revoked: refused at once.
	r = env.do(store.RoleAdmin, http.MethodDelete, "/api/v1/tokens/"+created.Token.ID, nil)
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	r = env.do("ci", http.MethodGet, "/api/v1/alerts", nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	r = env.do(store.RoleAdmin, http.MethodDelete, "/api/v1/tokens/no-such-token", nil)
	require.Equal(t, http.StatusNotFound, r.status)

	for _, body := range []string{
		`{"role": "admin"}`, `{"name": "x", "role": "root"}`, `{"name": "x", "role": "admin", "kind": "magic"}`,
		`{"name": "x", "role": "admin", "expires": "2001-01-01T00:00:00Z"}`, `{"name": "x", "role": "admin", "secret": "mine"}`,
	} {
		r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/tokens", body)
		require.Equal(t, http.StatusBadRequest, r.status, "%s: %s", body, r.body)
		require.Equal(t, CodeInvalidBody, r.errorCode(t), body)
	}
	// The store's own rules: an enrollment token must be single-use or expire.
	r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/tokens", `{"name": "x", "role": "agent", "kind": "enrollment"}`)
	require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	require.Equal(t, CodeInvalidArgument, r.errorCode(t))

	// Creation and revocation are audited.
	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/audit?target="+created.Token.ID, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var audit auditList
	r.json(t, &audit)
	require.Len(t, audit.Entries, 2)
	require.Equal(t, "token.revoke", audit.Entries[0].Action)
	require.Equal(t, "token.create", audit.Entries[1].Action)
	require.Equal(t, "pipeline", audit.Entries[1].Reason)
	require.Equal(t, "test-admin", audit.Entries[1].Actor)
	require.NotEmpty(t, audit.Entries[1].RequestID)
}

func TestUsersAndRisk(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	require.NoError(t, env.db.Users().Upsert(ctx, store.User{ID: "u-1", Name: "jdoe", Department: "HR", EmploymentStatus: "notice"}))
	require.NoError(t, env.db.Users().Upsert(ctx, store.User{ID: "u-2", Name: "asmith", Department: "Finance", EmploymentStatus: "active"}))
	now := time.Now().UTC()
	r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch("", 1, payrollToUSB("usb-1", now)))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/users", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var users userList
	r.json(t, &users)
	require.Len(t, users.Users, 2)
	require.Equal(t, DefaultRiskDays, users.Days)
	risk := map[string]float64{}
	for _, u := range users.Users {
		risk[u.Name] = u.Risk.Score
	}
	require.Positive(t, risk["jdoe"])
	require.Zero(t, risk["asmith"])

	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/users?department=HR", nil)
	r.json(t, &users)
	require.Len(t, users.Users, 1)

	for _, id := range []string{"u-1", "jdoe"} {
		r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/users/"+id+"?days=7", nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var u userWithRisk
		r.json(t, &u)
		require.Equal(t, "u-1", u.ID)
		require.Equal(t, 1, u.Risk.Alerts)
	}
	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/users/nobody", nil)
	require.Equal(t, http.StatusNotFound, r.status)

	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/risk?limit=5", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var top riskList
	r.json(t, &top)
	require.Equal(t, "jdoe", top.Users[0].User)
}

func TestHealthAndMetrics(t *testing.T) {
	env := newTestEnv(t)
	r := env.do("", http.MethodGet, "/healthz", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.JSONEq(t, `{"status": "ok"}`, string(r.body))

	r = env.do("", http.MethodGet, "/readyz", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var ready readyResponse
	r.json(t, &ready)
	require.Equal(t, readyResponse{Status: "ready", Store: "ok", Bundle: "vigil-library@0.1.0"}, ready)

	env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch("", 1, benign("m1", t0)))
	r = env.do("", http.MethodGet, "/metrics", nil)
	require.Equal(t, http.StatusOK, r.status)
	body := string(r.body)
	require.Contains(t, body, `vigil_api_requests_total{code="200",method="POST",route="/api/v1/events"} 1`)
	require.Contains(t, body, `vigil_api_ingested_events_total{result="stored"} 1`)
	require.Contains(t, body, `vigil_engine_events_total 1`)

	// A closed store: not ready.
	require.NoError(t, env.db.Close())
	r = env.do("", http.MethodGet, "/readyz", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.status, "%s", r.body)
	r.json(t, &ready)
	require.Equal(t, "not ready", ready.Status)
	require.Contains(t, ready.Store, "closed")
	// And requests that need it say so with 503.
	r = env.do(store.RoleAdmin, http.MethodGet, "/api/v1/alerts", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.status, "%s", r.body)
	require.Equal(t, CodeUnavailable, r.errorCode(t))
}
