package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/alerts"
	"github.com/vigil-itm/vigil/api"
	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/identity/sources"
	"github.com/vigil-itm/vigil/policies"
	builtin "github.com/vigil-itm/vigil/policies/library"
	"github.com/vigil-itm/vigil/store"
	"github.com/vigil-itm/vigil/store/sqlite"
)

// server is the Vigil server wired as `vigil server` wires it (see
// cmd/vigil/cli/run.go, serve): SQLite store, the engine on the built-in
// policy library, the identity directory with its SCIM service provider,
// and the sink dispatcher (alerts and the event stream), behind the real
// API on a loopback port.
type server struct {
	t      *testing.T
	url    string
	db     *sqlite.DB
	tokens map[store.Role]string
	client *http.Client
}

// startServer starts a server whose `identity:` and `sinks:` sections are
// the given YAML, decoded as the server decodes its configuration file. It
// stops when the test ends.
func startServer(t *testing.T, identityYAML, sinksYAML, version string) *server {
	t.Helper()
	dir := t.TempDir()
	ctx := t.Context()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg := prometheus.NewRegistry()

	db, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"), sqlite.Options{Logger: logger, Registerer: reg})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })

	bundleDir := filepath.Join(dir, "bundles", "active")
	require.NoError(t, builtin.Extract(bundleDir))
	load := func(p string) (*policies.Bundle, error) { return policies.Load(p) }
	live, err := engine.NewLive(bundleDir, load, []engine.Option{engine.WithLogger(logger), engine.WithMetrics(engine.NewMetrics(reg))})
	require.NoError(t, err)

	var section struct {
		Identity yaml.Node     `yaml:"identity"`
		Sinks    alerts.Config `yaml:"sinks"`
	}
	dec := yaml.NewDecoder(strings.NewReader("identity:\n" + indent(identityYAML) + "sinks:\n" + indent(sinksYAML)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&section))

	idCfg, err := sources.Decode(&section.Identity)
	require.NoError(t, err)
	id, err := sources.New(ctx, idCfg, db.Identity(), logger)
	require.NoError(t, err)

	section.Sinks.StateDir = filepath.Join(dir, "sinks")
	section.Sinks.Version = version
	dispatcher, err := alerts.New(section.Sinks, logger, reg)
	require.NoError(t, err)

	deps := api.Deps{
		Engine: live, Directory: id.Directory, Sinks: dispatcher, EventExport: dispatcher,
		Registry: reg, Logger: logger,
	}.WithStore(db)
	deps.Mounts = append(deps.Mounts, api.Mount{Prefix: "/scim/v2", Handler: id.SCIMHandler()})
	srv, err := api.New(api.Config{}, deps)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, part := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"api", func(ctx context.Context) error { return srv.Serve(ctx, ln) }},
		{"identity", id.Run},
		{"sinks", dispatcher.Run},
	} {
		wg.Go(func() {
			if err := part.run(runCtx); err != nil {
				errs <- fmt.Errorf("%s: %w", part.name, err)
			}
		})
	}
	t.Cleanup(func() {
		stop()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	s := &server{t: t, url: "http://" + ln.Addr().String(), db: db, tokens: map[store.Role]string{}}
	for _, role := range []store.Role{store.RoleAdmin, store.RoleAgent} {
		_, secret, err := db.Tokens().Create(ctx, store.NewToken{Name: "e2e " + string(role), Role: role, CreatedBy: "e2e"})
		require.NoError(t, err)
		s.tokens[role] = secret
	}
	tr := &http.Transport{}
	s.client = &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	return s
}

// indent indents YAML lines by two spaces, to nest a section.
func indent(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString("  ")
		b.WriteString(line)
	}
	if !strings.HasSuffix(s, "\n") {
		b.WriteByte('\n')
	}
	return b.String()
}

// do sends a request with the given Authorization header value and
// returns the status and body.
func (s *server) do(method, path, auth, body string) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.url+path, strings.NewReader(body))
	require.NoError(s.t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		ct := "application/json"
		if strings.HasPrefix(path, "/scim/") {
			ct = "application/scim+json"
		}
		req.Header.Set("Content-Type", ct)
	}
	res, err := s.client.Do(req)
	require.NoError(s.t, err)
	defer func() { _ = res.Body.Close() }()
	data, err := io.ReadAll(res.Body)
	require.NoError(s.t, err)
	return res.StatusCode, data
}

// api sends an API request as role and decodes the JSON answer into out
// (when not nil), requiring status want.
func (s *server) api(role store.Role, method, path, body string, want int, out any) {
	s.t.Helper()
	status, data := s.do(method, path, "Bearer "+s.tokens[role], body)
	require.Equal(s.t, want, status, "%s %s: %s", method, path, data)
	if out != nil {
		require.NoError(s.t, json.Unmarshal(data, out), "%s %s: %s", method, path, data)
	}
}

// hook is a webhook receiver that records every request.
type hook struct {
	mu   sync.Mutex
	reqs []hookRequest
}

type hookRequest struct {
	method, path string
	header       http.Header
	body         []byte
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.reqs = append(h.reqs, hookRequest{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body})
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hook) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}

// requireJSONSubset checks that every member of the JSON object want is in
// got with the same value: objects by key, arrays element by element (the
// same length).
func requireJSONSubset(t *testing.T, want string, got []byte) {
	t.Helper()
	decode := func(b []byte) any {
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&v), "%s", b)
		return v
	}
	if path, ok := jsonSubset("$", decode([]byte(want)), decode(got)); !ok {
		require.Failf(t, "JSON differs", "at %s\nwant a superset of %s\ngot %s", path, want, got)
	}
}

func jsonSubset(path string, want, got any) (string, bool) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path, false
		}
		for k, v := range w {
			if p, ok := jsonSubset(path+"."+k, v, g[k]); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return path, false
		}
		for i := range w {
			if p, ok := jsonSubset(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); !ok {
				return p, false
			}
		}
		return "", true
	}
	return path, want == got
}
