package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/internal/syncbuf"
	"github.com/vigil-itm/vigil/policies"
	"github.com/vigil-itm/vigil/store"
	"github.com/vigil-itm/vigil/store/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// libraryDir is the built-in policy library.
const libraryDir = "../policies/library"

// signingKeys is one ES256 key pair for the whole test binary.
var signingKeys = sync.OnceValues(func() ([2][]byte, error) {
	priv, pub, err := policies.GenerateKey("ES256")
	return [2][]byte{priv, pub}, err
})

// libraryTarballs caches built library tarballs by revision.
var libraryTarballs sync.Map

// libraryTarball is the built-in library, built and signed with
// signingKeys, at the given revision.
func libraryTarball(t testing.TB, revision string) []byte {
	t.Helper()
	if v, ok := libraryTarballs.Load(revision); ok {
		return v.([]byte)
	}
	keys, err := signingKeys()
	require.NoError(t, err)
	b, err := policies.Load(libraryDir)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, policies.Build(b, &buf, policies.BuildOptions{Revision: revision, SigningKey: keys[0]}))
	libraryTarballs.Store(revision, buf.Bytes())
	return buf.Bytes()
}

// testEnv is a server on a real SQLite store and a real engine running
// the built-in library.
type testEnv struct {
	t       testing.TB
	srv     *Server
	db      *sqlite.DB
	live    *engine.Live
	reg     *prometheus.Registry
	secrets map[store.Role]string
	tokens  map[store.Role]store.Token
	logs    *syncbuf.Buffer
}

type envOption func(*Config)

func newTestEnv(t testing.TB, opts ...envOption) *testEnv {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })

	keys, err := signingKeys()
	require.NoError(t, err)
	bundlePath := filepath.Join(dir, "active.tar.gz")
	require.NoError(t, os.WriteFile(bundlePath, libraryTarball(t, "0.1.0"), 0o600))
	reg := prometheus.NewRegistry()
	load := func(p string) (*policies.Bundle, error) {
		return policies.Load(p, policies.WithVerificationKey(keys[1], ""))
	}
	live, err := engine.NewLive(bundlePath, load, []engine.Option{engine.WithMetrics(engine.NewMetrics(reg))})
	require.NoError(t, err)

	cfg := Config{BundleKeyPEM: keys[1]}
	for _, o := range opts {
		o(&cfg)
	}
	logs := &syncbuf.Buffer{}
	deps := Deps{
		Engine:   live,
		Activate: LiveActivator(live, bundlePath),
		Registry: reg,
		Logger:   newTestLogger(logs),
	}.WithStore(db)
	srv, err := New(cfg, deps)
	require.NoError(t, err)

	env := &testEnv{t: t, srv: srv, db: db, live: live, reg: reg, logs: logs,
		secrets: map[store.Role]string{}, tokens: map[store.Role]store.Token{}}
	for _, role := range []store.Role{store.RoleAdmin, store.RoleAnalyst, store.RoleAuditor, store.RoleAgent} {
		tok, secret, err := db.Tokens().Create(ctx, store.NewToken{Name: "test-" + string(role), Role: role, CreatedBy: "test"})
		require.NoError(t, err)
		env.secrets[role], env.tokens[role] = secret, tok
	}
	return env
}

// response is a recorded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v.
func (r response) json(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// errorCode returns the error code of an error answer.
func (r response) errorCode(t testing.TB) Code {
	t.Helper()
	var eb errorBody
	r.json(t, &eb)
	return eb.Error.Code
}

// errorMessage returns the error message of an error answer.
func (r response) errorMessage(t testing.TB) string {
	t.Helper()
	var eb errorBody
	r.json(t, &eb)
	return eb.Error.Message
}

// do sends a request as role ("" sends no token) to the handler.
func (e *testEnv) do(role store.Role, method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case io.Reader:
		rd = b
	default:
		data, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.secrets[role])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// ev is a valid event of the given id and action at time at, with the
// fields a rule needs merged in from extra.
func ev(id, action string, at time.Time, extra string) string {
	s := fmt.Sprintf(`{"@timestamp": %q, "event": {"id": %q, "action": %q}, "user": {"name": "jdoe"}, "host": {"name": "ws-042"}`,
		at.UTC().Format(time.RFC3339Nano), id, action)
	if extra != "" {
		s += ", " + extra
	}
	return s + "}"
}

// batch is an ingest body.
func batch(agentID string, seq int64, events ...string) string {
	agent := ""
	if agentID != "" {
		agent = fmt.Sprintf(`"agent_id": %q, `, agentID)
	}
	return fmt.Sprintf(`{%s"seq": %d, "events": [%s]}`, agent, seq, strings.Join(events, ", "))
}

// benign is an event no library rule fires on.
func benign(id string, at time.Time) string {
	return ev(id, "file-created", at, `"file": {"path": "/home/jdoe/notes.txt", "name": "notes.txt", "extension": "txt", "size": 120}`)
}

// payrollToUSB breaks the library rule usb-sensitive-file.
func payrollToUSB(id string, at time.Time) string {
	return ev(id, "file-copied-to-removable", at,
		`"file": {"path": "/media/jdoe/KINGSTON/2026-10.xlsx", "name": "2026-10.xlsx", "extension": "xlsx", "source_path": "/srv/hr/payroll/2026-10.xlsx", "size": 48213}, `+
			`"volume": {"removable": true, "bus_type": "usb", "mount_point": "/media/jdoe/KINGSTON", "serial_number": "E0D55EA573DCF450"}`)
}

// countEvents counts the stored events.
func (e *testEnv) countEvents() int {
	e.t.Helper()
	n := 0
	cursor := ""
	for {
		evs, next, err := e.db.Events().Query(context.Background(), store.EventFilter{Limit: store.MaxLimit, Cursor: cursor})
		require.NoError(e.t, err)
		n += len(evs)
		if next == "" {
			return n
		}
		cursor = next
	}
}

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
