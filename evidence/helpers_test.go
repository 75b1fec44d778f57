package evidence

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/evidence/screen"
	"github.com/vigil-itm/vigil/policies"
)

func TestMain(m *testing.M) {
	if activity := os.Getenv(painterEnv); activity != "" {
		os.Exit(runPainter(activity, os.Stdin, os.Stdout)) // a benchmark's painter process
	}
	goleak.VerifyTestMain(m)
}

// testImage returns a w x h image with a pattern that depends on seed, so
// that different seeds give different frames.
func testImage(w, h, seed int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := byte((x*7 + y*3 + seed*50) % 256)
			img.SetRGBA(x, y, color.RGBA{R: v, G: byte(seed * 40), B: 255 - v, A: 255})
		}
	}
	return img
}

// noiseImage returns a w x h image of random pixels, which compresses
// badly, as a busy screen does.
func noiseImage(w, h, seed int) *image.RGBA {
	r := rand.New(rand.NewPCG(uint64(seed), 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i+8 <= len(img.Pix); i += 8 {
		binary.LittleEndian.PutUint64(img.Pix[i:], r.Uint64())
	}
	return img
}

// seqGrabber returns images from a function of a counter; it stands in
// for the screen in tests that are not about the screen itself.
type seqGrabber struct {
	mu   sync.Mutex
	n    int
	next func(n int) *image.RGBA
}

func (g *seqGrabber) Grab() (screen.Pixels, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return screen.FromRGBA(g.next(g.n)), nil
}

func (*seqGrabber) Name() string { return "test" }
func (*seqGrabber) Close() error { return nil }
func (g *seqGrabber) count() int { g.mu.Lock(); defer g.mu.Unlock(); return g.n }

func testConfig() Config {
	c := DefaultConfig()
	c.Screen.Interval = policies.Duration(100 * time.Millisecond)
	c.Screen.PostRollInterval = policies.Duration(50 * time.Millisecond)
	c.Screen.MaxWidth = 0
	return c
}

func roll(before, after time.Duration) *policies.RollWindow {
	return &policies.RollWindow{Before: policies.Duration(before), After: policies.Duration(after)}
}

// fixture is a buffers + recorder pair writing into a temporary spool.
type fixture struct {
	buf   *Buffers
	rec   *Recorder
	key   ed25519.PrivateKey
	spool string
}

func newFixture(t testing.TB, cfg Config, g Grabber) *fixture {
	t.Helper()
	require.NoError(t, cfg.Validate())
	buf, err := NewBuffers(cfg, nil)
	require.NoError(t, err)
	key, err := GenerateKey()
	require.NoError(t, err)
	spool := t.TempDir()
	rec, err := NewRecorder(RecorderOptions{Buffers: buf, Grabber: g, Key: key, SpoolDir: spool})
	require.NoError(t, err)
	return &fixture{buf: buf, rec: rec, key: key, spool: spool}
}

// run starts the recorder's screen loop until the test ends.
func (f *fixture) run(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.rec.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// samplePackage writes a package with every kind of material through the
// real capture path, with synthetic frames, and returns its directory.
func samplePackage(t testing.TB) (*fixture, string) {
	t.Helper()
	g := &seqGrabber{next: func(n int) *image.RGBA { return testImage(64, 48, n/3) }}
	f := newFixture(t, testConfig(), g)
	base := time.Now().Add(-2 * time.Second)
	for i := range 6 {
		ts := base.Add(time.Duration(i) * 200 * time.Millisecond)
		_, err := f.buf.RecordFrame(ts, testImage(64, 48, i))
		require.NoError(t, err)
		f.buf.RecordKeystroke(Keystroke{Time: ts, Window: "Terminal", App: "xterm", Text: "typed " + string(rune('a'+i))})
		f.buf.RecordClipboard(ClipboardEntry{Time: ts, Operation: "copy", Format: "text", Length: 5, Text: "hello"})
	}
	f.buf.RecordTerminal(TerminalRecord{Session: "s1", Time: base, Kind: TerminalStart, Width: 100, Height: 30, Shell: "/bin/bash", User: "jdoe", TTY: "pts/1"})
	f.buf.RecordTerminal(TerminalRecord{Session: "s1", Time: base.Add(time.Second), Kind: TerminalOutput, Data: "$ "})
	f.buf.RecordTerminal(TerminalRecord{Session: "s1", Time: base.Add(1100 * time.Millisecond), Kind: TerminalInput, Data: "ls\r"})
	res, err := f.rec.Capture(context.Background(), Request{
		AlertID: "alert-1", Time: base.Add(time.Second), RuleIDs: []string{"usb-mass-copy"}, Severity: "high",
		BundleName: "library", BundleRevision: "r1", Host: "ws-042", User: "jdoe",
		Spec: policies.EvidenceSpec{Screenshot: true, Video: roll(time.Second, 500*time.Millisecond),
			Keystrokes: roll(time.Second, 500*time.Millisecond), Clipboard: roll(time.Second, 0), Terminal: roll(time.Second, 500*time.Millisecond)},
	})
	require.NoError(t, err)
	return f, res.Dir
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// copyDir copies a package directory so that a test can tamper with it.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	return dst
}
