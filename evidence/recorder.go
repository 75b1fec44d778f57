package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/vigil-itm/vigil/evidence/screen"
	"github.com/vigil-itm/vigil/policies"
)

// ErrPackageExists is returned (wrapped) by Capture when the spool already
// holds a package for the alert.
var ErrPackageExists = errors.New("evidence package already exists")

// Grabber takes screenshots of the whole desktop (every monitor). The
// recorder calls it from one goroutine at a time and is done with the
// pixels it returned before it calls Grab again. screen.Grabber is one; a
// source of *image.RGBA returns screen.FromRGBA(img).
type Grabber interface {
	// Grab returns the current screen, valid until the next Grab or
	// Close; it may be the grabber's own buffer.
	Grab() (screen.Pixels, error)
	// Name says which mechanism the grabber uses, such as "x11-shm".
	Name() string
	// Close releases the grabber's resources.
	Close() error
}

// RecorderOptions are what a Recorder needs.
type RecorderOptions struct {
	// Buffers are the ring buffers sensors feed; required.
	Buffers *Buffers
	// Grabber takes screenshots; nil means no screen evidence.
	Grabber Grabber
	// Key signs packages; required.
	Key ed25519.PrivateKey
	// SpoolDir is where packages are written, one directory per alert.
	SpoolDir string
	// Logger is the recorder's logger.
	Logger *slog.Logger
}

// Recorder records the screen into the buffers and writes evidence
// packages when decisions ask for them.
type Recorder struct {
	buf     *Buffers
	grabber Grabber
	key     ed25519.PrivateKey
	spool   string
	logger  *slog.Logger
	now     func() time.Time

	grabMu     sync.Mutex
	grabErrors uint64
	wake       chan struct{}
}

// NewRecorder checks its options and builds a recorder.
func NewRecorder(opts RecorderOptions) (*Recorder, error) {
	if opts.Buffers == nil {
		return nil, errors.New("new evidence recorder: no buffers")
	}
	if len(opts.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("new evidence recorder: no Ed25519 signing key")
	}
	if opts.SpoolDir == "" {
		return nil, errors.New("new evidence recorder: no spool directory")
	}
	if err := os.MkdirAll(opts.SpoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("new evidence recorder: create spool %s: %w", opts.SpoolDir, err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Recorder{buf: opts.Buffers, grabber: opts.Grabber, key: opts.Key, spool: opts.SpoolDir,
		logger: logger.With("component", "evidence"), now: time.Now, wake: make(chan struct{}, 1)}, nil
}

// Buffers returns the recorder's buffers.
func (r *Recorder) Buffers() *Buffers { return r.buf }

// Run records screen frames into the buffers at the configured interval,
// and at the post-roll interval while a capture asks for video, until ctx
// is done. Without a grabber, or with the screen off, it only waits.
func (r *Recorder) Run(ctx context.Context) error {
	cfg := r.buf.cfg
	if r.grabber == nil || !cfg.Enabled || !cfg.Screen.Enabled {
		<-ctx.Done()
		return nil
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-timer.C:
		}
		start := r.now()
		r.recordFrame(start)
		next := cfg.Screen.Interval.D()
		if r.buf.videoActive() {
			next = cfg.Screen.PostRollInterval.D()
		}
		wait := next - time.Since(start)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(wait, 0))
	}
}

func (r *Recorder) recordFrame(t time.Time) {
	// The grabber's pixels are valid until its next Grab: the lock is held
	// until the buffers have read them, so that an alert's screenshot does
	// not overwrite them meanwhile.
	r.grabMu.Lock()
	p, err := r.grabLocked()
	if err == nil {
		_, err = r.buf.RecordPixels(t, p)
	}
	if err != nil {
		r.grabErrors++
	}
	n := r.grabErrors
	r.grabMu.Unlock()
	if err != nil && (n == 1 || n%60 == 0) {
		r.logger.Warn("screen frame failed", "err", err, "failures", n)
	}
}

// grabLocked grabs the screen; r.grabMu is held.
func (r *Recorder) grabLocked() (screen.Pixels, error) {
	p, err := r.grabber.Grab()
	if err != nil {
		return screen.Pixels{}, fmt.Errorf("grab screen with %s: %w", r.grabber.Name(), err)
	}
	if err := p.Check(); err != nil {
		return screen.Pixels{}, fmt.Errorf("grab screen with %s: %w", r.grabber.Name(), err)
	}
	return p, nil
}

// Request asks for an evidence package for one alert.
type Request struct {
	// AlertID names the package; letters, digits and "-_." only.
	AlertID string
	// Time is when the rule fired; the pre-roll ends and the post-roll
	// starts there. Zero means now.
	Time time.Time
	// RuleIDs are the rules that fired.
	RuleIDs []string
	// Severity is the alert's severity; it picks the retention.
	Severity string
	// BundleName and BundleRevision name the policy bundle.
	BundleName     string
	BundleRevision string
	// Host and User are the endpoint and the user.
	Host string
	User string
	// Groups are the user's groups, for the per-group privacy settings.
	Groups []string
	// Spec is the evidence the decision asked for.
	Spec policies.EvidenceSpec
}

// Result is the outcome of a capture.
type Result struct {
	// Dir is the package directory in the spool.
	Dir string
	// Manifest is the package's manifest as written.
	Manifest *Manifest
}

// Capture writes the evidence package for one alert: it takes the
// requested pre-roll from the buffers at once, keeps collecting until the
// longest post-roll has passed (the screen at the post-roll rate when video
// is asked for), takes a full-resolution screenshot at the start, then
// writes and signs the package in the spool. Frames are shared in memory
// with overlapping captures. When ctx is done before the post-roll ends
// (shutdown), it stops collecting and writes what it has, marked partial.
// Capture blocks for the post-roll; call it from its own goroutine.
func (r *Recorder) Capture(ctx context.Context, req Request) (Result, error) {
	if err := CheckAlertID(req.AlertID); err != nil {
		return Result{}, fmt.Errorf("capture evidence: %w", err)
	}
	dir := filepath.Join(r.spool, req.AlertID)
	if _, err := os.Lstat(dir); err == nil {
		return Result{}, fmt.Errorf("capture evidence for %s: %w", req.AlertID, ErrPackageExists)
	}
	cfg := r.buf.cfg
	t0 := req.Time
	if t0.IsZero() {
		t0 = r.now()
	}
	spec := req.Spec
	withheld := r.withhold(&spec, req.Groups)

	before, after := rolls(spec)
	video := spec.Video != nil
	tp, preFrames, pre := r.buf.openTap(t0.Add(-before), video, cfg.MaxPackageBytes)
	if video {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	var shot []byte
	if spec.Screenshot {
		var err error
		shot, err = r.screenshot()
		if err != nil {
			withheld = append(withheld, Withheld{Kind: KindScreenshot, Reason: err.Error()})
		}
	}

	end := t0.Add(after)
	partial, reason := false, ""
	if wait := end.Sub(r.now()); wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			partial, reason = true, "capture interrupted before the post-roll ended: "+context.Cause(ctx).Error()
		case <-tp.full:
			partial, reason = true, fmt.Sprintf("package size limit of %d bytes reached", cfg.MaxPackageBytes)
		}
		timer.Stop()
	}
	if partial {
		end = r.now()
	}
	mat := r.buf.closeTap(tp, preFrames, pre)
	if !partial && tp.isFull {
		partial, reason = true, fmt.Sprintf("package size limit of %d bytes reached", cfg.MaxPackageBytes)
	}

	m := &Manifest{
		Format: Format, AlertID: req.AlertID, AlertTime: t0.UTC(), RuleIDs: req.RuleIDs, Severity: req.Severity,
		Bundle: BundleInfo{Name: req.BundleName, Revision: req.BundleRevision}, Host: req.Host, User: req.User,
		Window:    TimeWindow{Start: t0.Add(-before).UTC(), End: end.UTC()},
		CreatedAt: r.now().UTC(), Partial: partial, PartialReason: reason,
		Capture: CaptureSettings{Spec: req.Spec, FrameInterval: cfg.Screen.Interval, PostRollInterval: cfg.Screen.PostRollInterval,
			MaxWidth: cfg.Screen.MaxWidth, Quality: cfg.Screen.Quality, Masking: cfg.Masking.Builtin || len(cfg.Masking.Patterns) > 0,
			BlockedApps: len(cfg.Privacy.BlockedApps) + len(cfg.Privacy.BlockedTitles)},
		Withheld: withheld,
	}
	if r.grabber != nil {
		m.Capture.Backend = r.grabber.Name()
	}
	if req.Severity != "" {
		m.RetainUntil = t0.Add(cfg.RetentionFor(req.Severity)).UTC()
	}
	if err := r.write(dir, m, spec, t0, end, mat, shot); err != nil {
		return Result{}, err
	}
	r.logger.Info("evidence package written", "alert_id", req.AlertID, "dir", dir, "frames", m.Frames.Count,
		"files", len(m.Files), "partial", partial)
	return Result{Dir: dir, Manifest: m}, nil
}

// withhold removes from spec the kinds that configuration or the user's
// groups turn off, and says why.
func (r *Recorder) withhold(spec *policies.EvidenceSpec, groups []string) []Withheld {
	cfg := r.buf.cfg
	off := map[string]string{}
	if !cfg.Enabled {
		for _, k := range allKinds {
			off[k] = "evidence is disabled in the agent configuration"
		}
	}
	if !cfg.Screen.Enabled {
		off[KindScreen] = "screen evidence is disabled in the agent configuration"
		off[KindScreenshot] = off[KindScreen]
	}
	if r.grabber == nil {
		if _, ok := off[KindScreen]; !ok {
			off[KindScreen] = "no screen capture on this endpoint"
			off[KindScreenshot] = off[KindScreen]
		}
	}
	for _, g := range groups {
		for _, k := range cfg.Privacy.DisabledKinds[g] {
			if _, ok := off[k]; !ok {
				off[k] = fmt.Sprintf("disabled for members of group %q", g)
			}
		}
	}
	var out []Withheld
	drop := func(kind string, asked bool, remove func()) {
		if reason, ok := off[kind]; ok && asked {
			out = append(out, Withheld{Kind: kind, Reason: reason})
			remove()
		}
	}
	drop(KindScreen, spec.Video != nil, func() { spec.Video = nil })
	drop(KindScreenshot, spec.Screenshot, func() { spec.Screenshot = false })
	drop(KindKeystrokes, spec.Keystrokes != nil, func() { spec.Keystrokes = nil })
	drop(KindClipboard, spec.Clipboard != nil, func() { spec.Clipboard = nil })
	drop(KindTerminal, spec.Terminal != nil, func() { spec.Terminal = nil })
	return out
}

// rolls returns the longest pre-roll and post-roll of a spec.
func rolls(s policies.EvidenceSpec) (before, after time.Duration) {
	for _, w := range []*policies.RollWindow{s.Video, s.Keystrokes, s.Clipboard, s.Terminal} {
		if w != nil {
			before = max(before, w.Before.D())
			after = max(after, w.After.D())
		}
	}
	return before, after
}

// inWindow reports whether t falls within w around t0.
func inWindow(w *policies.RollWindow, t0, end, t time.Time) bool {
	if w == nil {
		return false
	}
	return !t.Before(t0.Add(-w.Before.D())) && !t.After(minTime(t0.Add(w.After.D()), end))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// screenshot takes a full-resolution PNG of the screen, blank when a
// blocked application has focus.
func (r *Recorder) screenshot() ([]byte, error) {
	if r.grabber == nil {
		return nil, errors.New("no screen capture on this endpoint")
	}
	r.grabMu.Lock()
	p, err := r.grabLocked()
	var img *image.RGBA
	if err == nil {
		img = p.RGBA() // a copy: the grabber's pixels are reused by the next grab
	}
	r.grabMu.Unlock()
	if err != nil {
		return nil, err
	}
	if r.buf.FocusBlocked() {
		draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{R: 40, G: 40, B: 40, A: 255}), image.Point{}, draw.Src)
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("encode screenshot: %w", err)
	}
	return b.Bytes(), nil
}

// write writes the package into a temporary directory in the spool and
// renames it into place, so the spool never holds half a package.
func (r *Recorder) write(dir string, m *Manifest, spec policies.EvidenceSpec, t0, end time.Time, mat material, shot []byte) error {
	tmp, err := os.MkdirTemp(r.spool, ".tmp-"+m.AlertID+"-")
	if err != nil {
		return fmt.Errorf("write evidence package %s: %w", m.AlertID, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()
	w := &pkgWriter{dir: tmp}
	sort.SliceStable(mat.keys, func(i, j int) bool { return mat.keys[i].Time.Before(mat.keys[j].Time) })
	sort.SliceStable(mat.clips, func(i, j int) bool { return mat.clips[i].Time.Before(mat.clips[j].Time) })
	sort.SliceStable(mat.terms, func(i, j int) bool { return mat.terms[i].Time.Before(mat.terms[j].Time) })
	if spec.Video != nil {
		from, to := t0.Add(-spec.Video.Before.D()), minTime(t0.Add(spec.Video.After.D()), end)
		var frames []Frame
		for _, f := range mat.frames {
			if !f.Until.Before(from) && !f.Time.After(to) {
				frames = append(frames, f)
			}
		}
		if err := w.writeFrames(m, frames); err != nil {
			return fmt.Errorf("write evidence package %s: %w", m.AlertID, err)
		}
	}
	if shot != nil {
		if err := w.write(ScreenshotFile, shot); err != nil {
			return fmt.Errorf("write evidence package %s: %w", m.AlertID, err)
		}
	}
	if spec.Keystrokes != nil {
		var keys []Keystroke
		for _, k := range mat.keys {
			if inWindow(spec.Keystrokes, t0, end, k.Time) {
				keys = append(keys, k)
			}
		}
		if err := w.writeJSONL(KeystrokesFile, len(keys), func(i int) any { return keys[i] }); err != nil {
			return fmt.Errorf("write evidence package %s: %w", m.AlertID, err)
		}
	}
	if spec.Clipboard != nil {
		var clips []ClipboardEntry
		for _, c := range mat.clips {
			if inWindow(spec.Clipboard, t0, end, c.Time) {
				clips = append(clips, c)
			}
		}
		if err := w.writeJSONL(ClipboardFile, len(clips), func(i int) any { return clips[i] }); err != nil {
			return fmt.Errorf("write evidence package %s: %w", m.AlertID, err)
		}
	}
	if spec.Terminal != nil {
		var recs []TerminalRecord
		for _, t := range mat.terms {
			if inWindow(spec.Terminal, t0, end, t.Time) {
				recs = append(recs, t)
			}
		}
		if err := w.writeCasts(m, recs, mat.sessions); err != nil {
			return fmt.Errorf("write evidence package %s: %w", m.AlertID, err)
		}
	}
	if err := w.seal(m, r.key); err != nil {
		return fmt.Errorf("write evidence package %s: %w", m.AlertID, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("write evidence package %s: move into spool: %w", m.AlertID, err)
	}
	ok = true
	return nil
}
