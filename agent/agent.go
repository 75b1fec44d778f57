// Package agent owns the endpoint runtime: it runs the enabled sensors,
// evaluates their events with the embedded engine on the active bundle
// (pulled from the server with ETag, the last good one kept on disk so that
// policies hold offline), asks for evidence when a decision wants it, and
// uploads events, decisions and evidence through a bounded on-disk spool
// that deletes nothing the server has not acknowledged.
//
// It imports the engine, policies, sensors and the event schema; it must
// not import the API server, the store or any sensor package (sensors come
// through the sensors registry).
package agent

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/evidence"
	"github.com/vigil-itm/vigil/internal/atomicfile"
	"github.com/vigil-itm/vigil/policies"
	"github.com/vigil-itm/vigil/policies/library"
	"github.com/vigil-itm/vigil/sensors"
)

// CaptureFunc captures the evidence a decision asks for and writes the
// signed package to w as a zip archive (the agent seals it to the server's
// key on the way to its spool). It returns when the post-roll is over, or
// early when ctx ends (the agent is stopping), in which case the package it
// writes is marked partial.
type CaptureFunc func(ctx context.Context, d engine.Decision, e *event.Event, w io.Writer) error

// Options are the agent's collaborators.
type Options struct {
	Logger *slog.Logger
	// Version is the agent's Vigil version, reported to the server.
	Version string
	// Capture takes evidence; nil turns evidence capture off.
	Capture CaptureFunc
	// Evidence is given to evidence-feeding sensors; nil discards.
	Evidence sensors.EvidenceSink
	// Host overrides what the agent finds out about this endpoint.
	Host *event.Host
	// EngineOptions are passed to the engine.
	EngineOptions []engine.Option
	// Services run beside the sensors (such as the screen recorder) and
	// stop with them. A service that fails is logged, not restarted.
	Services []func(context.Context) error
	// Observe, when set, sees every event before it is evaluated (the
	// evidence buffers follow the focused window through it).
	Observe func(*event.Event)
	// Directory, when set, turns the server's directory document (GET
	// /api/v1/agents/directory) into the function that enriches events
	// with user context before the agent's engine evaluates them.
	Directory func(data map[string]any) (func(*event.Event), error)
}

// Agent is the endpoint runtime. Create it with New and call Run.
type Agent struct {
	cfg    Config
	opts   Options
	log    *slog.Logger
	host   event.Host
	client *Client
	spool  *Spool
	live   *engine.Live
	key    ed25519.PrivateKey

	events     chan *event.Event
	queueDrops atomic.Int64
	// unsealedWarned is set once the missing seal key has been logged.
	unsealedWarned atomic.Bool
	bundleKick     chan struct{}
	sensorState    map[string]*sensorRun

	credMu sync.Mutex
	creds  Credentials

	bundleMu   sync.Mutex
	bundleETag string

	captures sync.WaitGroup
	lock     *os.File

	enrich  atomic.Pointer[func(*event.Event)]
	dirETag string // owned by the bundle poller
}

// sensorRun is one running sensor and its health.
type sensorRun struct {
	s       sensors.Sensor
	tracker sensors.Tracker
}

// Severity ranks, used as spool priorities.
var severityRank = map[string]int{"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// New prepares an agent: it opens the spool, loads or creates the evidence
// key, loads the last good bundle (the built-in library before the first
// download) and builds the sensors. Nothing runs until Run.
func New(cfg Config, opts Options) (_ *Agent, err error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, opts: opts, log: opts.Logger.With("component", "agent"),
		events: make(chan *event.Event, cfg.QueueSize), bundleKick: make(chan struct{}, 1),
		sensorState: map[string]*sensorRun{}}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("agent data dir: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	a.lock = lock
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if opts.Host != nil {
		a.host = *opts.Host
	} else {
		a.host = LocalHost()
	}
	if a.client, err = NewClient(cfg.Server, cfg.ServerCAFile, cfg.RequestTimeout); err != nil {
		return nil, err
	}
	if a.spool, err = OpenSpool(filepath.Join(cfg.DataDir, "spool"), cfg.SpoolMaxBytes, a.log); err != nil {
		return nil, err
	}
	if a.key, err = LoadOrCreateEvidenceKey(cfg.DataDir); err != nil {
		return nil, err
	}
	if c, err := loadCredentials(cfg.DataDir); err == nil {
		a.creds = c
		a.client.SetToken(c.Token)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if etag, err := os.ReadFile(a.bundleETagPath()); err == nil {
		a.bundleETag = strings.TrimSpace(string(etag))
	}
	a.loadDirectory()
	// The engine logs through the agent's logger unless told otherwise.
	engineOpts := append([]engine.Option{engine.WithLogger(opts.Logger)}, opts.EngineOptions...)
	if a.live, err = engine.NewLive(a.bundlePath(), a.loadBundle, engineOpts); err != nil {
		return nil, fmt.Errorf("agent bundle: %w", err)
	}
	if err := a.buildSensors(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Agent) bundlePath() string     { return filepath.Join(a.cfg.DataDir, "bundle", "active.tar.gz") }
func (a *Agent) statePath() string      { return filepath.Join(a.cfg.DataDir, "state", "rules.state") }
func (a *Agent) bundleETagPath() string { return filepath.Join(a.cfg.DataDir, "bundle", "active.etag") }

func (a *Agent) loadOptions() ([]policies.LoadOption, error) {
	if a.cfg.BundleKeyFile == "" {
		return nil, nil
	}
	pub, err := os.ReadFile(a.cfg.BundleKeyFile)
	if err != nil {
		return nil, fmt.Errorf("bundle key: %w", err)
	}
	return []policies.LoadOption{policies.WithVerificationKey(pub, a.cfg.BundleKeyAlg)}, nil
}

// loadBundle loads the last good bundle, or the built-in library when the
// agent has never received one.
func (a *Agent) loadBundle(path string) (*policies.Bundle, error) {
	if _, err := os.Stat(path); err == nil {
		opts, err := a.loadOptions()
		if err != nil {
			return nil, err
		}
		b, err := policies.Load(path, opts...)
		if err == nil {
			return b, nil
		}
		a.log.Error("last good bundle does not load; using the built-in library until the server sends one", "path", path, "err", err)
	}
	dir := filepath.Join(a.cfg.DataDir, "library")
	if _, err := os.Stat(filepath.Join(dir, ".manifest")); err != nil {
		_ = os.RemoveAll(dir)
		if err := library.Extract(dir); err != nil {
			return nil, err
		}
	}
	return policies.Load(dir)
}

// buildSensors builds the enabled sensors from the registry.
func (a *Agent) buildSensors() error {
	env := func(name string) sensors.Env {
		ev := a.opts.Evidence
		if ev == nil {
			ev = discardEvidence{}
		}
		return sensors.Env{Logger: a.opts.Logger.With("component", "sensor", "sensor", name), Host: a.host,
			Evidence: ev, DataDir: filepath.Join(a.cfg.DataDir, "sensors", name)}
	}
	want := map[string]*yaml.Node{}
	if len(a.cfg.OnlySensors) > 0 {
		for _, n := range a.cfg.OnlySensors {
			want[n] = nil
		}
	} else {
		for _, r := range sensors.Registered() {
			if r.DefaultEnabled {
				want[r.Name] = nil
			}
		}
	}
	for name, node := range a.cfg.Sensors {
		enabled, rest, err := splitEnabled(node)
		if err != nil {
			return fmt.Errorf("sensors.%s: %w", name, err)
		}
		if !enabled {
			delete(want, name)
			continue
		}
		if _, ok := want[name]; ok || len(a.cfg.OnlySensors) == 0 {
			want[name] = rest
		}
	}
	var errs []error
	for name, node := range want {
		reg, ok := sensors.Lookup(name)
		if !ok {
			errs = append(errs, fmt.Errorf("sensors.%s: no such sensor", name))
			continue
		}
		run := &sensorRun{}
		e := env(name)
		if err := os.MkdirAll(e.DataDir, 0o700); err != nil {
			return err
		}
		s, err := reg.New(node, e)
		switch {
		case errors.Is(err, sensors.ErrNotSupported):
			run.tracker.Set(sensors.StateUnsupported, "", err.Error())
			a.log.Info("sensor not supported here", "sensor", name, "err", err)
		case err != nil:
			errs = append(errs, fmt.Errorf("sensors.%s: %w", name, err))
			continue
		default:
			run.s = s
		}
		a.sensorState[name] = run
	}
	return errors.Join(errs...)
}

// splitEnabled reads the `enabled` key of a sensor's section and returns
// the section without it.
func splitEnabled(node yaml.Node) (enabled bool, rest *yaml.Node, err error) {
	enabled = true
	if node.Kind == 0 || (node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
		return true, nil, nil
	}
	if node.Kind != yaml.MappingNode {
		return false, nil, fmt.Errorf("line %d: want a mapping", node.Line)
	}
	out := node
	out.Content = nil
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if k.Value == "enabled" {
			if err := v.Decode(&enabled); err != nil {
				return false, nil, fmt.Errorf("line %d: enabled: %w", v.Line, err)
			}
			continue
		}
		out.Content = append(out.Content, k, v)
	}
	if len(out.Content) == 0 {
		return enabled, nil, nil
	}
	return enabled, &out, nil
}

// discardEvidence is the evidence sink when evidence is off.
type discardEvidence struct{}

func (discardEvidence) RecordKeystroke(evidence.Keystroke)      {}
func (discardEvidence) RecordClipboard(evidence.ClipboardEntry) {}
func (discardEvidence) RecordTerminal(evidence.TerminalRecord)  {}

// Run runs the agent until ctx ends, then drains: sensors stop, queued
// events are evaluated and spooled, evidence captures end (partial), and
// the spool is uploaded for up to DrainTimeout. Nothing spooled is lost if
// the drain is cut short: it is sent on the next start.
func (a *Agent) Run(ctx context.Context) error {
	a.log.Info("agent starting", "server", a.cfg.Server, "data_dir", a.cfg.DataDir, "sensors", len(a.sensorState),
		"bundle", a.live.Program().Name()+"@"+a.live.Program().Revision())
	// The rule state of the last run, before the first event is evaluated.
	if _, err := a.live.LoadState(a.statePath()); err != nil {
		a.log.Error("rule state not restored; rules start with empty state", "err", err)
	}
	var stateWG sync.WaitGroup
	stateWG.Go(func() { a.live.SaveStateEvery(ctx, a.statePath(), a.cfg.StateInterval) })
	a.emitAgent("agent-started", "", "")

	sensorCtx, stopSensors := context.WithCancel(ctx)
	defer stopSensors()
	var sensorWG sync.WaitGroup
	for name, run := range a.sensorState {
		if run.s == nil {
			continue
		}
		sensorWG.Go(func() { a.superviseSensor(sensorCtx, name, run) })
	}
	for _, svc := range a.opts.Services {
		sensorWG.Go(func() {
			if err := svc(sensorCtx); err != nil && sensorCtx.Err() == nil {
				a.log.Error("agent service failed", "err", err)
			}
		})
	}

	// The uploader, heartbeat and bundle poller outlive the sensors by the
	// drain; they stop on uploadCtx.
	uploadCtx, stopUpload := context.WithCancel(context.WithoutCancel(ctx))
	defer stopUpload()
	var netWG sync.WaitGroup
	drained := make(chan struct{})
	netWG.Go(func() { a.uploader(uploadCtx, ctx.Done(), drained) })
	netWG.Go(func() { a.heartbeats(ctx) })
	netWG.Go(func() { a.bundlePoller(ctx) })

	captureCtx, stopCaptures := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCaptures()
	procDone := make(chan struct{})
	go func() {
		defer close(procDone)
		a.process(ctx, captureCtx)
	}()

	<-ctx.Done()
	a.log.Info("agent stopping: draining")
	stopSensors()
	sensorWG.Wait()
	<-procDone // flushed, agent-stopped spooled
	stateWG.Wait()
	if err := a.live.SaveState(a.statePath()); err != nil {
		a.log.Error("rule state not saved; the next start begins with the last saved state", "err", err)
	}
	stopCaptures()
	a.captures.Wait()
	// Give the uploader DrainTimeout to send what is queued.
	select {
	case <-drained:
	case <-time.After(a.cfg.DrainTimeout):
		a.log.Warn("drain timeout: the rest of the spool is sent on the next start", "queued", a.spool.Stats().Items)
	}
	stopUpload()
	netWG.Wait()
	a.log.Info("agent stopped")
	a.Close()
	return nil
}

// Emit queues an event from outside the sensors (such as agent events).
// It never blocks: when the queue is full the event is dropped and counted.
func (a *Agent) Emit(e event.Event) {
	select {
	case a.events <- &e:
	default:
		a.queueDrops.Add(1)
	}
}

func (a *Agent) emitAgent(action, sensor, msg string) {
	p := a.live.Program()
	a.Emit(event.Event{
		Timestamp: time.Now().UTC(),
		Message:   msg,
		Event:     event.Meta{ID: event.NewID(time.Now()), Action: action, Module: "agent", Kind: "event"},
		Agent: &event.Agent{ID: a.agentID(), Version: a.opts.Version, Sensor: sensor, Error: msgIfSensor(sensor, msg),
			BundleName: p.Name(), BundleRevision: p.Revision()},
	})
}

func msgIfSensor(sensor, msg string) string {
	if sensor == "" {
		return ""
	}
	return msg
}

func (a *Agent) agentID() string {
	a.credMu.Lock()
	defer a.credMu.Unlock()
	return a.creds.AgentID
}

// sensorHealthyAfter is how long a sensor must run before a failure counts
// as a new incident: its backoff starts over, and a failure with the same
// error as the last one is reported again.
const sensorHealthyAfter = 10 * time.Minute

// superviseSensor runs a sensor, restarting it with backoff when it fails.
// A failure is logged as an error and raised as a sensor-failed event when
// it is new: the first, one whose error differs from the last, or one after
// the sensor had run for sensorHealthyAfter. A sensor that keeps failing
// the same way (no X display on a headless machine) is retried quietly:
// its health, which heartbeats report, still says failed and counts every
// failure.
func (a *Agent) superviseSensor(ctx context.Context, name string, run *sensorRun) {
	backoff := a.cfg.SensorRestartMin
	lastErr := ""
	emit := func(e event.Event) {
		run.tracker.Emitted()
		if e.Event.Module == "" {
			e.Event.Module = name
		}
		a.Emit(e)
	}
	for {
		run.tracker.Set(sensors.StateOK, "", "")
		started := time.Now()
		err := safeRun(ctx, run.s, emit)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("stopped without being asked")
		}
		run.tracker.Failed(err)
		run.tracker.Set(sensors.StateFailed, "", err.Error())
		if time.Since(started) > sensorHealthyAfter {
			backoff, lastErr = a.cfg.SensorRestartMin, ""
		}
		if msg := err.Error(); msg != lastErr {
			a.log.Error("sensor failed; restarting", "sensor", name, "err", err, "backoff", backoff,
				"repeats", "logged at debug level while the error stays the same")
			a.emitAgent("sensor-failed", name, msg)
			lastErr = msg
		} else {
			a.log.Debug("sensor failed again; restarting", "sensor", name, "err", err, "backoff", backoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, a.cfg.SensorRestartMax)
	}
}

// safeRun runs a sensor, turning a panic into an error.
func safeRun(ctx context.Context, s sensors.Sensor, emit func(event.Event)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return s.Run(ctx, emit)
}

// health returns every sensor's health, by name.
func (a *Agent) health() map[string]sensors.Health {
	out := map[string]sensors.Health{}
	for name, run := range a.sensorState {
		h := run.tracker.Health()
		if run.s != nil {
			if hr, ok := run.s.(sensors.HealthReporter); ok {
				own := hr.Health()
				// The supervisor's failure state wins over a stale report.
				if h.State != sensors.StateFailed {
					own.Events = h.Events
					if own.Since.IsZero() {
						own.Since = h.Since
					}
					h = own
				}
			}
		}
		out[name] = h
	}
	return out
}

// process evaluates queued events and spools them in batches.
func (a *Agent) process(ctx, captureCtx context.Context) {
	tick := time.NewTicker(a.cfg.FlushInterval)
	defer tick.Stop()
	var (
		events    []*event.Event
		decisions []engine.Decision
		priority  int
	)
	flush := func() {
		if n := a.spool.TakeDropped() + a.queueDrops.Swap(0); n > 0 {
			e := a.agentEvent("events-dropped", fmt.Sprintf("%d events dropped: the spool or the queue was full", n))
			e.Agent.Dropped = n
			events = append(events, e)
		}
		if len(events) == 0 {
			return
		}
		if err := a.spool.AddBatch(events, decisions, priority); err != nil {
			a.log.Error("cannot spool a batch", "events", len(events), "err", err)
		}
		events, decisions, priority = nil, nil, 0
	}
	handle := func(e *event.Event) {
		a.fill(e)
		if enrich := a.enrich.Load(); enrich != nil && e.User != nil {
			(*enrich)(e)
		}
		if a.opts.Observe != nil {
			a.opts.Observe(e)
		}
		if err := e.Validate(); err != nil {
			a.log.Warn("sensor produced an invalid event; dropped", "module", e.Event.Module, "action", e.Event.Action, "err", err)
			return
		}
		d, err := a.live.Evaluate(ctx, e)
		if err != nil {
			a.log.Warn("evaluate event", "event_id", e.Event.ID, "err", err)
		}
		events = append(events, e)
		if d.Alert {
			decisions = append(decisions, d)
			priority = max(priority, severityRank[d.Severity], 1)
			if d.Evidence != nil && a.opts.Capture != nil {
				a.startCapture(captureCtx, d, e)
			}
		}
		if len(events) >= a.cfg.BatchSize {
			flush()
		}
	}
	for {
		select {
		case e := <-a.events:
			handle(e)
		case <-tick.C:
			flush()
		case <-ctx.Done():
			// Drain what the sensors queued, then say the agent stopped.
			for {
				select {
				case e := <-a.events:
					handle(e)
					continue
				default:
				}
				break
			}
			stopped := a.agentEvent("agent-stopped", "")
			handle(stopped)
			flush()
			return
		}
	}
}

func (a *Agent) agentEvent(action, msg string) *event.Event {
	p := a.live.Program()
	now := time.Now().UTC()
	return &event.Event{Timestamp: now, Message: msg,
		Event: event.Meta{ID: event.NewID(now), Action: action, Module: "agent", Kind: "event"},
		Agent: &event.Agent{ID: a.agentID(), Version: a.opts.Version, BundleName: p.Name(), BundleRevision: p.Revision()}}
}

// fill completes what sensors leave to the agent.
func (a *Agent) fill(e *event.Event) {
	if e.Timestamp.IsZero() {
		e.Timestamp = time.Now().UTC()
	}
	if e.Event.ID == "" {
		e.Event.ID = event.NewID(e.Timestamp)
	}
	if e.Host == nil {
		h := a.host
		e.Host = &h
	}
	if e.Agent != nil && e.Agent.ID == "" {
		e.Agent.ID = a.agentID()
	}
}

// startCapture asks for evidence in the background and spools the package.
func (a *Agent) startCapture(ctx context.Context, d engine.Decision, e *event.Event) {
	dir := filepath.Join(a.cfg.DataDir, "capture")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		a.log.Error("evidence capture directory", "err", err)
		return
	}
	a.captures.Go(func() {
		path, err := a.writeCapture(ctx, d, e, dir)
		if err != nil {
			a.log.Error("evidence capture failed", "decision_id", d.DecisionID, "err", err)
			return
		}
		if err := a.spool.AddEvidence(path); err != nil {
			a.log.Error("cannot spool evidence; it stays in the capture directory", "decision_id", d.DecisionID, "path", path, "err", err)
		}
	})
}

// writeCapture runs the capture into a new file of dir and returns its
// path. The archive is sealed to the server's key (see SealEvidence), so
// that what waits in the spool can be read by the server only.
func (a *Agent) writeCapture(ctx context.Context, d engine.Decision, e *event.Event, dir string) (string, error) {
	path := filepath.Join(dir, d.DecisionID+".zip")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	err = a.captureTo(ctx, d, e, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return "", err
	}
	return path, nil
}

// captureTo runs the capture into w, through a sealer when there is a key.
func (a *Agent) captureTo(ctx context.Context, d engine.Decision, e *event.Event, w io.Writer) error {
	key := a.sealKey()
	if key == nil {
		return a.opts.Capture(ctx, d, e, w)
	}
	sealer, err := evidence.NewSealer(w, key)
	if err != nil {
		return err
	}
	if err := a.opts.Capture(ctx, d, e, sealer); err != nil {
		return err
	}
	return sealer.Close()
}

// sealKey returns the key evidence is sealed to, or nil when sealing is
// off or the server gave none (the package then waits unsealed, which is
// logged once).
func (a *Agent) sealKey() *ecdh.PublicKey {
	if !*a.cfg.SealEvidence {
		return nil
	}
	a.credMu.Lock()
	s := a.creds.ServerSealKey
	a.credMu.Unlock()
	if s != "" {
		k, err := evidence.ParseSealPublicKey(s)
		if err == nil {
			return k
		}
		a.log.Error("the server's evidence seal key is not usable; evidence waits unsealed", "err", err)
		return nil
	}
	if a.unsealedWarned.CompareAndSwap(false, true) {
		a.log.Warn("the server gave no evidence seal key; evidence waits unsealed in the spool")
	}
	return nil
}

// ensureEnrolled enrolls the agent if it has no credentials yet.
func (a *Agent) ensureEnrolled(ctx context.Context) error {
	a.credMu.Lock()
	defer a.credMu.Unlock()
	if a.creds.Token != "" {
		return nil
	}
	secret := a.cfg.EnrollToken
	if a.cfg.EnrollTokenFile != "" {
		b, err := os.ReadFile(a.cfg.EnrollTokenFile)
		if err != nil {
			return fmt.Errorf("enroll: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	if secret == "" {
		return errors.New("enroll: this agent has no credentials and no enrollment token (--enroll-token)")
	}
	pub, ok := a.key.Public().(ed25519.PublicKey)
	if !ok {
		return errors.New("enroll: evidence key is not Ed25519")
	}
	c, err := a.client.Enroll(ctx, EnrollRequest{EnrollmentToken: secret, Name: a.host.Name, HostID: a.host.ID,
		OS: a.hostOS(), Version: a.opts.Version, EvidenceKey: base64.StdEncoding.EncodeToString(pub)})
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	c.Server = a.cfg.Server
	if err := saveCredentials(a.cfg.DataDir, c); err != nil {
		return err
	}
	a.creds = c
	a.client.SetToken(c.Token)
	a.log.Info("enrolled", "agent_id", c.AgentID)
	return nil
}

func (a *Agent) hostOS() string {
	if a.host.OS != nil {
		return a.host.OS.Family
	}
	return ""
}

// uploader sends spooled items in order, with backoff on failure. After
// stop closes it keeps going until the spool is empty (then closes
// drained) or ctx ends.
func (a *Agent) uploader(ctx context.Context, stop <-chan struct{}, drained chan<- struct{}) {
	backoff := a.cfg.RetryMin
	closed := false
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		case <-a.spool.Notify():
		}
		return true
	}
	fail := func(err error) bool {
		d := backoff/2 + time.Duration(mrand.Int64N(int64(backoff/2)+1))
		a.log.Warn("upload failed; retrying", "err", err, "in", d.Round(time.Millisecond))
		backoff = min(backoff*2, a.cfg.RetryMax)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for ctx.Err() == nil {
		if err := a.ensureEnrolled(ctx); err != nil {
			if !fail(err) {
				return
			}
			continue
		}
		items := a.spool.snapshot()
		if len(items) == 0 {
			if isClosed(stop) && !closed {
				closed = true
				close(drained)
			}
			if !wait(250 * time.Millisecond) {
				return
			}
			continue
		}
		progressed := false
		var lastErr error
		for _, it := range items {
			err := a.send(ctx, it)
			if err == nil {
				progressed = true
				backoff = a.cfg.RetryMin
				continue
			}
			lastErr = err
			var se *ServerError
			if it.kind == kindEvidence && errors.As(err, &se) && se.Status == 409 {
				continue // its decision is not there yet: others first
			}
			break // keep the order: retry this item first
		}
		if lastErr != nil && !progressed {
			if !fail(lastErr) {
				return
			}
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// send uploads one item and removes it from the spool once acknowledged.
func (a *Agent) send(ctx context.Context, it spoolItem) error {
	switch it.kind {
	case kindBatch:
		body, err := os.ReadFile(a.spool.path(it))
		if errors.Is(err, os.ErrNotExist) {
			return nil // dropped to make room meanwhile
		}
		if err != nil {
			return err
		}
		res, err := a.client.SendBatch(ctx, body)
		var se *ServerError
		switch {
		case err == nil:
		case errors.As(err, &se) && se.Code == "invalid_event":
			// The valid events were stored and the seq acknowledged; the
			// rejected ones will never be accepted.
			for _, r := range res.Rejected {
				a.log.Error("server rejected an event", "seq", it.seq, "index", r.Index, "event_id", r.EventID, "err", r.Error)
			}
		case errors.As(err, &se) && !se.Retryable() && se.Status != 401 && se.Status != 403:
			a.log.Error("server refused a batch for good; kept in spool/rejected", "seq", it.seq, "err", err)
			return a.spool.Reject(it)
		default:
			return err
		}
		return a.spool.Done(it)
	case kindEvidence:
		err := a.client.SendEvidence(ctx, a.spool.path(it))
		var se *ServerError
		switch {
		case err == nil:
			return a.spool.Done(it)
		case errors.As(err, &se) && (se.Status == 422 || se.Status == 413 || se.Status == 400):
			a.log.Error("server refused an evidence package; kept in spool/rejected", "seq", it.seq, "err", err)
			return a.spool.Reject(it)
		}
		return err
	}
	return nil
}

// heartbeats reports to the server every HeartbeatInterval.
func (a *Agent) heartbeats(ctx context.Context) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		if a.agentID() != "" {
			a.heartbeat(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *Agent) heartbeat(ctx context.Context) {
	p := a.live.Program()
	sj, _ := json.Marshal(a.health())
	pj, _ := json.Marshal(a.spool.Stats())
	resp, err := a.client.Heartbeat(ctx, HeartbeatRequest{Version: a.opts.Version, BundleName: p.Name(),
		BundleRevision: p.Revision(), Sensors: sj, Spool: pj})
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("heartbeat failed", "err", err)
		}
		return
	}
	a.updateSealKey(resp.EvidenceSealKey)
	a.bundleMu.Lock()
	stale := resp.BundleETag != "" && resp.BundleETag != a.bundleETag
	a.bundleMu.Unlock()
	if stale {
		select {
		case a.bundleKick <- struct{}{}:
		default:
		}
	}
}

// updateSealKey keeps the evidence seal key a heartbeat reported, for
// agents enrolled before the server had one and for a server whose key
// changed.
func (a *Agent) updateSealKey(key string) {
	if key == "" {
		return
	}
	if _, err := evidence.ParseSealPublicKey(key); err != nil {
		a.log.Warn("heartbeat: the server's evidence seal key is not usable; keeping the last one", "err", err)
		return
	}
	a.credMu.Lock()
	defer a.credMu.Unlock()
	if a.creds.ServerSealKey == key {
		return
	}
	a.creds.ServerSealKey = key
	if err := saveCredentials(a.cfg.DataDir, a.creds); err != nil {
		a.log.Warn("cannot save the evidence seal key; it is used until the agent stops", "err", err)
	}
	a.log.Info("evidence seal key from the server", "key", key)
}

// bundlePoller fetches the active bundle every BundleInterval, and when a
// heartbeat says it changed.
func (a *Agent) bundlePoller(ctx context.Context) {
	t := time.NewTicker(a.cfg.BundleInterval)
	defer t.Stop()
	first := time.NewTimer(0)
	defer first.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-first.C:
		case <-t.C:
		case <-a.bundleKick:
		}
		if a.agentID() == "" {
			// Not enrolled yet: try again soon.
			first.Reset(time.Second)
			continue
		}
		if err := a.UpdateBundle(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("bundle update failed; keeping the last good bundle", "err", err)
		}
		if err := a.updateDirectory(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("directory update failed; keeping the last copy", "err", err)
		}
	}
}

// UpdateBundle fetches the server's active bundle if it changed, verifies
// and compiles it, and makes it active; the tarball is kept on disk so that
// policies hold offline and across restarts. A bundle that fails leaves the
// active one in place.
func (a *Agent) UpdateBundle(ctx context.Context) error {
	a.bundleMu.Lock()
	etag := a.bundleETag
	a.bundleMu.Unlock()
	data, newETag, err := a.client.FetchBundle(ctx, etag)
	var se *ServerError
	if errors.As(err, &se) && se.Status == 404 {
		return nil // no bundle activated on the server: keep ours
	}
	if err != nil || data == nil {
		return err
	}
	opts, err := a.loadOptions()
	if err != nil {
		return err
	}
	tmp := a.bundlePath() + ".new"
	if err := os.MkdirAll(filepath.Dir(tmp), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("save bundle: %w", err)
	}
	b, err := policies.Load(tmp, opts...)
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("bundle from server (ETag %s): %w", newETag, err)
	}
	p, err := a.live.Activate(b)
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("bundle from server (ETag %s): %w", newETag, err)
	}
	if err := os.Rename(tmp, a.bundlePath()); err != nil {
		return fmt.Errorf("save bundle: %w", err)
	}
	_ = os.WriteFile(a.bundleETagPath(), []byte(newETag), 0o600)
	a.bundleMu.Lock()
	a.bundleETag = newETag
	a.bundleMu.Unlock()
	a.log.Info("policy activated", "bundle", p.Name(), "revision", p.Revision())
	a.emitAgent("policy-activated", "", fmt.Sprintf("bundle %s revision %s", p.Name(), p.Revision()))
	return nil
}

// Close releases the data directory; Run calls it when it returns. An agent
// made with New and never run must be closed.
func (a *Agent) Close() {
	if a.lock != nil {
		_ = a.lock.Close()
		a.lock = nil
	}
}

func (a *Agent) directoryPath() string { return filepath.Join(a.cfg.DataDir, "directory.json") }

// loadDirectory applies the last directory document kept on disk, so that
// events are enriched from the first one, offline too.
func (a *Agent) loadDirectory() {
	if a.opts.Directory == nil {
		return
	}
	raw, err := os.ReadFile(a.directoryPath())
	if err != nil {
		return
	}
	var doc struct {
		ETag string         `json:"etag"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		a.log.Warn("directory copy damaged; waiting for the server's", "path", a.directoryPath(), "err", err)
		return
	}
	if err := a.applyDirectory(doc.Data); err == nil {
		a.dirETag = doc.ETag
	}
}

func (a *Agent) applyDirectory(data map[string]any) error {
	fn, err := a.opts.Directory(data)
	if err != nil {
		return err
	}
	a.enrich.Store(&fn)
	return nil
}

// updateDirectory fetches the server's directory document when it
// changed, applies it and keeps it on disk.
func (a *Agent) updateDirectory(ctx context.Context) error {
	if a.opts.Directory == nil {
		return nil
	}
	raw, etag, err := a.client.FetchDirectory(ctx, a.dirETag)
	var se *ServerError
	if errors.As(err, &se) && (se.Status == 404 || se.Status == 503) {
		return nil // an older server, or one without a directory
	}
	if err != nil || raw == nil {
		return err
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		return fmt.Errorf("directory from server: %w", err)
	}
	if err := a.applyDirectory(data); err != nil {
		return fmt.Errorf("directory from server: %w", err)
	}
	doc, err := json.Marshal(struct {
		ETag string          `json:"etag"`
		Data json.RawMessage `json:"data"`
	}{etag, raw})
	if err != nil {
		return err
	}
	a.dirETag = etag
	return atomicfile.WriteFile(a.directoryPath(), doc, 0o600)
}

// Program returns the active compiled bundle.
func (a *Agent) Program() *engine.Program { return a.live.Program() }

// Spool returns the agent's spool.
func (a *Agent) Spool() *Spool { return a.spool }

// EvidenceKey returns the agent's evidence signing key.
func (a *Agent) EvidenceKey() ed25519.PrivateKey { return a.key }

// Credentials returns what enrollment gave the agent (empty before).
func (a *Agent) Credentials() Credentials {
	a.credMu.Lock()
	defer a.credMu.Unlock()
	return a.creds
}

const credentialsFile = "agent.json"

func loadCredentials(dir string) (Credentials, error) {
	data, err := os.ReadFile(filepath.Join(dir, credentialsFile))
	if err != nil {
		return Credentials{}, err
	}
	var c Credentials
	if err := json.Unmarshal(data, &c); err != nil {
		return Credentials{}, fmt.Errorf("agent credentials %s: damaged (remove it to enroll again): %w", filepath.Join(dir, credentialsFile), err)
	}
	if c.Token == "" {
		return Credentials{}, fmt.Errorf("agent credentials %s: no token (remove it to enroll again)", filepath.Join(dir, credentialsFile))
	}
	return c, nil
}

func saveCredentials(dir string, c Credentials) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, credentialsFile), data, 0o600)
}

// LoadOrCreateEvidenceKey returns the agent's Ed25519 evidence signing key
// from dir/evidence-key.pem (PKCS #8), creating it (readable by its owner
// only) on first use.
func LoadOrCreateEvidenceKey(dir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, "evidence-key.pem")
	k, err := evidence.LoadPrivateKey(path)
	switch {
	case err == nil:
		return k, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("evidence key: %w", err)
	}
	if k, err = evidence.GenerateKey(); err != nil {
		return nil, fmt.Errorf("evidence key: %w", err)
	}
	data, err := evidence.MarshalPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("evidence key: %w", err)
	}
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("evidence key: %w", err)
	}
	return k, nil
}
