package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence/screen"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/policies"
)

// xwindow is a solid-colour X window a test shows on the Xvfb screen.
type xwindow struct {
	c   *xgb.Conn
	wid xproto.Window
}

func showWindow(t testing.TB, x, y, w, h int, rgb uint32) *xwindow {
	t.Helper()
	c, err := xgb.NewConn()
	require.NoError(t, err)
	scr := xproto.Setup(c).DefaultScreen(c)
	wid, err := xproto.NewWindowId(c)
	require.NoError(t, err)
	require.NoError(t, xproto.CreateWindowChecked(c, scr.RootDepth, wid, scr.Root, int16(x), int16(y), uint16(w), uint16(h), 0,
		xproto.WindowClassInputOutput, scr.RootVisual, xproto.CwBackPixel|xproto.CwOverrideRedirect, []uint32{rgb, 1}).Check())
	require.NoError(t, xproto.MapWindowChecked(c, wid).Check())
	xw := &xwindow{c: c, wid: wid}
	t.Cleanup(xw.close)
	return xw
}

// recolour changes the window's background and repaints it.
func (w *xwindow) recolour(t testing.TB, rgb uint32) {
	require.NoError(t, xproto.ChangeWindowAttributesChecked(w.c, w.wid, xproto.CwBackPixel, []uint32{rgb}).Check())
	require.NoError(t, xproto.ClearAreaChecked(w.c, false, w.wid, 0, 0, 0, 0).Check())
}

func (w *xwindow) close() {
	if w.c != nil {
		_ = xproto.DestroyWindowChecked(w.c, w.wid).Check()
		w.c.Close()
		w.c = nil
	}
}

// near reports whether the decoded pixel at x, y is within tol of rgb in
// every channel (JPEG is lossy).
func near(img image.Image, x, y int, rgb uint32, tol int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	d := func(a uint32, want uint32) bool {
		diff := int(a>>8) - int(want&0xff)
		return diff <= tol && diff >= -tol
	}
	return d(r, rgb>>16) && d(g, rgb>>8) && d(b, rgb)
}

func TestCaptureRealScreen(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("X11 only")
	}
	xvfb.Start(t, 640, 480)
	g, err := screen.NewX11("")
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	cfg := testConfig()
	cfg.Privacy.BlockedApps = []string{"signal"}
	f := newFixture(t, cfg, g)
	const red, blue = 0xd02020, 0x2040e0
	win := showWindow(t, 200, 150, 240, 180, red)
	f.run(t)

	// A static screen is recorded once and then only extended.
	require.Eventually(t, func() bool {
		st := f.buf.Stats()
		return st.FramesDeduped >= 3
	}, 20*time.Second, 20*time.Millisecond)

	t0 := time.Now()
	type out struct {
		res Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := f.rec.Capture(context.Background(), Request{AlertID: "xvfb-1", Time: t0, RuleIDs: []string{"usb-mass-copy"},
			Severity: "medium", BundleName: "library", BundleRevision: "r7", Host: "ws-042", User: "jdoe",
			Spec: policies.EvidenceSpec{Screenshot: true, Video: roll(time.Second, 1500*time.Millisecond), Keystrokes: roll(time.Second, 1500*time.Millisecond)}})
		done <- out{res, err}
	}()
	require.Eventually(t, f.buf.videoActive, 10*time.Second, 5*time.Millisecond)
	win.recolour(t, blue)
	f.buf.RecordKeystroke(Keystroke{Window: "xterm", App: "xterm", Text: "cp -r ~/q3 /media/usb"})
	o := <-done
	require.NoError(t, o.err)

	rep, err := Verify(o.res.Dir, VerifyOptions{AgentKey: publicOf(f.key)})
	require.NoError(t, err)
	require.True(t, rep.OK, "failures: %v", rep.Failures)
	m := rep.Manifest
	require.Equal(t, "x11-shm", m.Capture.Backend)
	require.GreaterOrEqual(t, m.Frames.Count, 2)

	data, err := os.ReadFile(filepath.Join(o.res.Dir, FramesIndexFile))
	require.NoError(t, err)
	entries, err := ParseFrameIndex(data)
	require.NoError(t, err)
	// The frames cover the window: the first one was on screen at its start,
	// and the post-roll recorded the change made after the alert.
	require.False(t, entries[0].Until.Before(m.Window.Start), "first frame reaches into the pre-roll")
	require.True(t, entries[0].T.Before(t0), "a pre-roll frame from before the alert")
	var sawRed, sawBlue bool
	for _, e := range entries {
		jp, err := os.ReadFile(filepath.Join(o.res.Dir, e.File))
		require.NoError(t, err)
		img, err := jpeg.Decode(bytes.NewReader(jp))
		require.NoError(t, err)
		require.Equal(t, image.Rect(0, 0, 640, 480), img.Bounds())
		sawRed = sawRed || near(img, 320, 240, red, 24)
		if near(img, 320, 240, blue, 24) {
			sawBlue = true
			require.True(t, e.T.After(t0), "the blue frame is from the post-roll")
		}
	}
	require.True(t, sawRed, "the pre-roll shows the red window")
	require.True(t, sawBlue, "the post-roll shows the window turned blue")

	// The full-resolution screenshot at the alert.
	shot, err := os.ReadFile(filepath.Join(o.res.Dir, ScreenshotFile))
	require.NoError(t, err)
	simg, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 640, 480), simg.Bounds())

	keys, err := os.ReadFile(filepath.Join(o.res.Dir, KeystrokesFile))
	require.NoError(t, err)
	var k Keystroke
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(keys), &k))
	require.Equal(t, "cp -r ~/q3 /media/usb", k.Text)

	// A blocked application's window is never captured: the frames are blank.
	f.buf.SetFocus("Signal", "Signal - Bob")
	var blank *Frame
	require.Eventually(t, func() bool {
		f.buf.mu.Lock()
		defer f.buf.mu.Unlock()
		last := f.buf.frames.items[len(f.buf.frames.items)-1]
		if last.Blanked {
			blank = last
		}
		return blank != nil
	}, 10*time.Second, 20*time.Millisecond)
	img, err := jpeg.Decode(bytes.NewReader(blank.JPEG()))
	require.NoError(t, err)
	require.False(t, near(img, 320, 240, blue, 24), "the blocked window does not show")
	require.True(t, near(img, 320, 240, 0x282828, 6) && near(img, 10, 10, 0x282828, 6), "the frame is uniformly blank")
}

func BenchmarkRecordFrame(b *testing.B) {
	busy := noiseImage(1920, 1080, 1)
	desk := testImage(1920, 1080, 1)
	for _, bc := range []struct {
		name string
		img  func(i int) *image.RGBA
	}{
		{"screen=unchanged/size=1920x1080", func(int) *image.RGBA { return desk }},
		{"screen=changed/size=1920x1080", func(i int) *image.RGBA {
			desk.Pix[(i*4)%len(desk.Pix)]++
			return desk
		}},
		{"screen=noise/size=1920x1080", func(i int) *image.RGBA {
			busy.Pix[(i*4)%len(busy.Pix)]++
			return busy
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			buf, err := NewBuffers(cfg, nil)
			require.NoError(b, err)
			now := time.Now()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if _, err := buf.RecordFrame(now.Add(time.Duration(i)*time.Second), bc.img(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodeFrame(b *testing.B) {
	img := testImage(1920, 1080, 3)
	for _, bc := range []struct {
		width, quality int
	}{{0, 60}, {1280, 60}, {0, 85}} {
		b.Run("size=1920x1080/max_width="+itoa(bc.width)+"/quality="+itoa(bc.quality), func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				data, _, err := encodeFrame(img, bc.width, bc.quality)
				if err != nil {
					b.Fatal(err)
				}
				n = len(data)
			}
			b.ReportMetric(float64(n), "jpeg_bytes")
		})
	}
}

func BenchmarkRecordKeystroke(b *testing.B) {
	buf, err := NewBuffers(DefaultConfig(), nil)
	require.NoError(b, err)
	k := Keystroke{Window: "Quarterly report - LibreOffice Calc", App: "soffice", Text: "the quick brown fox jumps"}
	b.ReportAllocs()
	for b.Loop() {
		buf.RecordKeystroke(k)
	}
}

// BenchmarkBufferFiveMinutes records five minutes at one frame a second
// of a mostly static 1080p desktop on which a small area (a clock, a
// cursor) changes every frame, and reports the memory the frames take.
func BenchmarkBufferFiveMinutes(b *testing.B) {
	desk := testImage(1920, 1080, 5)
	for b.Loop() {
		buf, err := NewBuffers(DefaultConfig(), nil)
		require.NoError(b, err)
		now := time.Now()
		buf.now = func() time.Time { return now.Add(300 * time.Second) }
		for i := range 300 {
			for y := 1040; y < 1060; y++ {
				for x := 1800; x < 1880; x++ {
					desk.Pix[desk.PixOffset(x, y)] = byte(i * 7)
				}
			}
			if _, err := buf.RecordFrame(now.Add(time.Duration(i)*time.Second), desk); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Stats().ScreenBytes)/(1<<20), "MiB")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
