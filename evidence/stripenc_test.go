package evidence

import (
	"image"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence/screen"
)

// referenceSegment is what image/jpeg writes for rows y0 to y1 of p: the
// pixels converted to an *image.RGBA and encoded, the entropy-coded
// segment cut out of the file (the path frames took before the stripe
// encoder).
func referenceSegment(t testing.TB, p screen.Pixels, y0, y1, quality int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, p.Width, y1-y0))
	sub := p
	sub.Pix = p.Pix[y0*p.Stride:]
	sub.Height = y1 - y0
	sub.ConvertRows(img.Pix, img.Stride, 0, y1-y0)
	var buf flushBuffer
	_, _, seg, err := encodeStripe(&buf, img, quality)
	require.NoError(t, err)
	return seg
}

// pattern names a kind of picture the differential test encodes.
type pattern int

const (
	patNoise    pattern = iota // every byte random
	patGradient                // smooth ramps in each channel
	patText                    // dark glyph-like dots and bars on a light background
	patSolid                   // one colour
	patExtremes                // every channel 0 or 255, so pure red and blue too
	patChecker                 // black and white pixels alternating: the largest AC coefficients
	patBlueRed                 // pure blue and pure red, where Cb and Cr clamp
	nPatterns
)

func (p pattern) String() string {
	return [...]string{"noise", "gradient", "text", "solid", "extremes", "checker", "blue-red"}[p]
}

// patternPixels draws w x h pixels of pattern pat in format f, rows pad
// bytes longer than the width, the unused fourth byte of each pixel
// random (neither encoder may read it).
func patternPixels(pat pattern, w, h, pad int, f screen.Format, seed uint64) screen.Pixels {
	r := rand.New(rand.NewPCG(seed, uint64(pat)))
	stride := 4*w + pad
	pix := make([]byte, stride*h)
	ri, _, bi := 0, 1, 2
	if f == screen.FormatBGRX {
		ri, bi = 2, 0
	}
	solid := [3]byte{byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256))}
	for y := range h {
		for x := range w {
			var c [3]byte
			switch pat {
			case patNoise:
				c = [3]byte{byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256))}
			case patGradient:
				c = [3]byte{byte(x * 255 / max(w-1, 1)), byte(y * 255 / max(h-1, 1)), byte((x + y) * 4)}
			case patText:
				c = [3]byte{0xfa, 0xfa, 0xf0}
				if r.UintN(5) == 0 || x%9 == 0 && y%4 != 3 {
					c = [3]byte{0x20, 0x20, 0x28}
				}
			case patSolid:
				c = solid
			case patExtremes:
				c = [3]byte{byte(r.UintN(2)) * 255, byte(r.UintN(2)) * 255, byte(r.UintN(2)) * 255}
			case patChecker:
				v := byte((x + y) % 2 * 255)
				c = [3]byte{v, v, v}
			case patBlueRed:
				c = [3]byte{0, 0, 255}
				if (x/3+y/2)%2 == 0 {
					c = [3]byte{255, 0, 0}
				}
			}
			o := y*stride + 4*x
			pix[o+ri], pix[o+1], pix[o+bi], pix[o+3] = c[0], c[1], c[2], byte(r.UintN(256))
		}
	}
	return screen.Pixels{Pix: pix, Stride: stride, Width: w, Height: h, Format: f}
}

// TestStripeEncoderMatchesImageJPEG encodes many stripes with the stripe
// encoder and with image/jpeg and requires the same bytes: every width
// from 1 to 67 and 1920, every stripe height from 1 to 16, every quality
// from 1 to 100 (and the default), both pixel layouts with and without
// padded rows, and pictures from noise to solid colours, including a
// stripe in the middle and at the short end of a taller frame.
func TestStripeEncoderMatchesImageJPEG(t *testing.T) {
	widths := make([]int, 0, 68)
	for w := 1; w <= 67; w++ {
		widths = append(widths, w)
	}
	widths = append(widths, 1920)
	encoders := map[int]*stripeEncoder{}
	enc := func(q int) *stripeEncoder {
		if encoders[q] == nil {
			e, err := newStripeEncoder(q)
			require.NoError(t, err)
			encoders[q] = e
		}
		return encoders[q]
	}
	n := 0
	check := func(p screen.Pixels, y0, y1, q int, what string) {
		t.Helper()
		got := enc(q).encode(p, y0, y1)
		want := referenceSegment(t, p, y0, y1, q)
		require.Equal(t, want, got, "%s: %dx%d rows %d-%d %v quality %d", what, p.Width, p.Height, y0, y1, p.Format, q)
		require.Equal(t, len(got), cap(got), "the segment is kept in the ring: no spare capacity")
		n++
	}
	for _, w := range widths {
		for h := 1; h <= stripeRows; h++ {
			n0 := n
			pat := pattern((w + h) % int(nPatterns))
			q := 1 + (w*16+h)%100
			f := screen.Format(h % 2)
			pad := (w % 3) * 4
			p := patternPixels(pat, w, h, pad, f, uint64(w*100+h))
			check(p, 0, h, q, pat.String())
			if w%7 == 0 {
				check(p, 0, h, DefaultConfig().Screen.Quality, pat.String())
			}
			require.Greater(t, n, n0)
		}
	}
	// Every pattern at every quality, for a full-width stripe and one of
	// odd width, at the default layout of the X11 grabber.
	for pat := range nPatterns {
		wide := patternPixels(pat, 1920, stripeRows, 0, screen.FormatBGRX, 1)
		odd := patternPixels(pat, 37, 11, 8, screen.FormatRGBA, 2)
		for q := 1; q <= 100; q++ {
			if q%5 == 0 || pat == patNoise || pat == patText {
				check(wide, 0, stripeRows, q, pat.String())
			}
			check(odd, 0, 11, q, pat.String())
		}
	}
	// Stripes inside a taller frame: a middle one and the short last one.
	frame := patternPixels(patText, 333, 40, 12, screen.FormatBGRX, 3)
	check(frame, 16, 32, 60, "middle stripe")
	check(frame, 32, 40, 60, "last stripe")
	t.Logf("%d stripes compared", n)
}

// TestStripeEncoderHeader checks that the header the encoder gives a
// striped frame is the one made from an image/jpeg file of the frame's
// width, and that sizes JPEG cannot hold are refused.
func TestStripeEncoderHeader(t *testing.T) {
	for _, tc := range []struct{ w, h, q int }{{1, 1, 1}, {17, 5, 60}, {1920, 1080, 60}, {777, 333, 100}} {
		e, err := newStripeEncoder(tc.q)
		require.NoError(t, err)
		got, err := e.header(tc.w, tc.h)
		require.NoError(t, err)
		var buf flushBuffer
		head, sos, _, err := encodeStripe(&buf, image.NewRGBA(image.Rect(0, 0, tc.w, min(tc.h, stripeRows))), tc.q)
		require.NoError(t, err)
		want, err := makeHeader(head, sos, tc.w, tc.h)
		require.NoError(t, err)
		require.Equal(t, want, got, "%+v", tc)
	}
	e, err := newStripeEncoder(60)
	require.NoError(t, err)
	for _, size := range []image.Point{{0, 10}, {10, 0}, {1 << 16, 10}, {10, 1 << 16}} {
		_, err := e.header(size.X, size.Y)
		require.Error(t, err, "%v", size)
	}
}

// TestQuantiseMatchesDivision checks the reciprocal division against
// image/jpeg's rounded division for every quantiser and every value the
// DCT can produce, and that the test that skips a row of the DCT's output
// as all zeros only ever skips values that quantise to zero (quantising
// is monotonic, so the ends of its interval are enough).
func TestQuantiseMatchesDivision(t *testing.T) {
	div := func(a, b int32) int32 {
		if a >= 0 {
			return (a + b>>1) / b
		}
		return -((-a + b>>1) / b)
	}
	var coef [64]int32
	for q := uint64(1); q <= 255; q++ {
		d := 8 * q
		recip, half := (1<<32+d-1)/d, d/2
		for v := int32(-8191); v <= 8191; v++ {
			mask := quantise(v<<18, recip, half, &coef, 5)
			want := div(v, int32(d))
			if coef[5] != want || (mask != 0) != (want != 0) {
				require.Failf(t, "quantise differs", "%d / %d: got %d (mask %x), want %d", v, d, coef[5], mask, want)
			}
		}
		var qt quantTable
		var qs [64]uint64
		for i := range qs {
			qs[i] = 255
			if i%8 == i/8 {
				qs[i] = q // the smallest of its row
			}
		}
		qt.prepareZeroTest(&qs)
		for row := range 8 {
			bias, span := qt.zeroBias[row], qt.zeroSpan[row]
			require.Equal(t, span&(span-1), uint32(0), "the span is a power of two")
			lo, hi := -int32(bias), int32(span-bias)-1 // the ends of what is skipped
			require.Equal(t, uint32(lo)+bias, uint32(0))
			require.Less(t, uint32(hi)+bias, span)
			require.Greater(t, hi, int32(2*q-1)<<18, "a useful share of the zero interval for q=%d", q)
			for _, x := range []int32{lo, hi} {
				require.Zero(t, quantise(x, recip, half, &coef, 9), "q=%d x=%d", q, x)
			}
		}
	}
}

// FuzzStripeEncoder turns the fuzzer's bytes into a stripe (width,
// height, quality, layout, padding, then the pixels, repeated as needed)
// and requires the encoder to write what image/jpeg writes, also through
// a stripe cache for the stripe, a changed copy of it and the stripe
// again.
func FuzzStripeEncoder(f *testing.F) {
	f.Add([]byte{0, 15, 59, 1, 0, 0x10, 0x80, 0xff})
	f.Add([]byte{66, 0, 0, 0, 3, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0})
	f.Add([]byte{7, 9, 99, 1, 1})
	f.Add([]byte{255, 15, 40, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 251, 252})
	encoders := map[int]*stripeEncoder{}
	f.Fuzz(func(t *testing.T, data []byte) {
		var hdr [5]byte
		copy(hdr[:], data)
		w := 1 + int(hdr[0])%80
		h := 1 + int(hdr[1])%stripeRows
		q := 1 + int(hdr[2])%100
		format := screen.Format(hdr[3] % 2)
		pad := 4 * int(hdr[4]%4)
		fill := data[min(len(data), 5):]
		stride := 4*w + pad
		pix := make([]byte, stride*h)
		if len(fill) > 0 {
			for i := range pix {
				pix[i] = fill[i%len(fill)]
			}
		}
		p := screen.Pixels{Pix: pix, Stride: stride, Width: w, Height: h, Format: format}
		e := encoders[q]
		if e == nil {
			var err error
			e, err = newStripeEncoder(q)
			require.NoError(t, err)
			encoders[q] = e
		}
		require.Equal(t, referenceSegment(t, p, 0, h, q), e.encode(p, 0, h))

		// The same stripe through a cache, then changed where the bytes
		// say (each byte after the header changes the pixel byte at a
		// position it picks, the first byte deciding how many), encoded
		// with the first's cache: the bytes of the changed stripe
		// encoded from scratch.
		var c stripeCache
		require.Equal(t, referenceSegment(t, p, 0, h, q), e.encodeCached(p, 0, h, &c))
		next := clonePixels(p)
		edits := fill[:min(len(fill), int(hdr[0]%16))]
		for i, b := range edits {
			next.Pix[(int(b)*131+i*977)%len(next.Pix)] += b | 1
		}
		require.Equal(t, referenceSegment(t, next, 0, h, q), e.encodeCached(next, 0, h, &c))
		require.Equal(t, referenceSegment(t, p, 0, h, q), e.encodeCached(p, 0, h, &c), "and back")
	})
}

// BenchmarkEncodeStripe encodes one 1920x16 stripe of the synthetic
// desktop's text, in the X11 grabber's BGRX layout, at the default
// quality: with image/jpeg (converted to RGBA first, as frames were
// before the stripe encoder) and with the stripe encoder.
func BenchmarkEncodeStripe(b *testing.B) {
	d := newDesktop(1920, 1080)
	px := bgrxPixels(d.img, 0)
	const y0 = 160 // the text of two windows
	q := DefaultConfig().Screen.Quality
	b.Run("imagejpeg", func(b *testing.B) {
		var s stripeScratch
		var buf flushBuffer
		b.ReportAllocs()
		for b.Loop() {
			img := s.rgba(1920, stripeRows)
			px.ConvertRows(img.Pix, img.Stride, y0, y0+stripeRows)
			if _, _, _, err := encodeStripe(&buf, img, q); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		e, err := newStripeEncoder(q)
		require.NoError(b, err)
		var n int
		b.ReportAllocs()
		for b.Loop() {
			n = len(e.encode(px, y0, y0+stripeRows))
		}
		b.ReportMetric(float64(n), "segment_bytes")
	})
}
