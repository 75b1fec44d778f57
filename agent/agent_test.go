package agent_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-itm/vigil/evidence"
	"github.com/vigil-itm/vigil/internal/syncbuf"
	"github.com/vigil-itm/vigil/internal/testrun"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/agent"
	"github.com/vigil-itm/vigil/api"
	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/identity"
	"github.com/vigil-itm/vigil/identity/sources"
	"github.com/vigil-itm/vigil/policies"
	"github.com/vigil-itm/vigil/policies/library"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/store"
	"github.com/vigil-itm/vigil/store/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// modernc's SQLite and net/http keep a few background goroutines.
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// source is a sensor the test feeds: events sent on its channel are
// emitted, in order. It stands for an endpoint sensor; the real sensors are
// tested in their own packages.
type source struct{ ch chan event.Event }

var feed = &source{ch: make(chan event.Event, 100_000)}

func init() {
	sensors.Register(sensors.Registration{Name: "test-source", Description: "events the test sends",
		New: func(*yaml.Node, sensors.Env) (sensors.Sensor, error) { return feed, nil }})
}

func (s *source) Name() string { return "test-source" }

func (s *source) Run(ctx context.Context, emit func(event.Event)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-s.ch:
			emit(e)
		}
	}
}

// server is a real Vigil server (API, SQLite store, engine on the built-in
// library) on a loopback port, which the test can kill and start again.
type server struct {
	t    *testing.T
	db   *sqlite.DB
	srv  *api.Server
	addr string
	live *engine.Live
	dir  *identity.Directory

	mu sync.Mutex
	hs *http.Server
}

func newServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	lib := filepath.Join(dir, "library")
	require.NoError(t, library.Extract(lib))
	load := func(p string) (*policies.Bundle, error) { return policies.Load(p) }
	live, err := engine.NewLive(lib, load, nil)
	require.NoError(t, err)
	s := &server{t: t, db: db, live: live}
	s.publish("0.1.0")
	activate := func(_ context.Context, tarball []byte) (engine.BundleRef, error) {
		b, err := policies.LoadTarball(bytes.NewReader(tarball))
		if err != nil {
			return engine.BundleRef{}, err
		}
		p, err := live.Activate(b)
		if err != nil {
			return engine.BundleRef{}, err
		}
		return engine.BundleRef{Name: p.Name(), Revision: p.Revision()}, nil
	}
	id, err := sources.New(ctx, sources.Config{}, db.Identity(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	s.dir = id.Directory
	s.srv, err = api.New(api.Config{}, api.Deps{Engine: live, Activate: activate, Directory: id.Directory,
		Logger: slog.New(slog.DiscardHandler)}.WithStore(db))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.kill)
	return s
}

// publish stores the built-in library under revision rev and activates it.
func (s *server) publish(rev string) {
	s.t.Helper()
	ctx := context.Background()
	dir := filepath.Join(s.t.TempDir(), "lib")
	require.NoError(s.t, library.Extract(dir))
	lb, err := policies.Load(dir)
	require.NoError(s.t, err)
	var buf bytes.Buffer
	require.NoError(s.t, policies.Build(lb, &buf, policies.BuildOptions{Revision: rev}))
	_, err = s.db.Bundles().Upload(ctx, store.BundleUpload{Name: lb.Name(), Revision: rev, Tarball: buf.Bytes(), UploadedBy: "test"})
	require.NoError(s.t, err)
	require.NoError(s.t, s.db.Bundles().Activate(ctx, lb.Name(), rev, "test", "test"))
}

func (s *server) serve(ln net.Listener) {
	hs := &http.Server{Handler: s.srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.hs = hs
	s.mu.Unlock()
	go func() { _ = hs.Serve(ln) }()
}

// kill stops the server at once: the listener and every connection are
// closed, requests in flight are cut.
func (s *server) kill() {
	s.mu.Lock()
	hs := s.hs
	s.hs = nil
	s.mu.Unlock()
	if hs != nil {
		_ = hs.Close()
	}
}

// restart serves again on the same address.
func (s *server) restart() {
	s.t.Helper()
	var ln net.Listener
	require.Eventually(s.t, func() bool {
		var err error
		ln, err = net.Listen("tcp", s.addr)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	s.serve(ln)
}

func (s *server) enrollmentToken() string {
	s.t.Helper()
	_, secret, err := s.db.Tokens().Create(context.Background(), store.NewToken{Name: "enroll", Role: store.RoleAgent,
		Kind: store.TokenEnrollment, SingleUse: true})
	require.NoError(s.t, err)
	return secret
}

// events returns every stored event of action (all when "").
func (s *server) events(action string) []*event.Event {
	s.t.Helper()
	var out []*event.Event
	cursor := ""
	for {
		page, next, err := s.db.Events().Query(context.Background(), store.EventFilter{Action: action, Limit: 1000, Cursor: cursor})
		require.NoError(s.t, err)
		out = append(out, page...)
		if next == "" {
			return out
		}
		cursor = next
	}
}

func agentConfig(s *server, dir string) agent.Config {
	return agent.Config{
		Server: "http://" + s.addr, EnrollToken: s.enrollmentToken(), DataDir: dir,
		OnlySensors: []string{"test-source"}, FlushInterval: 20 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond, BundleInterval: time.Hour,
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, DrainTimeout: 10 * time.Second,
		RequestTimeout: 5 * time.Second,
	}
}

// directory is the agent's enrichment, as `vigil agent` wires it.
func directory(data map[string]any) (func(*event.Event), error) {
	en, err := identity.NewBundleEnricher(data)
	if err != nil {
		return nil, err
	}
	return en.Enrich, nil
}

// runAgent starts an agent and returns a function that stops it and waits.
func runAgent(t *testing.T, cfg agent.Config) (*agent.Agent, func()) {
	t.Helper()
	a, err := agent.New(cfg, agent.Options{Version: "test", Logger: slog.New(slog.DiscardHandler), Directory: directory})
	require.NoError(t, err)
	return a, testrun.Start(t, "agent", 30*time.Second, a.Run)
}

var idSeq atomic.Int64

// usbCopy breaks the library rule usb-sensitive-file for user.
func usbCopy(at time.Time, user string) event.Event {
	id := event.DerivedID(at, "test", fmt.Sprint(idSeq.Add(1)))
	return event.Event{Timestamp: at,
		Event: event.Meta{ID: id, Action: "file-copied-to-removable"},
		User:  &event.User{Name: user},
		File: &event.File{Path: "/media/jdoe/KINGSTON/2026-10.xlsx", Name: "2026-10.xlsx", Extension: "xlsx",
			SourcePath: "/srv/hr/payroll/2026-10.xlsx", Size: 48213},
		Volume: &event.Volume{Removable: true, BusType: "usb", MountPoint: "/media/jdoe/KINGSTON", SerialNumber: "E0D55EA573DCF450"},
	}
}

func benign(at time.Time) event.Event {
	id := event.DerivedID(at, "test", fmt.Sprint(idSeq.Add(1)))
	return event.Event{Timestamp: at, Event: event.Meta{ID: id, Action: "file-created"}, User: &event.User{Name: "jdoe"},
		File: &event.File{Path: "/home/jdoe/notes.txt", Name: "notes.txt", Extension: "txt", Size: 120}}
}

// TestAgentEnrollsPullsAndForwards: a new agent enrolls with a one-time
// token, takes the server's active bundle, forwards events and the alert
// its engine raised, reports its health, follows a new bundle revision, and
// says when it starts and stops.
func TestAgentEnrollsPullsAndForwards(t *testing.T) {
	s := newServer(t)
	a, stop := runAgent(t, agentConfig(s, t.TempDir()))

	require.Eventually(t, func() bool { return a.Program().Revision() == "0.1.0" }, 10*time.Second, 10*time.Millisecond,
		"the agent takes the server's active bundle")
	feed.ch <- usbCopy(time.Now().UTC(), "jdoe")
	require.Eventually(t, func() bool {
		alerts, _, err := s.db.Alerts().List(context.Background(), store.AlertFilter{Rule: "usb-sensitive-file"})
		return err == nil && len(alerts) == 1
	}, 10*time.Second, 20*time.Millisecond)

	// The agent is listed with its health.
	creds := a.Credentials()
	require.NotEmpty(t, creds.AgentID)
	require.Eventually(t, func() bool {
		ag, err := s.db.Agents().Get(context.Background(), creds.AgentID)
		return err == nil && ag.BundleRevision == "0.1.0" && bytes.Contains(ag.Sensors, []byte(`"test-source":{"state":"ok"`))
	}, 10*time.Second, 20*time.Millisecond)

	// A new revision on the server reaches the agent without a restart.
	s.publish("0.2.0")
	require.Eventually(t, func() bool { return a.Program().Revision() == "0.2.0" }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return len(s.events("policy-activated")) >= 1 }, 10*time.Second, 20*time.Millisecond)

	stop()
	require.Len(t, s.events("agent-started"), 1)
	require.Len(t, s.events("agent-stopped"), 1, "the stop event is uploaded in the drain")
	st := a.Spool().Stats()
	require.Zero(t, st.Items, "nothing left in the spool after a clean stop")

	// The bundle is kept: a restarted agent has it before it talks to the
	// server (here: the server is gone).
	s.kill()
	cfg := agentConfig(s, filepath.Dir(a.Spool().Dir()))
	cfg.EnrollToken = ""
	cfg.DrainTimeout = 500 * time.Millisecond // nobody to upload to
	a2, stop2 := runAgent(t, cfg)
	require.Equal(t, "0.2.0", a2.Program().Revision(), "policies hold offline")
	stop2()
}

// TestServerKilledMidBurst: the server dies in the middle of a burst of
// events and comes back; every event arrives exactly once.
func TestServerKilledMidBurst(t *testing.T) {
	s := newServer(t)
	a, stop := runAgent(t, agentConfig(s, t.TempDir()))
	require.Eventually(t, func() bool { return a.Credentials().AgentID != "" }, 10*time.Second, 10*time.Millisecond)

	const burst, every = 1000, 250
	at := time.Now().UTC()
	sent := make(map[string]bool, burst)
	for i := range burst {
		var e event.Event
		if i%every == 0 {
			// One user each: the library suppresses repeats per user.
			e = usbCopy(at.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("user%d", i))
		} else {
			e = benign(at.Add(time.Duration(i) * time.Millisecond))
		}
		sent[e.Event.ID] = true
		feed.ch <- e
		if i == burst/3 {
			// Mid-burst, once the server has taken part of it.
			require.Eventually(t, func() bool { return len(s.events("file-created")) > 0 }, 10*time.Second, 5*time.Millisecond)
			s.kill()
		}
	}
	// The agent keeps everything while the server is down.
	require.Eventually(t, func() bool { return a.Spool().Stats().Items > 0 }, 10*time.Second, 10*time.Millisecond)
	t.Logf("%s: burst queued, spool %+v", time.Since(at), a.Spool().Stats())
	before := len(s.events(""))
	require.Less(t, before, burst, "the server died before it had everything")
	s.restart()

	require.Eventually(t, func() bool {
		return len(s.events("file-created"))+len(s.events("file-copied-to-removable")) >= burst
	}, 60*time.Second, 50*time.Millisecond)
	t.Logf("%s: all arrived", time.Since(at))
	got := map[string]int{}
	for _, e := range append(s.events("file-created"), s.events("file-copied-to-removable")...) {
		got[e.Event.ID]++
	}
	require.Len(t, got, burst)
	for id, n := range got {
		require.True(t, sent[id], "unexpected event %s", id)
		require.Equal(t, 1, n, "event %s stored %d times", id, n)
	}
	alerts, _, err := s.db.Alerts().List(context.Background(), store.AlertFilter{Rule: "usb-sensitive-file", Limit: 100})
	require.NoError(t, err)
	require.Len(t, alerts, burst/every, "one alert per USB copy, none lost, none doubled")
	stop()
	require.Zero(t, a.Spool().Stats().Items)
	require.Zero(t, a.Spool().Stats().DroppedEvents)
}

// TestAgentEnrichesFromTheServersDirectory: the agent's engine sees the
// same user context as the server's, offline too.
func TestAgentEnrichesFromTheServersDirectory(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	_, err := s.dir.CreateWatchlist(ctx, identity.Watchlist{Name: "hr-case-9", Kind: identity.KindManual})
	require.NoError(t, err)
	_, err = s.dir.AddToWatchlist(ctx, "hr-case-9", "mallory", "case 9")
	require.NoError(t, err)

	dir := t.TempDir()
	cfg := agentConfig(s, dir)
	cfg.DrainTimeout = 500 * time.Millisecond // the server will be gone
	a, stop := runAgent(t, cfg)
	require.Eventually(t, func() bool { _, err := os.Stat(filepath.Join(dir, "directory.json")); return err == nil },
		10*time.Second, 10*time.Millisecond, "the agent keeps the directory on disk")

	// With the server gone, the agent's own events carry the context.
	s.kill()
	e := benign(time.Now().UTC())
	e.User.Name = "mallory"
	feed.ch <- e
	require.Eventually(t, func() bool {
		for _, f := range spoolFiles(t, a.Spool().Dir()) {
			if strings.Contains(f, `"watchlists":["hr-case-9"]`) {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
	stop()
}

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.batch.json"))
	require.NoError(t, err)
	var out []string
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			out = append(out, string(b))
		}
	}
	return out
}

// flaky is a sensor that fails with each error of its script in turn,
// counting its runs, and then runs until stopped.
type flaky struct {
	script []string
	runs   atomic.Int64
}

var flakySensor = &flaky{script: []string{
	"no X display (DISPLAY is empty)", "no X display (DISPLAY is empty)", "no X display (DISPLAY is empty)",
	"X connection closed", "X connection closed",
}}

func init() {
	sensors.Register(sensors.Registration{Name: "test-flaky", Description: "fails as the test scripts it",
		New: func(*yaml.Node, sensors.Env) (sensors.Sensor, error) { return flakySensor, nil }})
}

func (s *flaky) Name() string { return "test-flaky" }

func (s *flaky) Run(ctx context.Context, _ func(event.Event)) error {
	if n := int(s.runs.Add(1)); n <= len(s.script) {
		return errors.New(s.script[n-1])
	}
	<-ctx.Done()
	return nil
}

// TestSensorFailuresReportedOnce: a sensor that keeps failing the same way
// is restarted every time, but logged as an error and raised as a
// sensor-failed event only when its error changes; its health counts every
// failure.
func TestSensorFailuresReportedOnce(t *testing.T) {
	s := newServer(t)
	cfg := agentConfig(s, t.TempDir())
	cfg.OnlySensors = []string{"test-flaky"}
	cfg.SensorRestartMin, cfg.SensorRestartMax = 5*time.Millisecond, 20*time.Millisecond
	logs := &syncbuf.Buffer{}
	a, err := agent.New(cfg, agent.Options{Version: "test", Directory: directory,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	require.Eventually(t, func() bool { return flakySensor.runs.Load() > int64(len(flakySensor.script)) },
		10*time.Second, 5*time.Millisecond, "restarted after every failure")
	require.Eventually(t, func() bool { return len(s.events("sensor-failed")) == 2 }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		ag, err := s.db.Agents().Get(context.Background(), a.Credentials().AgentID)
		return err == nil && bytes.Contains(ag.Sensors, []byte(`"errors":5,"last_error":"X connection closed"`))
	}, 10*time.Second, 20*time.Millisecond, "health counts every failure")
	cancel()
	require.NoError(t, <-done)

	var raised []string
	for _, e := range s.events("sensor-failed") {
		require.Equal(t, "test-flaky", e.Agent.Sensor)
		raised = append(raised, e.Agent.Error)
	}
	require.Equal(t, []string{"no X display (DISPLAY is empty)", "X connection closed"}, raised)
	out := logs.String()
	require.Equal(t, 2, strings.Count(out, `level=ERROR msg="sensor failed; restarting"`), out)
	require.Equal(t, 3, strings.Count(out, `level=DEBUG msg="sensor failed again; restarting"`), out)
}

// usbPhoto is a copy of an unremarkable file to a USB drive.
func usbPhoto(at time.Time, user string) event.Event {
	e := usbCopy(at, user)
	e.File.Path, e.File.Name, e.File.Extension, e.File.SourcePath = "/media/"+user+"/KINGSTON/beach.jpg", "beach.jpg", "jpg", "/home/"+user+"/beach.jpg"
	return e
}

// ruleFindings is how many findings rule has raised in p.
func ruleFindings(p *engine.Program, rule string) uint64 {
	for _, s := range p.Stats() {
		if s.Rule == rule {
			return s.Findings
		}
	}
	return 0
}

// TestAgentKeepsRuleStateAcrossRestarts: the rule windows an agent built
// before a restart are there after it: 30 USB copies before and 20 after
// reach the library's usb-mass-copy bound (50 in 10 minutes).
func TestAgentKeepsRuleStateAcrossRestarts(t *testing.T) {
	s := newServer(t)
	cfg := agentConfig(s, t.TempDir())
	a, stop := runAgent(t, cfg)
	require.Eventually(t, func() bool { return a.Credentials().AgentID != "" }, 10*time.Second, 10*time.Millisecond)
	at := time.Now().UTC()
	for i := range 30 {
		feed.ch <- usbPhoto(at.Add(time.Duration(i)*time.Second), "mlee")
	}
	require.Eventually(t, func() bool { return len(s.events("file-copied-to-removable")) == 30 }, 10*time.Second, 20*time.Millisecond)
	stop()
	require.Zero(t, ruleFindings(a.Program(), "usb-mass-copy"))
	fi, err := os.Stat(filepath.Join(cfg.DataDir, "state", "rules.state"))
	require.NoError(t, err, "saved at stop")
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	cfg.EnrollToken = ""
	a2, stop2 := runAgent(t, cfg)
	for i := 30; i < 50; i++ {
		feed.ch <- usbPhoto(at.Add(time.Duration(i)*time.Second), "mlee")
	}
	require.Eventually(t, func() bool { return len(s.events("file-copied-to-removable")) == 50 }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, uint64(1), ruleFindings(a2.Program(), "usb-mass-copy"),
		"the 50th copy fires: the restarted agent remembered the first 30")
	stop2()
}

// sealingArchive is the part of the server's evidence handling the agent
// meets at enrollment and in heartbeats: the key packages are sealed to.
// Packages never reach it in the test that uses it.
type sealingArchive struct{ key *ecdh.PrivateKey }

func (a sealingArchive) SealKey() string { return evidence.MarshalSealPublicKey(a.key.PublicKey()) }

func (a sealingArchive) Unseal(path string) (string, bool, error) {
	return "", false, errors.New("not used by this test")
}

func (sealingArchive) Unpack(string, string) error { return errors.New("not used by this test") }

func (sealingArchive) Manifest(string) (api.EvidenceManifest, error) {
	return api.EvidenceManifest{}, errors.New("not used by this test")
}

func (sealingArchive) Verify(string, ed25519.PublicKey) (api.EvidenceVerdict, error) {
	return api.EvidenceVerdict{}, errors.New("not used by this test")
}

func (sealingArchive) Countersign(string) error { return errors.New("not used by this test") }

func (sealingArchive) Zip(string, io.Writer) error { return errors.New("not used by this test") }

func (sealingArchive) ServerKey() ed25519.PublicKey {
	return make(ed25519.PublicKey, ed25519.PublicKeySize)
}

// TestEvidenceWaitsSealedInTheSpool: a package captured while the server is
// down waits in the spool sealed to the server's key: nothing of it is
// readable on the endpoint, and the server's key opens it to exactly the
// archive the capture wrote.
func TestEvidenceWaitsSealedInTheSpool(t *testing.T) {
	s := newServer(t)
	sealKey, err := evidence.GenerateSealKey()
	require.NoError(t, err)
	s.srv, err = api.New(api.Config{}, api.Deps{Engine: s.live, Directory: s.dir, EvidenceArchive: sealingArchive{sealKey},
		Logger: slog.New(slog.DiscardHandler)}.WithStore(s.db))
	require.NoError(t, err)
	s.kill()
	s.restart()

	archive := bytes.Repeat([]byte("PK\x03\x04 manifest.json keystrokes: hunter2\n"), 5000)
	release := make(chan struct{})
	capture := func(ctx context.Context, d engine.Decision, _ *event.Event, w io.Writer) error {
		<-release
		_, err := w.Write(archive)
		return err
	}
	a, err := agent.New(agentConfig(s, t.TempDir()), agent.Options{Version: "test", Logger: slog.New(slog.DiscardHandler),
		Directory: directory, Capture: capture})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	require.Eventually(t, func() bool { return a.Credentials().ServerSealKey != "" }, 10*time.Second, 10*time.Millisecond,
		"the seal key comes with enrollment")
	feed.ch <- usbCopy(time.Now().UTC(), "kpatel")
	require.Eventually(t, func() bool { return len(s.events("file-copied-to-removable")) == 1 }, 10*time.Second, 20*time.Millisecond)
	s.kill() // the package will have to wait
	close(release)

	var spooled string
	require.Eventually(t, func() bool {
		m, _ := filepath.Glob(filepath.Join(a.Spool().Dir(), "*.evidence.zip"))
		if len(m) == 1 {
			spooled = m[0]
		}
		return spooled != ""
	}, 10*time.Second, 20*time.Millisecond)
	data, err := os.ReadFile(spooled)
	require.NoError(t, err)
	require.True(t, evidence.IsSealed(data))
	require.NotContains(t, string(data), "hunter2")
	require.NotContains(t, string(data), "manifest.json")
	var opened bytes.Buffer
	require.NoError(t, evidence.OpenSealed(&opened, bytes.NewReader(data), sealKey))
	require.Equal(t, archive, opened.Bytes(), "the server's key opens it to the archive the capture wrote")
	other, err := evidence.GenerateSealKey()
	require.NoError(t, err)
	require.ErrorIs(t, evidence.OpenSealed(io.Discard, bytes.NewReader(data), other), evidence.ErrSealed)
	captured, _ := filepath.Glob(filepath.Join(filepath.Dir(a.Spool().Dir()), "capture", "*"))
	require.Empty(t, captured, "no plain copy left behind")
}

func TestEvidenceKeyIsKeptAndNeverReplaced(t *testing.T) {
	dir := t.TempDir()
	k, err := agent.LoadOrCreateEvidenceKey(dir)
	require.NoError(t, err)
	path := filepath.Join(dir, "evidence-key.pem")
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	again, err := agent.LoadOrCreateEvidenceKey(dir)
	require.NoError(t, err)
	require.Equal(t, k, again, "the same key on every start")
	onDisk, err := evidence.LoadPrivateKey(path)
	require.NoError(t, err)
	require.Equal(t, k, onDisk)

	// A damaged key is an error, not a reason to sign with a new key.
	require.NoError(t, os.WriteFile(path, []byte("not a key"), 0o600))
	_, err = agent.LoadOrCreateEvidenceKey(dir)
	require.ErrorContains(t, err, "evidence key")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "not a key", string(data), "the damaged file is left for the operator")
}
