package evidence

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence/screen"
)

// clonePixels returns a copy of p that shares no memory with it.
func clonePixels(p screen.Pixels) screen.Pixels {
	p.Pix = bytes.Clone(p.Pix)
	return p
}

// changeMCUs changes the pixels of a random subset of the MCUs of a
// stripe (each with probability share), in one of several ways, and
// returns how many MCUs it changed. A change may leave an MCU's colours
// as they were (only the unused fourth byte), which must be harmless.
func changeMCUs(r *rand.Rand, p screen.Pixels, share float64) int {
	mcus := (p.Width + 15) / 16
	n := 0
	for m := range mcus {
		if r.Float64() >= share {
			continue
		}
		n++
		x0, x1 := 16*m, min(16*m+16, p.Width)
		switch r.IntN(5) {
		case 0: // one pixel, one channel
			x, y := x0+r.IntN(x1-x0), r.IntN(p.Height)
			p.Pix[y*p.Stride+4*x+r.IntN(3)] ^= byte(1 + r.IntN(255))
		case 1: // the MCU's last column, or the image's
			y := r.IntN(p.Height)
			p.Pix[y*p.Stride+4*(x1-1)+1] += 7
		case 2: // every pixel random
			for y := range p.Height {
				for x := x0; x < x1; x++ {
					o := y*p.Stride + 4*x
					p.Pix[o], p.Pix[o+1], p.Pix[o+2] = byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256))
				}
			}
		case 3: // one colour
			c := [3]byte{byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256))}
			for y := range p.Height {
				for x := x0; x < x1; x++ {
					copy(p.Pix[y*p.Stride+4*x:], c[:])
				}
			}
		case 4: // only the unused byte: the hash changes, the colours do not
			y := r.IntN(p.Height)
			p.Pix[y*p.Stride+4*x0+3] ^= 0xff
		}
	}
	return n
}

// TestStripeCacheMatchesEncode encodes sequences of stripes in which
// random subsets of MCUs change, each with the stripe's cache from the
// one before, and requires every segment to be the bytes of the stripe
// encoded from scratch (which TestStripeEncoderMatchesImageJPEG ties to
// image/jpeg; here image/jpeg is asked too, for some). It covers widths
// that are and are not multiples of 16, full and short (last) stripes,
// both pixel layouts with padded rows, pictures from noise to solid
// colours, alternating pairs of stripes (a window scrolling back and
// forth), and requires that only the changed MCUs were transformed.
func TestStripeCacheMatchesEncode(t *testing.T) {
	e, err := newStripeEncoder(DefaultConfig().Screen.Quality)
	require.NoError(t, err)
	fresh, err := newStripeEncoder(DefaultConfig().Screen.Quality)
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(11, 12))
	compared, reused := 0, 0
	for _, w := range []int{1, 7, 15, 16, 17, 31, 33, 64, 100, 333, 1920} {
		for _, rows := range []int{stripeRows, 1, 7, 11} {
			for pat := range nPatterns {
				f := screen.Format(r.IntN(2))
				pad := 4 * r.IntN(3)
				p := patternPixels(pat, w, rows, pad, f, uint64(w*1000+rows))
				var c stripeCache
				prev := clonePixels(p)
				mcus := (w + 15) / 16
				for step := range 12 {
					var want int
					switch {
					case step == 0:
						want = mcus // empty cache: everything is new
					case step%4 == 3: // back to the stripe before
						p, prev = prev, p
						want = -1 // whatever differs between the two
					default:
						prev = clonePixels(p)
						want = changeMCUs(r, p, []float64{0, 0.05, 0.3, 0.7, 1}[step%5])
					}
					got := e.encodeCached(p, 0, rows, &c)
					require.Equal(t, fresh.encode(p, 0, rows), got, "%s %dx%d %v step %d", pat, w, rows, f, step)
					if want >= 0 {
						require.Equal(t, want, e.fresh, "%s %dx%d step %d: MCUs transformed", pat, w, rows, step)
					}
					if step%5 == 1 {
						require.Equal(t, referenceSegment(t, p, 0, rows, e.quality), got)
					}
					reused += mcus - e.fresh
					compared++
				}
			}
		}
	}
	require.Positive(t, reused)
	t.Logf("%d stripes compared, %d MCUs taken from caches", compared, reused)
}

// TestStripeCacheInvalidation checks that a cache is not used for a
// stripe it was not made for: another quality, width, height or pixel
// layout makes every MCU new, and the segment is still right.
func TestStripeCacheInvalidation(t *testing.T) {
	q60, err := newStripeEncoder(60)
	require.NoError(t, err)
	q80, err := newStripeEncoder(80)
	require.NoError(t, err)
	base := patternPixels(patText, 100, stripeRows, 0, screen.FormatBGRX, 1)
	narrow := patternPixels(patText, 99, stripeRows, 0, screen.FormatBGRX, 1)
	short := base
	short.Height = 11
	rgba := base
	rgba.Format = screen.FormatRGBA
	for _, tc := range []struct {
		name string
		enc  *stripeEncoder
		p    screen.Pixels
		rows int
	}{
		{"same", q60, base, stripeRows},
		{"quality", q80, base, stripeRows},
		{"width", q60, narrow, stripeRows},
		{"height", q60, short, 11},
		{"layout", q60, rgba, stripeRows},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c stripeCache
			q60.encodeCached(base, 0, stripeRows, &c)
			got := tc.enc.encodeCached(tc.p, 0, tc.rows, &c)
			require.Equal(t, referenceSegment(t, tc.p, 0, tc.rows, tc.enc.quality), got)
			if tc.name == "same" {
				require.Zero(t, tc.enc.fresh, "the same stripe again comes from the cache")
			} else {
				require.Equal(t, (tc.p.Width+15)/16, tc.enc.fresh, "nothing is taken from the cache")
			}
		})
	}
}

// TestBuffersPartialStripesMatchWholeFrames records a desktop whose
// largest window scrolls and whose clock ticks, scaled and not, and
// requires every frame's file to be the bytes of the same screen recorded
// alone by fresh buffers (every stripe encoded from scratch).
func TestBuffersPartialStripesMatchWholeFrames(t *testing.T) {
	for _, maxWidth := range []int{0, 500} {
		t.Run(fmt.Sprintf("max_width=%d", maxWidth), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Screen.MaxWidth = maxWidth
			b, err := NewBuffers(cfg, nil)
			require.NoError(t, err)
			d := newDesktop(643, 389)
			t0 := time.Now()
			for s := range 6 {
				if s > 0 {
					d.change(screenScrolled, s)
				}
				px := bgrxPixels(d.img, 8)
				got, err := b.RecordPixels(t0.Add(time.Duration(s)*time.Second), px)
				require.NoError(t, err)
				alone, err := NewBuffers(cfg, nil)
				require.NoError(t, err)
				want, err := alone.RecordPixels(t0, px)
				require.NoError(t, err)
				require.Equal(t, want.JPEG(), got.JPEG(), "second %d", s)
				require.Equal(t, want.SHA256(), got.SHA256())
			}
		})
	}
}

// BenchmarkEncodeStripeScrolled encodes one 1920x16 stripe through the
// scrolling window of the synthetic desktop, alternating between two
// scroll positions as a window scrolling every second does, with and
// without the stripe's cache.
func BenchmarkEncodeStripeScrolled(b *testing.B) {
	d := newDesktop(1920, 1080)
	a := bgrxPixels(d.img, 0)
	d.change(screenScrolled, 1)
	next := bgrxPixels(d.img, 0)
	const y0 = 160
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			e, err := newStripeEncoder(DefaultConfig().Screen.Quality)
			require.NoError(b, err)
			var c *stripeCache
			if cached {
				c = &stripeCache{}
			}
			i, fresh := 0, 0
			b.ReportAllocs()
			for b.Loop() {
				p := a
				if i%2 == 1 {
					p = next
				}
				i++
				e.encodeCached(p, y0, y0+stripeRows, c)
				fresh += e.fresh
			}
			b.ReportMetric(float64(fresh)/float64(i), "fresh_mcus/op")
		})
	}
}

// BenchmarkRecordScrolled records 1920x1080 frames of the synthetic
// desktop whose largest window scrolls (alternating between two scroll
// positions), in the X11 grabber's layout, with the default settings: the
// work of the scrolled screen of BenchmarkBuffering without the grab.
func BenchmarkRecordScrolled(b *testing.B) {
	d := newDesktop(1920, 1080)
	frames := [2]screen.Pixels{bgrxPixels(d.img, 0)}
	d.change(screenScrolled, 1)
	frames[1] = bgrxPixels(d.img, 0)
	buf, err := NewBuffers(DefaultConfig(), nil)
	require.NoError(b, err)
	t0 := time.Now()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := buf.RecordPixels(t0.Add(time.Duration(i)*time.Second), frames[i%2]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	buf.encMu.Lock()
	n := 0
	for k := range buf.scratch.caches {
		n += buf.scratch.caches[k].bytes()
	}
	buf.encMu.Unlock()
	b.ReportMetric(float64(n)/(1<<20), "cache_MiB")
}
