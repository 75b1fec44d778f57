package screen_test

import (
	"image"
	"runtime"
	"testing"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/evidence/screen"
	"github.com/vigil-itm/vigil/internal/xvfb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// showWindow maps a solid window of colour pixel (0xRRGGBB) at x, y and
// returns a function that removes it.
func showWindow(t testing.TB, x, y, w, h int, pixel uint32) func() {
	t.Helper()
	c, err := xgb.NewConn()
	require.NoError(t, err)
	scr := xproto.Setup(c).DefaultScreen(c)
	wid, err := xproto.NewWindowId(c)
	require.NoError(t, err)
	require.NoError(t, xproto.CreateWindowChecked(c, scr.RootDepth, wid, scr.Root, int16(x), int16(y), uint16(w), uint16(h), 0,
		xproto.WindowClassInputOutput, scr.RootVisual, xproto.CwBackPixel|xproto.CwOverrideRedirect, []uint32{pixel, 1}).Check())
	require.NoError(t, xproto.MapWindowChecked(c, wid).Check())
	return func() {
		_ = xproto.DestroyWindowChecked(c, wid).Check()
		c.Close()
	}
}

// rgbAt reads a pixel where the grabber put it, in its format.
func rgbAt(p screen.Pixels, x, y int) [3]byte {
	r, g, b := p.RGBAOffsets()
	px := p.Row(y)[4*x:]
	return [3]byte{px[r], px[g], px[b]}
}

func TestGrabbersSeeWindow(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("X11 only")
	}
	xvfb.Start(t, 640, 480)
	tests := []struct {
		name   string
		open   func() (screen.Grabber, error)
		want   string
		format screen.Format
	}{
		{"x11", func() (screen.Grabber, error) { return screen.NewX11("") }, "x11-shm", screen.FormatBGRX},
		{"screenshot", func() (screen.Grabber, error) { return screen.NewPerCall() }, "screenshot", screen.FormatRGBA},
		{"auto", func() (screen.Grabber, error) { return screen.New("auto") }, "x11-shm", screen.FormatBGRX},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := tc.open()
			require.NoError(t, err)
			defer g.Close()
			require.Equal(t, tc.want, g.Name())
			img, err := g.Grab()
			require.NoError(t, err)
			require.NoError(t, img.Check())
			require.Equal(t, image.Rect(0, 0, 640, 480), img.Bounds())
			require.Equal(t, tc.format, img.Format)
			colour := [3]byte{byte(40 * (i + 1)), 200, 17}
			remove := showWindow(t, 100, 50, 200, 100, uint32(colour[0])<<16|uint32(colour[1])<<8|uint32(colour[2]))
			defer remove()
			require.Eventually(t, func() bool {
				img, err := g.Grab()
				return err == nil && rgbAt(img, 150, 80) == colour && rgbAt(img, 10, 10) != colour
			}, 10e9, 20e6, "the window's colour appears in the grab")
			// A copy as RGBA keeps the colour whatever the grabber's format.
			img, err = g.Grab()
			require.NoError(t, err)
			rgba := img.RGBA()
			o := rgba.PixOffset(150, 80)
			require.Equal(t, colour[:], rgba.Pix[o:o+3])
			require.Equal(t, byte(255), rgba.Pix[o+3])
		})
	}
}

func TestNewUnknownBackend(t *testing.T) {
	_, err := screen.New("vnc")
	require.ErrorIs(t, err, screen.ErrNotSupported)
}

// BenchmarkGrab compares one 1920x1080 frame with a connection per call
// (kbinani/screenshot) against one X connection kept open with MIT-SHM.
func BenchmarkGrab(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("X11 only")
	}
	xvfb.Start(b, 1920, 1080)
	for _, backend := range []string{"screenshot", "x11"} {
		b.Run("backend="+backend+"/size=1920x1080", func(b *testing.B) {
			g, err := screen.New(backend)
			require.NoError(b, err)
			defer g.Close()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.Grab(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
