package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/alerts"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/identity"
	"github.com/vigil-itm/vigil/identity/sources"
	"github.com/vigil-itm/vigil/store"
)

// withDirectoryAndSinks gives the test server a real directory (no
// sources) and a real dispatcher with the given sinks.
func withDirectoryAndSinks(t *testing.T, env *testEnv, sinksYAML string) *alerts.Dispatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	id, err := sources.New(ctx, sources.Config{}, env.db.Identity(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	var cfg alerts.Config
	require.NoError(t, yaml.Unmarshal([]byte(sinksYAML), &cfg))
	cfg.StateDir = t.TempDir()
	d, err := alerts.New(cfg, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	env.srv.deps.Directory, env.srv.deps.Sinks = id.Directory, d
	return d
}

func TestPeopleAndWatchlists(t *testing.T) {
	env := newTestEnv(t)
	withDirectoryAndSinks(t, env, "outputs: []")

	r := env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/watchlists", nil)
	require.Equal(t, http.StatusOK, r.status)
	var wl watchlistList
	r.json(t, &wl)
	require.Len(t, wl.Watchlists, 3, "departing, contractors, privileged")

	r = env.do(store.RoleAuditor, http.MethodPost, "/api/v1/watchlists", watchlistRequest{Name: "hr-case-17"})
	require.Equal(t, http.StatusForbidden, r.status, "auditors change nothing")
	r = env.do(store.RoleAnalyst, http.MethodPost, "/api/v1/watchlists", watchlistRequest{Name: "hr-case-17", Description: "open HR case"})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r = env.do(store.RoleAnalyst, http.MethodPost, "/api/v1/watchlists", watchlistRequest{Name: "hr-case-17"})
	require.Equal(t, http.StatusConflict, r.status)
	r = env.do(store.RoleAnalyst, http.MethodPut, "/api/v1/watchlists/hr-case-17/members/jdoe", memberRequest{Reason: "case 17"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var w identity.Watchlist
	r.json(t, &w)
	require.Equal(t, []string{"jdoe"}, w.Members)

	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/people/jdoe", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var p identity.Person
	r.json(t, &p)
	require.Contains(t, p.Watchlists, "hr-case-17")
	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/people?watchlist=hr-case-17", nil)
	var pl personList
	r.json(t, &pl)
	require.Len(t, pl.People, 1)
	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/people?contractor=maybe", nil)
	require.Equal(t, http.StatusBadRequest, r.status)

	// Events are enriched before they are stored and evaluated.
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	r = env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch("", 1, benign("01JD0000000000000000000011", at)))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	evs, _, err := env.db.Events().Query(context.Background(), store.EventFilter{User: "jdoe"})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Contains(t, evs[0].User.Watchlists, "hr-case-17")

	r = env.do(store.RoleAnalyst, http.MethodDelete, "/api/v1/watchlists/hr-case-17/members/jdoe", nil)
	require.Equal(t, http.StatusOK, r.status)
	r = env.do(store.RoleAnalyst, http.MethodDelete, "/api/v1/watchlists/hr-case-17", nil)
	require.Equal(t, http.StatusNoContent, r.status)
	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/watchlists/hr-case-17", nil)
	require.Equal(t, http.StatusNotFound, r.status)

	entries, _, err := env.db.Audit().List(context.Background(), store.AuditFilter{Target: "hr-case-17:jdoe"})
	require.NoError(t, err)
	require.Len(t, entries, 2, "add and remove are audited")
}

func TestSinksDeliverAndDeadLetters(t *testing.T) {
	env := newTestEnv(t)
	var got atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer up.Close()
	var downHits atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		downHits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	withDirectoryAndSinks(t, env, fmt.Sprintf(`outputs:
  - {name: soar, type: webhook, format: json, webhook: {url: %q}}
  - {name: broken, type: webhook, format: json, queue: {max_attempts: 1}, webhook: {url: %q}}
`, up.URL, down.URL))

	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch("", 1, payrollToUSB("01JD0000000000000000000021", at)))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	// The new alert reaches the working sink; the broken one gives up.
	require.Eventually(t, func() bool { return got.Load() == 1 }, 10*time.Second, 10*time.Millisecond)
	var dl deadLetterList
	require.Eventually(t, func() bool {
		r := env.do(store.RoleAdmin, http.MethodGet, "/api/v1/sinks/broken/dead-letters", nil)
		r.json(t, &dl)
		return r.status == http.StatusOK && len(dl.DeadLetters) == 1
	}, 10*time.Second, 10*time.Millisecond)

	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/sinks", nil)
	require.Equal(t, http.StatusOK, r.status)
	var sl sinkList
	r.json(t, &sl)
	require.Len(t, sl.Sinks, 2)
	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/sinks/broken/dead-letters", nil)
	require.Equal(t, http.StatusForbidden, r.status, "dead letters carry alert content: admins only")
	r = env.do(store.RoleAdmin, http.MethodGet, "/api/v1/sinks/nope/dead-letters", nil)
	require.Equal(t, http.StatusNotFound, r.status)

	id := dl.DeadLetters[0].ID
	r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/sinks/broken/dead-letters/"+id+"/retry", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Eventually(t, func() bool {
		r := env.do(store.RoleAdmin, http.MethodGet, "/api/v1/sinks/broken/dead-letters", nil)
		r.json(t, &dl)
		return downHits.Load() == 2 && len(dl.DeadLetters) == 1
	}, 10*time.Second, 10*time.Millisecond, "tried again, still failing: back among the dead letters")
	r = env.do(store.RoleAdmin, http.MethodDelete, "/api/v1/sinks/broken/dead-letters/"+dl.DeadLetters[0].ID, nil)
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/sinks/soar/test", nil)
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	require.EqualValues(t, 2, got.Load())
	entries, _, err := env.db.Audit().List(context.Background(), store.AuditFilter{Action: "sink.retry"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
}

// TestNotConfiguredIsNotAServerFailure checks that a route whose feature
// the server was not configured with answers 503 unavailable, saying what
// is missing, and that the server log does not report it as a failure: an
// agent asking for the directory at every bundle poll must not fill the
// log with errors.
func TestNotConfiguredIsNotAServerFailure(t *testing.T) {
	env := newTestEnv(t)
	cases := []struct {
		role store.Role
		path string
		want string
	}{
		{store.RoleAgent, "/api/v1/agents/directory", "user directory is not configured"},
		{store.RoleAnalyst, "/api/v1/people", "user directory is not configured"},
		{store.RoleAdmin, "/api/v1/sinks", "SIEM delivery is not configured"},
	}
	for _, tc := range cases {
		r := env.do(tc.role, http.MethodGet, tc.path, nil)
		require.Equal(t, http.StatusServiceUnavailable, r.status, tc.path)
		require.Equal(t, CodeUnavailable, r.errorCode(t), tc.path)
		require.Contains(t, r.errorMessage(t), tc.want, tc.path)
	}
	logs := env.logs.String()
	require.Contains(t, logs, "status=503", "the request log still records the answers")
	require.NotContains(t, logs, "level=ERROR", "not configured is not a server failure")

	// A real failure of the server still is: a closed store.
	require.NoError(t, env.db.Close())
	r := env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/alerts", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	require.Contains(t, env.logs.String(), "level=ERROR")
}

// bodyRecorder records the bodies the server hands the store with each
// event: the request's bytes, or nil for the store to encode the event.
type bodyRecorder struct {
	store.Events
	mu     sync.Mutex
	bodies map[string][]byte
}

func (r *bodyRecorder) AppendEncoded(ctx context.Context, agentID string, seq int64, evs []*event.Event, bodies [][]byte) (store.AppendResult, error) {
	r.mu.Lock()
	for i, e := range evs {
		r.bodies[e.Event.ID] = bodies[i]
	}
	r.mu.Unlock()
	return r.Events.AppendEncoded(ctx, agentID, seq, evs, bodies)
}

// TestIngestStoresCanonicalBytes: an event sent in its canonical form is
// stored as the request carried it, unless the directory added to it; any
// other event is encoded again. Either way the stored event is the event
// the server evaluated.
func TestIngestStoresCanonicalBytes(t *testing.T) {
	env := newTestEnv(t)
	withDirectoryAndSinks(t, env, "outputs: []")
	r := env.do(store.RoleAnalyst, http.MethodPost, "/api/v1/watchlists", watchlistRequest{Name: "hr-case-17"})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r = env.do(store.RoleAnalyst, http.MethodPut, "/api/v1/watchlists/hr-case-17/members/jdoe", memberRequest{Reason: "case 17"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	rec := &bodyRecorder{Events: env.srv.deps.Events, bodies: map[string][]byte{}}
	env.srv.deps.Events = rec

	encode := func(id, user string) string {
		e, err := event.Decode([]byte(benign(id, t0)))
		require.NoError(t, err)
		e.User.Name = user
		b, err := event.Encode(e)
		require.NoError(t, err)
		return string(b)
	}
	asSent := encode("as-sent", "asmith")           // canonical, nothing to add
	spaced := "{ " + encode("spaced", "asmith")[1:] // not canonical
	enriched := encode("enriched", "jdoe")          // canonical, but jdoe is on a watchlist
	r = env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch("", 1, asSent, spaced, enriched))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	require.Equal(t, asSent, string(rec.bodies["as-sent"]))
	require.Nil(t, rec.bodies["spaced"])
	require.Nil(t, rec.bodies["enriched"])
	evs, _, err := env.db.Events().Query(context.Background(), store.EventFilter{})
	require.NoError(t, err)
	require.Len(t, evs, 3)
	for _, e := range evs {
		require.NotNil(t, e.Event.Ingested, e.Event.ID)
		if e.Event.ID == "enriched" {
			require.Contains(t, e.User.Watchlists, "hr-case-17")
		} else {
			require.Empty(t, e.User.Watchlists, e.Event.ID)
		}
	}
}
