package evidence

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence/screen"
	"github.com/vigil-itm/vigil/policies"
)

// reuseGrabber hands out one buffer of BGRX pixels that every Grab
// overwrites with the next screen, as the X11 grabber's shared memory
// segment is: whoever still reads the previous pixels during a Grab races
// with it, which the race detector reports.
type reuseGrabber struct {
	mu  sync.Mutex
	n   int
	pix []byte
}

func (g *reuseGrabber) Grab() (screen.Pixels, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	img := testImage(64, 48, g.n%5)
	if g.pix == nil {
		g.pix = make([]byte, 64*48*4)
	}
	for i := 0; i < len(img.Pix); i += 4 {
		g.pix[i], g.pix[i+1], g.pix[i+2], g.pix[i+3] = img.Pix[i+2], img.Pix[i+1], img.Pix[i], 0
	}
	return screen.Pixels{Pix: g.pix, Stride: 64 * 4, Width: 64, Height: 48, Format: screen.FormatBGRX}, nil
}

func (*reuseGrabber) Name() string { return "reuse" }
func (*reuseGrabber) Close() error { return nil }

// TestRecorderDoneWithPixelsBeforeNextGrab records the screen from a
// grabber that reuses its buffer while alerts take screenshots at the
// same time: every package verifies, and every screenshot is one whole
// screen as the grabber drew it, never a mix of two.
func TestRecorderDoneWithPixelsBeforeNextGrab(t *testing.T) {
	cfg := testConfig()
	cfg.Screen.Interval = cfg.Screen.PostRollInterval
	g := &reuseGrabber{}
	f := newFixture(t, cfg, g)
	f.run(t)
	require.Eventually(t, func() bool { return f.buf.Stats().FramesSeen >= 3 }, 10*time.Second, 5*time.Millisecond)

	screens := map[string]int{}
	for s := range 5 {
		var b bytes.Buffer
		require.NoError(t, png.Encode(&b, testImage(64, 48, s)))
		img, err := png.Decode(&b)
		require.NoError(t, err)
		screens[string(img.(*image.RGBA).Pix)] = s
	}
	var wg sync.WaitGroup
	dirs := make([]string, 6)
	errs := make([]error, 6)
	for i := range dirs {
		wg.Go(func() {
			res, err := f.rec.Capture(context.Background(), Request{AlertID: fmt.Sprintf("shot-%d", i), RuleIDs: []string{"r"},
				Spec: policies.EvidenceSpec{Screenshot: true, Video: roll(200*time.Millisecond, 200*time.Millisecond)}})
			dirs[i], errs[i] = res.Dir, err
		})
	}
	wg.Wait()
	for i, dir := range dirs {
		require.NoError(t, errs[i])
		rep, err := Verify(dir, VerifyOptions{AgentKey: publicOf(f.key)})
		require.NoError(t, err)
		require.True(t, rep.OK, "failures: %v", rep.Failures)
		require.Positive(t, rep.Manifest.Frames.Count)
		data, err := os.ReadFile(filepath.Join(dir, ScreenshotFile))
		require.NoError(t, err)
		img, err := png.Decode(bytes.NewReader(data))
		require.NoError(t, err)
		rgba, ok := img.(*image.RGBA)
		require.True(t, ok, "screenshot decodes as %T", img)
		_, whole := screens[string(rgba.Pix)]
		require.True(t, whole, "screenshot %d is one of the grabber's screens", i)
	}
}
