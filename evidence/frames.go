package evidence

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/vigil-itm/vigil/evidence/screen"
)

// scaledSize returns the size of an image of size s scaled down to at most
// maxWidth wide (0 keeps it), keeping the aspect ratio.
func scaledSize(s image.Point, maxWidth int) (int, int) {
	if maxWidth <= 0 || s.X <= maxWidth || s.X == 0 {
		return s.X, s.Y
	}
	h := s.Y * maxWidth / s.X
	if h < 1 {
		h = 1
	}
	return maxWidth, h
}

// encodeFrame scales img down to maxWidth and encodes it as JPEG.
func encodeFrame(img image.Image, maxWidth, quality int) ([]byte, image.Point, error) {
	src := img
	w, h := scaledSize(img.Bounds().Size(), maxWidth)
	if w != img.Bounds().Dx() {
		src = scaleDown(img, w, h)
	}
	var buf bytes.Buffer
	buf.Grow(w * h / 8)
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: quality}); err != nil {
		return nil, image.Point{}, fmt.Errorf("encode %dx%d frame: %w", w, h, err)
	}
	return buf.Bytes(), image.Pt(w, h), nil
}

// scaleDown resizes img to w x h by averaging the source pixels that fall
// into each destination pixel (a box filter), which keeps text legible.
func scaleDown(img image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	scaleRows(dst, screen.FromRGBA(toRGBA(img)), w, h, 0, h)
	return dst
}

// scaleRows writes rows d0 to d1 of src scaled to w x h with the box
// filter of scaleDown into dst, an opaque RGBA image of w x (d1-d0). Only
// the source rows those rows are made from are read.
func scaleRows(dst *image.RGBA, src screen.Pixels, w, h, d0, d1 int) {
	sw, sh := src.Width, src.Height
	ri, gi, bi := src.RGBAOffsets()
	for dy := d0; dy < d1; dy++ {
		y0 := dy * sh / h
		y1 := max((dy+1)*sh/h, y0+1)
		for dx := range w {
			x0 := dx * sw / w
			x1 := max((dx+1)*sw/w, x0+1)
			var r, g, b, n uint32
			for y := y0; y < y1; y++ {
				row := src.Row(y)
				for off := x0 * 4; off < x1*4; off += 4 {
					r += uint32(row[off+ri])
					g += uint32(row[off+gi])
					b += uint32(row[off+bi])
					n++
				}
			}
			o := dst.PixOffset(dx, dy-d0)
			dst.Pix[o] = byte(r / n)
			dst.Pix[o+1] = byte(g / n)
			dst.Pix[o+2] = byte(b / n)
			dst.Pix[o+3] = 255
		}
	}
}
