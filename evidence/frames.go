package evidence

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
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
	return scaleRows(toRGBA(img), w, h, 0, h)
}

// scaleRows returns rows d0 to d1 of src scaled to w x h with the box
// filter of scaleDown, as an image of w x (d1-d0).
func scaleRows(src *image.RGBA, w, h, d0, d1 int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, d1-d0))
	sb := src.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	for dy := d0; dy < d1; dy++ {
		y0 := sb.Min.Y + dy*sh/h
		y1 := max(sb.Min.Y+(dy+1)*sh/h, y0+1)
		for dx := range w {
			x0 := sb.Min.X + dx*sw/w
			x1 := max(sb.Min.X+(dx+1)*sw/w, x0+1)
			var r, g, b, n uint32
			for y := y0; y < y1; y++ {
				off := src.PixOffset(x0, y)
				for x := x0; x < x1; x++ {
					r += uint32(src.Pix[off])
					g += uint32(src.Pix[off+1])
					b += uint32(src.Pix[off+2])
					off += 4
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
	return dst
}
