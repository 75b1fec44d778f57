package evidence

import (
	"bytes"
	"encoding/hex"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence/screen"
	"github.com/vigil-itm/vigil/internal/xvfb"
)

// decodeYCbCr decodes a JPEG that image/jpeg writes for colour images.
func decodeYCbCr(t *testing.T, data []byte) *image.YCbCr {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	y, ok := img.(*image.YCbCr)
	require.True(t, ok, "decoded %T", img)
	return y
}

func TestStripedFrameDecodesAsWholeFrame(t *testing.T) {
	tests := []struct {
		name     string
		w, h     int
		maxWidth int
		quality  int
	}{
		{"small", 64, 48, 0, 60},
		{"odd size", 333, 97, 0, 60},
		{"one row", 17, 1, 0, 90},
		{"one column", 1, 37, 0, 60},
		{"1080p", 1920, 1080, 0, 60},
		{"scaled down", 640, 480, 320, 75},
		{"scaled to odd height", 1000, 333, 777, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Screen.MaxWidth, cfg.Screen.Quality = tc.maxWidth, tc.quality
			b, err := NewBuffers(cfg, nil)
			require.NoError(t, err)
			img := noiseImage(tc.w, tc.h, 3)
			f, err := b.RecordFrame(time.Now(), img)
			require.NoError(t, err)
			data := f.JPEG()
			require.Len(t, data, f.size)
			sum := f.SHA256()
			require.Equal(t, sha256Hex(data), hex.EncodeToString(sum[:]))
			whole, size, err := encodeFrame(img, tc.maxWidth, tc.quality)
			require.NoError(t, err)
			require.Equal(t, image.Pt(f.Width, f.Height), size)
			got, want := decodeYCbCr(t, data), decodeYCbCr(t, whole)
			require.Equal(t, want.Rect, got.Rect)
			require.Equal(t, want.SubsampleRatio, got.SubsampleRatio)
			require.True(t, bytes.Equal(want.Y, got.Y), "luma differs from the frame encoded whole")
			require.True(t, bytes.Equal(want.Cb, got.Cb) && bytes.Equal(want.Cr, got.Cr), "chroma differs from the frame encoded whole")
			var buf bytes.Buffer
			require.NoError(t, f.WriteJPEG(&buf))
			require.Equal(t, data, buf.Bytes())
		})
	}
}

// TestStripedFrameDecodesWithFFmpeg checks that another decoder (libavcodec,
// which renders the export video) reads striped frames with their restart
// markers and sees the same picture.
func TestStripedFrameDecodesWithFFmpeg(t *testing.T) {
	xvfb.NeedCommand(t, "ffmpeg", "ffmpeg")
	b, err := NewBuffers(DefaultConfig(), nil)
	require.NoError(t, err)
	d := newDesktop(800, 600)
	_, err = b.RecordFrame(time.Now(), d.img)
	require.NoError(t, err)
	d.tick(7)
	f, err := b.RecordFrame(time.Now().Add(time.Second), d.img)
	require.NoError(t, err)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "frame.jpg"), filepath.Join(dir, "frame.png")
	require.NoError(t, os.WriteFile(in, f.JPEG(), 0o600))
	res, err := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", in, "-frames:v", "1", out).CombinedOutput()
	require.NoError(t, err, "ffmpeg: %s", res)
	require.Empty(t, bytes.TrimSpace(res), "ffmpeg reported problems")
	png, err := os.ReadFile(out)
	require.NoError(t, err)
	img, _, err := image.Decode(bytes.NewReader(png))
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 800, 600), img.Bounds())
	// The clock's text is on the dark task bar: light pixels there.
	for _, p := range []image.Point{{400, 300}, {700, 590}, {10, 10}} {
		require.True(t, near(img, p.X, p.Y, rgbOf(d.img, p.X, p.Y), 40), "pixel %v", p)
	}
}

func rgbOf(img *image.RGBA, x, y int) uint32 {
	o := img.PixOffset(x, y)
	return uint32(img.Pix[o])<<16 | uint32(img.Pix[o+1])<<8 | uint32(img.Pix[o+2])
}

func TestBuffersShareUnchangedStripes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Screen.MaxWidth = 0
	b, err := NewBuffers(cfg, nil)
	require.NoError(t, err)
	t0 := time.Now()
	b.now = func() time.Time { return t0.Add(2 * time.Second) }
	img := noiseImage(640, 480, 1)
	f1, err := b.RecordFrame(t0, img)
	require.NoError(t, err)
	require.Len(t, f1.stripes, 30)
	require.Equal(t, int64(f1.size-len(f1.header)-2-2*29), f1.owned, "the first frame owns every stripe")

	// A small change in rows 100 to 109 touches stripe 6 (rows 96-111).
	for y := 100; y < 110; y++ {
		for x := 300; x < 340; x++ {
			img.Pix[img.PixOffset(x, y)] ^= 0xff
		}
	}
	f2, err := b.RecordFrame(t0.Add(time.Second), img)
	require.NoError(t, err)
	require.NotSame(t, f1, f2)
	require.NotEqual(t, f1.SHA256(), f2.SHA256())
	for k := range f2.stripes {
		if k == 6 {
			require.NotSame(t, f1.stripes[k], f2.stripes[k])
			continue
		}
		require.Same(t, f1.stripes[k], f2.stripes[k], "stripe %d", k)
	}
	require.Equal(t, int64(len(f2.stripes[6].data)), f2.owned)
	require.Equal(t, f1.owned+f2.owned+2*frameOverhead, b.Stats().ScreenBytes)
	got := decodeYCbCr(t, f2.JPEG())
	whole, _, err := encodeFrame(img, 0, cfg.Screen.Quality)
	require.NoError(t, err)
	require.Equal(t, decodeYCbCr(t, whole).Y, got.Y, "the shared stripes and the new one make the new image")

	// When the first frame leaves the ring, the stripes the second one
	// shares stay in memory and are charged to it.
	b.now = func() time.Time { return t0.Add(cfg.Buffer.Duration.D() + 500*time.Millisecond) }
	img.Pix[img.PixOffset(0, 470)] ^= 0xff // stripe 29
	f3, err := b.RecordFrame(t0.Add(2*time.Second), img)
	require.NoError(t, err)
	st := b.Stats()
	require.Equal(t, 2, st.Frames, "the first frame expired")
	var all int64
	for _, s := range f2.stripes {
		all += int64(len(s.data))
	}
	require.Equal(t, all, f2.owned)
	require.Equal(t, int64(len(f3.stripes[29].data)), f3.owned)
	require.Equal(t, f2.owned+f3.owned+2*frameOverhead, st.ScreenBytes)
}

func TestBuffersScreenBoundCountsSharedStripesOnce(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Buffer.ScreenBytes = 200 << 10
	b, err := NewBuffers(cfg, nil)
	require.NoError(t, err)
	t0 := time.Now()
	b.now = func() time.Time { return t0.Add(time.Minute) }
	d := newDesktop(640, 480)
	for i := range 60 {
		d.change(screenClock, i)
		_, err := b.RecordFrame(t0.Add(time.Duration(i)*time.Second), d.img)
		require.NoError(t, err)
	}
	st := b.Stats()
	require.LessOrEqual(t, st.ScreenBytes, cfg.Buffer.ScreenBytes)
	// The bytes charged are exactly the distinct stripes held, plus the
	// per-frame overhead.
	b.mu.Lock()
	seen := map[*stripe]bool{}
	var distinct int64
	for _, f := range b.frames.items {
		for _, s := range f.stripes {
			if !seen[s] {
				seen[s] = true
				distinct += int64(len(s.data))
			}
		}
	}
	n := int64(len(b.frames.items))
	b.mu.Unlock()
	require.Equal(t, distinct+n*frameOverhead, st.ScreenBytes)
	require.Greater(t, st.Frames, 30, "a clock-only change costs a few stripes, so most of the minute fits")
}

// bgrxPixels returns img's pixels as an X server's shared segment holds
// them (blue, green, red, unused), rows pad bytes apart beyond the width.
func bgrxPixels(img *image.RGBA, pad int) screen.Pixels {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	stride := w*4 + pad
	pix := make([]byte, stride*h)
	for y := range h {
		for x := range w {
			s := img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y+y)
			d := y*stride + 4*x
			pix[d], pix[d+1], pix[d+2], pix[d+3] = img.Pix[s+2], img.Pix[s+1], img.Pix[s], 0x5a
		}
	}
	return screen.Pixels{Pix: pix, Stride: stride, Width: w, Height: h, Format: screen.FormatBGRX}
}

// TestRecordPixelsInGrabberLayout checks that a frame recorded from the
// grabber's own pixels (BGRX, in place, rows padded or not) is the same
// JPEG file, byte for byte, as the frame recorded from the RGBA image of
// the same screen, whole or scaled, and that a change of one stripe in
// the BGRX pixels re-encodes that stripe only.
func TestRecordPixelsInGrabberLayout(t *testing.T) {
	tests := []struct {
		name     string
		w, h     int
		maxWidth int
		pad      int
	}{
		{"packed", 320, 200, 0, 0},
		{"padded rows", 333, 97, 0, 12},
		{"scaled", 640, 480, 320, 0},
		{"scaled, padded", 1000, 333, 777, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Screen.MaxWidth = tc.maxWidth
			fromRGBA, err := NewBuffers(cfg, nil)
			require.NoError(t, err)
			fromBGRX, err := NewBuffers(cfg, nil)
			require.NoError(t, err)
			img := noiseImage(tc.w, tc.h, 5)
			t0 := time.Now()
			want, err := fromRGBA.RecordFrame(t0, img)
			require.NoError(t, err)
			px := bgrxPixels(img, tc.pad)
			got, err := fromBGRX.RecordPixels(t0, px)
			require.NoError(t, err)
			require.Equal(t, want.SHA256(), got.SHA256())
			require.Equal(t, want.JPEG(), got.JPEG())

			// Change a pixel of stripe 2 (rows 32 to 47) where the grabber
			// keeps it.
			px.Pix[40*px.Stride+4] ^= 0xff // pixel 1, blue
			img.Pix[img.PixOffset(1, 40)+2] ^= 0xff
			want2, err := fromRGBA.RecordFrame(t0.Add(time.Second), img)
			require.NoError(t, err)
			got2, err := fromBGRX.RecordPixels(t0.Add(time.Second), px)
			require.NoError(t, err)
			require.NotSame(t, got, got2)
			require.Equal(t, want2.SHA256(), got2.SHA256())
			changed := 0
			for k := range got2.stripes {
				if got2.stripes[k] != got.stripes[k] {
					changed++
				}
			}
			require.Equal(t, 1, changed, "only the stripe with the change is encoded again")

			// The same pixels again only extend the frame.
			got3, err := fromBGRX.RecordPixels(t0.Add(2*time.Second), px)
			require.NoError(t, err)
			require.Same(t, got2, got3)
		})
	}
}

func TestRecordPixelsRejectsInconsistentPixels(t *testing.T) {
	b, err := NewBuffers(DefaultConfig(), nil)
	require.NoError(t, err)
	_, err = b.RecordPixels(time.Now(), screen.Pixels{Pix: make([]byte, 100), Stride: 40, Width: 10, Height: 10, Format: screen.FormatBGRX})
	require.Error(t, err)
	_, err = b.RecordPixels(time.Now(), screen.Pixels{Format: screen.FormatBGRX})
	require.Error(t, err)
	require.Zero(t, b.Stats().Frames)
}
