package screen

import (
	"image"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBGRXToRGBA(t *testing.T) {
	tests := []struct {
		name     string
		src, out []byte
	}{
		{"one pixel", []byte{1, 2, 3, 0}, []byte{3, 2, 1, 255}},
		{"two pixels", []byte{1, 2, 3, 9, 4, 5, 6, 9}, []byte{3, 2, 1, 255, 6, 5, 4, 255}},
		{"three pixels", []byte{0xff, 0, 0x80, 0xee, 1, 2, 3, 4, 10, 20, 30, 40}, []byte{0x80, 0, 0xff, 255, 3, 2, 1, 255, 30, 20, 10, 255}},
		{"empty", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, len(tc.src))
			bgrxToRGBA(dst, tc.src)
			require.Equal(t, len(tc.out), len(dst))
			if len(dst) > 0 {
				require.Equal(t, tc.out, dst)
			}
		})
	}
}

// bgrxOf returns img's pixels as an X server lays them out, with pad
// bytes of 0x77 after each row.
func bgrxOf(img *image.RGBA, pad int) Pixels {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	stride := w*4 + pad
	pix := make([]byte, stride*h)
	for i := range pix {
		pix[i] = 0x77
	}
	for y := range h {
		for x := range w {
			s := img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y+y)
			d := y*stride + 4*x
			pix[d], pix[d+1], pix[d+2], pix[d+3] = img.Pix[s+2], img.Pix[s+1], img.Pix[s], 0
		}
	}
	return Pixels{Pix: pix, Stride: stride, Width: w, Height: h, Format: FormatBGRX}
}

func testRGBA(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i*7 + i/5)
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	return img
}

func TestPixelsConvertToRGBA(t *testing.T) {
	whole := testRGBA(13, 9)
	sub := whole.SubImage(image.Rect(2, 3, 11, 8)).(*image.RGBA)
	want := image.NewRGBA(image.Rect(0, 0, 9, 5))
	for y := range 5 {
		copy(want.Pix[y*want.Stride:(y+1)*want.Stride], sub.Pix[sub.PixOffset(2, 3+y):])
	}
	tests := []struct {
		name       string
		p          Pixels
		contiguous bool
	}{
		{"RGBA whole", FromRGBA(whole.SubImage(whole.Rect).(*image.RGBA)), true},
		{"RGBA sub-image", FromRGBA(sub), false},
		{"BGRX packed", bgrxOf(sub, 0), true},
		{"BGRX padded rows", bgrxOf(sub, 8), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.p.Check())
			got := tc.p.RGBA()
			require.Equal(t, image.Rect(0, 0, tc.p.Width, tc.p.Height), got.Rect)
			if tc.p.Width == 9 {
				require.Equal(t, want.Pix, got.Pix)
			} else {
				require.Equal(t, whole.Pix, got.Pix)
			}
			require.Equal(t, tc.contiguous, tc.p.Rows(1, 3) != nil)
			r, g, b := tc.p.RGBAOffsets()
			px := tc.p.Row(2)[4*3:]
			o := got.PixOffset(3, 2)
			require.Equal(t, got.Pix[o:o+3], []byte{px[r], px[g], px[b]})
		})
	}
}

func TestPixelsCheck(t *testing.T) {
	tests := []struct {
		name string
		p    Pixels
		bad  bool
	}{
		{"fine", Pixels{Pix: make([]byte, 32), Stride: 8, Width: 2, Height: 4}, false},
		{"last row without padding", Pixels{Pix: make([]byte, 16*2+8), Stride: 16, Width: 2, Height: 3, Format: FormatBGRX}, false},
		{"empty", Pixels{}, false},
		{"short", Pixels{Pix: make([]byte, 31), Stride: 8, Width: 2, Height: 4}, true},
		{"stride too small", Pixels{Pix: make([]byte, 64), Stride: 4, Width: 2, Height: 4}, true},
		{"negative", Pixels{Width: -1, Height: 2}, true},
		{"unknown format", Pixels{Pix: make([]byte, 4), Stride: 4, Width: 1, Height: 1, Format: 9}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bad {
				require.Error(t, tc.p.Check())
			} else {
				require.NoError(t, tc.p.Check())
			}
		})
	}
}

func BenchmarkBGRXToRGBA(b *testing.B) {
	src := make([]byte, 1920*1080*4)
	dst := make([]byte, len(src))
	for i := range src {
		src[i] = byte(i)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		bgrxToRGBA(dst, src)
	}
}
