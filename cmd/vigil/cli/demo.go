package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/agent"
	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/evidence"
	"github.com/vigil-itm/vigil/evidence/screen"
	"github.com/vigil-itm/vigil/policies"
)

func init() { addCommand((*env).demoCmd) }

// Size of the demo endpoint's screen.
// demoFrameRefresh is how often an unchanged screen is recorded again.
const demoFrameRefresh = 10 * time.Second

// The demo endpoint's screen size, and how often it is recorded. Tests
// make the screen smaller and record it less often: encoding frames is
// most of the demo's work, and slow under the race detector.
var (
	demoScreenW, demoScreenH = 1280, 720
	demoFrameInterval        = 2 * time.Second
)

// demoOptions are the flags of vigil demo.
type demoOptions struct {
	server  string
	token   string
	dataDir string
	events  string
}

func (e *env) demoCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo [--server URL] [--token ADMIN_TOKEN | --data-dir DIR] [--events FILE]",
		Short: "Replay an insider story on a running Vigil as a demo agent, with evidence to play in the console",
		Long: `Show a running Vigil (vigil run) at work without waiting for real activity.

vigil demo makes an enrollment token with the admin token, enrolls a demo
agent named like a workstation (with its own evidence signing key), and
replays an insider story through its own engine on the server's active
bundle, exactly as an agent would: numbered event batches carrying the
alerting decisions. For every alert whose rules ask for evidence it builds a
real evidence package from a simulated desktop (screen frames, keystrokes,
clipboard, terminal), signs it with the agent's key and uploads it, where
the server verifies and countersigns it. It prints what it did and the
console address of the newest alert.

The story happens in the last hour, so the console's default time ranges
show it. Each run tells a new story with new ids (the person changes from
run to run). --events replays a file of JSON-lines events instead, such as
examples/events/usb-exfiltration.jsonl, moved to the last hour (pauses longer
than 10 minutes are shortened to 10 minutes).

The admin token is --token, or the admin-token file of vigil run's data
directory (--data-dir). Exit codes: 0 done, 1 evidence was refused, 2 bad
command line, 3 could not run (no server, wrong token).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("token") && cmd.Flags().Changed("data-dir") {
				return &exitError{code: ExitUsage, err: errors.New("give --token or --data-dir, not both")}
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return e.runDemo(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "http://127.0.0.1:8470", "URL of the running Vigil server")
	f.StringVar(&o.token, "token", "", "an admin API token (default: the admin-token file in --data-dir)")
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir(), "data directory of vigil run, where its admin-token file is")
	f.StringVar(&o.events, "events", "", "replay this JSON-lines event file instead of the built-in story")
	return cmd
}

// demoAPI calls the server's API with the admin token.
type demoAPI struct {
	base  string
	token string
	http  *http.Client
}

// demoAPIError is an error answer of the server.
type demoAPIError struct {
	status  int
	code    string
	message string
}

func (e *demoAPIError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.status, e.code, e.message)
}

func (a *demoAPI) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		ae := &demoAPIError{status: resp.StatusCode, message: strings.TrimSpace(string(data))}
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
			ae.code, ae.message = eb.Error.Code, eb.Error.Message
		}
		return fmt.Errorf("%s %s: %w", method, path, ae)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// demoRun is one run of vigil demo.
type demoRun struct {
	e       *env
	o       demoOptions
	admin   *demoAPI
	client  *agent.Client
	key     ed25519.PrivateKey
	persona demoPersona
	events  []*event.Event
	logger  *slog.Logger
}

// demoAlert is an alerting decision of the demo agent and what became of
// it.
type demoAlert struct {
	d        engine.Decision
	ev       *event.Event
	alertID  string
	manifest *evidence.Manifest
	err      error
}

func (e *env) runDemo(ctx context.Context, o demoOptions) error {
	r := &demoRun{e: e, o: o, logger: e.logger.With("component", "demo")}
	base := strings.TrimRight(o.server, "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &exitError{code: ExitUsage, err: fmt.Errorf("--server %q: want http(s)://host[:port]", o.server)}
	}
	token := strings.TrimSpace(o.token)
	if token == "" {
		p := filepath.Join(o.dataDir, "admin-token")
		raw, err := os.ReadFile(p)
		if err != nil {
			return cannot(fmt.Errorf("read the admin token: %w (start Vigil with vigil run, which writes it there, or pass --token or --data-dir)", err))
		}
		token = strings.TrimSpace(string(raw))
	}
	r.admin = &demoAPI{base: base, token: token, http: &http.Client{Timeout: time.Minute}}
	defer r.admin.http.CloseIdleConnections()
	if err := r.admin.call(ctx, http.MethodGet, "/healthz", nil, nil); err != nil {
		var ne net.Error
		var ue *url.Error
		if errors.As(err, &ne) || errors.As(err, &ue) {
			return cannot(fmt.Errorf("no Vigil server answers at %s (start it with vigil run, or pass --server): %w", base, err))
		}
		return cannot(fmt.Errorf("check the server at %s: %w", base, err))
	}

	// The story and its workstation.
	if err := r.loadStory(ctx); err != nil {
		return err
	}
	host := r.persona.Host

	// Enroll the demo agent as vigil agent does: an enrollment token made
	// by an admin, redeemed with the agent's own evidence key.
	var tok struct {
		Secret string `json:"secret"`
	}
	err := r.admin.call(ctx, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "vigil demo: enroll " + host, "role": "agent",
		"kind": "enrollment", "single_use": true, "expires": time.Now().Add(time.Hour).UTC(), "reason": "vigil demo"}, &tok)
	if err != nil {
		var ae *demoAPIError
		if errors.As(err, &ae) && (ae.status == http.StatusUnauthorized || ae.status == http.StatusForbidden) {
			return cannot(fmt.Errorf("the server at %s refused the admin token (%s): pass an admin token with --token, or vigil run's data directory with --data-dir", base, ae.message))
		}
		return cannot(fmt.Errorf("create an enrollment token: %w", err))
	}
	key, err := evidence.GenerateKey()
	if err != nil {
		return cannot(err)
	}
	r.key = key
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return cannot(errors.New("demo agent key: not Ed25519"))
	}
	if r.client, err = agent.NewClient(base, "", time.Minute); err != nil {
		return cannot(err)
	}
	creds, err := r.client.Enroll(ctx, agent.EnrollRequest{EnrollmentToken: tok.Secret, Name: host, HostID: "demo-" + host, OS: "linux",
		Version: Version, EvidenceKey: base64.StdEncoding.EncodeToString(pub)})
	if err != nil {
		return cannot(fmt.Errorf("enroll the demo agent %s: %w", host, err))
	}
	r.client.SetToken(creds.Token)

	// The agent's engine on the server's active bundle, with the
	// server's user context.
	prog, err := r.compileActive(ctx)
	if err != nil {
		return err
	}
	enrich := r.directory(ctx)
	sensorsJSON, _ := json.Marshal(demoSensors(r.events))
	if _, err := r.client.Heartbeat(ctx, agent.HeartbeatRequest{Version: Version, BundleName: prog.Name(), BundleRevision: prog.Revision(),
		Sensors: sensorsJSON}); err != nil {
		return cannot(fmt.Errorf("demo agent heartbeat: %w", err))
	}
	fmt.Fprintf(e.stdout, "Demo agent %s enrolled (agent id %s), judging on bundle %s revision %s.\n", host, creds.AgentID, prog.Name(), prog.Revision())

	var alerts []*demoAlert
	for _, ev := range r.events {
		// What the agent fills in for its sensors.
		if ev.Host == nil {
			ev.Host = &event.Host{ID: "demo-" + host, Name: host, OS: &event.OS{Family: "linux"}}
		}
		if enrich != nil && ev.User != nil {
			enrich(ev)
		}
		if err := ev.Validate(); err != nil {
			return cannot(fmt.Errorf("story event %s (%s): %w", ev.Event.ID, ev.Event.Action, err))
		}
		d, err := prog.Evaluate(ctx, ev)
		if err != nil {
			return cannot(fmt.Errorf("evaluate story event %s: %w", ev.Event.ID, err))
		}
		if d.Alert {
			alerts = append(alerts, &demoAlert{d: d, ev: ev})
		}
	}
	stored, err := r.sendBatches(ctx, alerts)
	if err != nil {
		return err
	}
	first, last := r.events[0].Timestamp, r.events[len(r.events)-1].Timestamp
	fmt.Fprintf(e.stdout, "Replayed %d events of %s (%s) on %s, %s to %s: %d stored, %d alerting decisions.\n",
		len(r.events), r.persona.FullName, r.persona.User, host, first.Local().Format("15:04"), last.Local().Format("15:04"), stored, len(alerts))

	sent, refused := r.captureEvidence(ctx, alerts)
	r.findAlerts(ctx, alerts, first)
	r.report(alerts)
	if refused > 0 {
		return failed("%d of %d evidence packages were not accepted (see above)", refused, sent+refused)
	}
	return nil
}

// loadStory picks the story: a recorded event file moved to the last
// hour, or the built-in story of the next persona.
func (r *demoRun) loadStory(ctx context.Context) error {
	end := time.Now().Add(-4 * time.Minute).Truncate(time.Second)
	if r.o.events == "" {
		// Take turns through the personas: count the demo agents already
		// enrolled.
		var list struct {
			Agents []struct {
				Name   string `json:"name"`
				HostID string `json:"host_id"`
			} `json:"agents"`
		}
		n := 0
		if err := r.admin.call(ctx, http.MethodGet, "/api/v1/agents?limit=1000", nil, &list); err == nil {
			for _, a := range list.Agents {
				if strings.HasPrefix(a.HostID, "demo-") {
					n++
				}
			}
		}
		r.persona = demoPersonas[n%len(demoPersonas)]
		r.events = demoStory(r.persona, end)
		return nil
	}
	evs, err := event.DecodeFile(r.o.events)
	if err != nil {
		return cannot(fmt.Errorf("read --events %s: %w", r.o.events, err))
	}
	if len(evs) == 0 {
		return cannot(fmt.Errorf("--events %s: no events", r.o.events))
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Timestamp.Before(evs[j].Timestamp) })
	r.persona = demoPersonas[0]
	for _, ev := range evs {
		if ev.User != nil && ev.User.Name != "" {
			r.persona.User, r.persona.FullName = ev.User.Name, ev.User.Name
			if ev.User.FullName != "" {
				r.persona.FullName = ev.User.FullName
			}
			break
		}
	}
	for _, ev := range evs {
		if ev.Host != nil && ev.Host.Name != "" {
			r.persona.Host = ev.Host.Name
			break
		}
	}
	r.events = retimeEvents(evs, end, 10*time.Minute)
	return nil
}

// retimeEvents moves events (sorted by time) so that the last happens at
// end, shortening pauses longer than maxGap to maxGap, and gives each a
// new id, so that a replay is a new story.
func retimeEvents(evs []*event.Event, end time.Time, maxGap time.Duration) []*event.Event {
	offsets := make([]time.Duration, len(evs))
	for i := len(evs) - 2; i >= 0; i-- {
		gap := min(evs[i+1].Timestamp.Sub(evs[i].Timestamp), maxGap)
		offsets[i] = offsets[i+1] - gap
	}
	for i, ev := range evs {
		ev.Timestamp = end.Add(offsets[i])
		ev.Event.ID = event.NewID(ev.Timestamp)
		ev.Event.Ingested = nil
	}
	return evs
}

// compileActive fetches the server's active bundle and compiles it, as
// an agent does.
func (r *demoRun) compileActive(ctx context.Context) (*engine.Program, error) {
	data, _, err := r.client.FetchBundle(ctx, "")
	if err != nil {
		return nil, cannot(fmt.Errorf("fetch the active bundle: %w", err))
	}
	if len(data) == 0 {
		return nil, cannot(errors.New("the server has no active bundle: activate one first"))
	}
	b, err := policies.LoadTarball(bytes.NewReader(data))
	if err != nil {
		return nil, cannot(fmt.Errorf("load the active bundle: %w", err))
	}
	p, err := engine.Compile(b, engine.WithLogger(r.logger))
	if err != nil {
		return nil, cannot(fmt.Errorf("compile the active bundle: %w", err))
	}
	return p, nil
}

// directory returns the enrichment of the server's user directory, or nil
// when the server has none.
func (r *demoRun) directory(ctx context.Context) func(*event.Event) {
	raw, _, err := r.client.FetchDirectory(ctx, "")
	if err != nil || raw == nil {
		return nil
	}
	var data map[string]any
	if json.Unmarshal(raw, &data) != nil {
		return nil
	}
	en, err := directoryEnricher(data)
	if err != nil {
		r.logger.Warn("the server's directory does not load; events keep their own user context", "err", err)
		return nil
	}
	return en
}

// demoSensors is the sensor health the demo agent reports: the sensors
// whose events the story has, marked as a demo.
func demoSensors(evs []*event.Event) map[string]map[string]any {
	counts := map[string]int{}
	for _, ev := range evs {
		if m := ev.Event.Module; m != "" {
			counts[m]++
		}
	}
	since := evs[0].Timestamp.Add(-time.Minute).UTC()
	out := map[string]map[string]any{
		"screen": {"state": "ok", "mode": "demo desktop", "events": 0, "errors": 0, "since": since},
	}
	for m, n := range counts {
		out[m] = map[string]any{"state": "ok", "mode": "demo replay", "events": n, "errors": 0, "since": since}
	}
	return out
}

// sendBatches sends the events in numbered batches with the alerting
// decisions on their events, as the agent's spool does.
func (r *demoRun) sendBatches(ctx context.Context, alerts []*demoAlert) (stored int, err error) {
	const batchSize = 50
	for seq, i := int64(1), 0; i < len(r.events); seq, i = seq+1, i+batchSize {
		evs := r.events[i:min(i+batchSize, len(r.events))]
		var ds []engine.Decision
		for _, a := range alerts {
			if slices.Contains(evs, a.ev) {
				ds = append(ds, a.d)
			}
		}
		body, err := json.Marshal(struct {
			Seq       int64             `json:"seq"`
			Events    []*event.Event    `json:"events"`
			Decisions []engine.Decision `json:"decisions,omitempty"`
		}{seq, evs, ds})
		if err != nil {
			return stored, cannot(fmt.Errorf("encode batch %d: %w", seq, err))
		}
		res, err := r.client.SendBatch(ctx, body)
		if err != nil {
			return stored, cannot(fmt.Errorf("send batch %d: %w", seq, err))
		}
		stored += res.Stored
	}
	return stored, nil
}

// demoGrabber is the demo endpoint's screen: it draws the simulated
// desktop as it was at the time set before each capture.
type demoGrabber struct {
	sim *demoSim
	at  time.Time
}

func (g *demoGrabber) Grab() (screen.Pixels, error) {
	return screen.FromRGBA(drawDemoScene(g.sim.sceneAt(g.at), demoScreenW, demoScreenH)), nil
}

func (g *demoGrabber) Name() string { return "demo-desktop" }

func (g *demoGrabber) Close() error { return nil }

// captureEvidence fills the evidence buffers with what the simulated
// endpoint showed and typed, captures a package for every alerting
// decision that asks for evidence, and uploads it.
func (r *demoRun) captureEvidence(ctx context.Context, alerts []*demoAlert) (sent, refused int) {
	var want []*demoAlert
	for _, a := range alerts {
		if a.d.Evidence != nil {
			want = append(want, a)
		}
	}
	if len(want) == 0 {
		return 0, 0
	}
	fail := func(err error) (int, int) {
		for _, a := range want {
			a.err = err
		}
		return 0, len(want)
	}
	now := time.Now()
	cfg := evidence.DefaultConfig()
	// The buffers reach back to the start of the story.
	cfg.Buffer.Duration = policies.Duration(now.Sub(r.events[0].Timestamp) + 30*time.Minute)
	cfg.Buffer.ScreenBytes = 256 << 20
	cfg.Screen.Interval = policies.Duration(demoFrameInterval)
	cfg.Screen.PostRollInterval = policies.Duration(demoFrameInterval)
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	buf, err := evidence.NewBuffers(cfg, r.logger)
	if err != nil {
		return fail(err)
	}
	sim := newDemoSim(r.persona, r.events)
	grab := &demoGrabber{sim: sim}
	spool, err := os.MkdirTemp("", "vigil-demo-")
	if err != nil {
		return fail(err)
	}
	defer func() { _ = os.RemoveAll(spool) }()
	rec, err := evidence.NewRecorder(evidence.RecorderOptions{Buffers: buf, Grabber: grab, Key: r.key, SpoolDir: filepath.Join(spool, "spool"), Logger: r.logger})
	if err != nil {
		return fail(err)
	}

	// What the sensors saw, in order, then the screen during every video
	// window (an unchanged screen extends its frame).
	keys := slices.Clone(sim.keys)
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].Time.Before(keys[j].Time) })
	for _, k := range keys {
		buf.RecordKeystroke(k)
	}
	clips := slices.Clone(sim.clips)
	sort.SliceStable(clips, func(i, j int) bool { return clips[i].Time.Before(clips[j].Time) })
	for _, c := range clips {
		buf.RecordClipboard(c)
	}
	terms := slices.Clone(sim.terms)
	sort.SliceStable(terms, func(i, j int) bool { return terms[i].Time.Before(terms[j].Time) })
	for _, t := range terms {
		buf.RecordTerminal(t)
	}
	var spans [][2]time.Time
	for _, a := range want {
		if v := a.d.Evidence.Video; v != nil {
			t0 := a.d.Timestamp
			spans = append(spans, [2]time.Time{t0.Add(-v.Before.D()), minDemoTime(t0.Add(v.After.D()), now)})
		}
	}
	if err := recordDemoFrames(buf, sim, spans); err != nil {
		return fail(err)
	}

	for _, a := range want {
		d := a.d
		spec := *d.Evidence
		// The story is over: a post-roll cannot reach past now.
		clamp := func(w *policies.RollWindow) *policies.RollWindow {
			if w == nil {
				return nil
			}
			c := *w
			if d.Timestamp.Add(c.After.D()).After(now) {
				c.After = policies.Duration(max(now.Sub(d.Timestamp), 0))
			}
			return &c
		}
		spec.Video, spec.Keystrokes, spec.Clipboard, spec.Terminal = clamp(spec.Video), clamp(spec.Keystrokes), clamp(spec.Clipboard), clamp(spec.Terminal)
		req := evidence.Request{AlertID: d.DecisionID, Time: d.Timestamp, Severity: d.Severity,
			BundleName: d.Bundle.Name, BundleRevision: d.Bundle.Revision, Spec: spec, Host: d.HostName, User: d.UserName}
		for _, rr := range d.Rules {
			req.RuleIDs = append(req.RuleIDs, rr.ID)
		}
		if a.ev.User != nil {
			req.Groups = a.ev.User.Groups
		}
		grab.at = d.Timestamp
		res, err := rec.Capture(ctx, req)
		if err != nil {
			a.err = fmt.Errorf("capture evidence for decision %s: %w", d.DecisionID, err)
			refused++
			continue
		}
		zipPath := filepath.Join(spool, d.DecisionID+".zip")
		if err := writeZip(res.Dir, zipPath); err != nil {
			a.err = fmt.Errorf("zip evidence for decision %s: %w", d.DecisionID, err)
			refused++
			continue
		}
		if err := r.client.SendEvidence(ctx, zipPath); err != nil {
			a.err = fmt.Errorf("upload evidence for decision %s: %w", d.DecisionID, err)
			refused++
			continue
		}
		a.manifest = res.Manifest
		sent++
	}
	return sent, refused
}

// recordDemoFrames records the simulated screen into the buffers, one
// sample every demoFrameInterval over the merged spans; a screen that did not change is
// not drawn again.
func recordDemoFrames(buf *evidence.Buffers, sim *demoSim, spans [][2]time.Time) error {
	sort.Slice(spans, func(i, j int) bool { return spans[i][0].Before(spans[j][0]) })
	var merged [][2]time.Time
	for _, s := range spans {
		if n := len(merged); n > 0 && !s[0].After(merged[n-1][1]) {
			merged[n-1][1] = maxTime(merged[n-1][1], s[1])
			continue
		}
		merged = append(merged, s)
	}
	var lastKey []byte
	var img *image.RGBA
	var lastRecorded time.Time
	for _, s := range merged {
		for t := s[0].Truncate(demoFrameInterval); !t.After(s[1]); t = t.Add(demoFrameInterval) {
			sc := sim.sceneAt(t)
			k, err := json.Marshal(sc)
			if err != nil {
				return err
			}
			changed := img == nil || !bytes.Equal(k, lastKey)
			if changed {
				img, lastKey = drawDemoScene(sc, demoScreenW, demoScreenH), k
			}
			// An unchanged screen only extends its frame; doing that now and
			// then (and at the end of a span) is enough.
			if !changed && t.Sub(lastRecorded) < demoFrameRefresh && t.Add(demoFrameInterval).Before(s[1]) {
				continue
			}
			if _, err := buf.RecordFrame(t, img); err != nil {
				return fmt.Errorf("record demo frame at %s: %w", t.Format(time.TimeOnly), err)
			}
			lastRecorded = t
		}
	}
	return nil
}

func minDemoTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func writeZip(dir, zipPath string) error {
	f, err := os.OpenFile(zipPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := evidence.Zip(dir, f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// findAlerts finds the alerts the demo agent's decisions raised.
func (r *demoRun) findAlerts(ctx context.Context, alerts []*demoAlert, since time.Time) {
	var list struct {
		Alerts []struct {
			ID         string `json:"id"`
			DecisionID string `json:"decision_id"`
		} `json:"alerts"`
	}
	q := url.Values{"from": {since.Add(-time.Second).UTC().Format(time.RFC3339)}, "limit": {"1000"}}
	if err := r.admin.call(ctx, http.MethodGet, "/api/v1/alerts?"+q.Encode(), nil, &list); err != nil {
		r.logger.Warn("cannot list the alerts", "err", err)
		return
	}
	for _, a := range alerts {
		for _, al := range list.Alerts {
			if al.DecisionID == a.d.DecisionID {
				a.alertID = al.ID
			}
		}
	}
}

// report prints the alerts and the console address of the newest.
func (r *demoRun) report(alerts []*demoAlert) {
	w := r.e.stdout
	var newest *demoAlert
	for _, a := range alerts {
		rules := make([]string, 0, len(a.d.Rules))
		for _, rr := range a.d.Rules {
			rules = append(rules, rr.ID)
		}
		what := "no evidence asked for"
		switch {
		case a.err != nil:
			what = "evidence NOT accepted: " + a.err.Error()
		case a.manifest != nil:
			what = "evidence: " + describePackage(a.manifest)
		}
		fmt.Fprintf(w, "  %s  %-8s  %s\n      %s\n", a.d.Timestamp.Local().Format("15:04:05"), a.d.Severity, strings.Join(rules, ", "), what)
		// The newest alert with screen frames to play, else the newest
		// with evidence, else the newest.
		if a.alertID != "" && (newest == nil || playable(a) >= playable(newest)) {
			newest = a
		}
	}
	if newest != nil {
		what := [...]string{"newest alert", "newest alert with evidence", "newest alert with a screen recording"}[playable(newest)]
		fmt.Fprintf(w, "Open the %s in the console (sign in with the admin token) and play its evidence:\n  %s/console/#/alerts/%s\n",
			what, r.admin.base, newest.alertID)
	} else {
		fmt.Fprintf(w, "Open the console: %s/console/\n", r.admin.base)
	}
}

// playable ranks what an alert has to play: 2 screen frames, 1 other
// evidence, 0 none.
func playable(a *demoAlert) int {
	switch {
	case a.manifest != nil && a.manifest.Frames.Count > 0:
		return 2
	case a.manifest != nil:
		return 1
	}
	return 0
}

// describePackage says what an evidence package holds.
func describePackage(m *evidence.Manifest) string {
	var parts []string
	if m.Frames.Count > 0 {
		parts = append(parts, fmt.Sprintf("%d screen frames", m.Frames.Count))
	}
	for _, f := range m.Files {
		switch f.Path {
		case evidence.ScreenshotFile:
			parts = append(parts, "a screenshot")
		case evidence.KeystrokesFile:
			parts = append(parts, "keystrokes")
		case evidence.ClipboardFile:
			parts = append(parts, "clipboard")
		}
	}
	if len(m.Terminals) > 0 {
		parts = append(parts, "a terminal session")
	}
	for _, wh := range m.Withheld {
		parts = append(parts, wh.Kind+" withheld ("+wh.Reason+")")
	}
	if len(parts) == 0 {
		return "an empty package"
	}
	return strings.Join(parts, ", ") + "; signed by the demo agent, verified by the server"
}
