// Package screen owns screen capture for evidence: grabbers that return the
// whole desktop (every monitor) as 32-bit pixels in the layout the
// platform delivers them, without copying them where it can. It offers a
// grabber that opens a new display connection per frame
// (github.com/kbinani/screenshot, every platform) and, on Linux, one that
// keeps a single X11 connection and an MIT-SHM segment open and hands out
// the shared segment itself. It must not import any other Vigil package.
package screen

import (
	"errors"
	"fmt"
	"image"
	"runtime"
)

// ErrNotSupported is returned (wrapped) for a backend that does not exist
// on this operating system or display.
var ErrNotSupported = errors.New("screen capture backend not supported")

// Format says in which order the four bytes of a pixel hold its colours.
type Format uint8

const (
	// FormatRGBA is red, green, blue, alpha: the layout of image.RGBA.
	FormatRGBA Format = iota
	// FormatBGRX is blue, green, red and an unused byte: a 24- or 32-bit
	// deep X11 ZPixmap in little-endian byte order.
	FormatBGRX
)

// String names the format.
func (f Format) String() string {
	switch f {
	case FormatRGBA:
		return "RGBA"
	case FormatBGRX:
		return "BGRX"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// Pixels is a screen image as a grabber captured it: Height rows of Width
// four-byte pixels in Format, each row Stride bytes after the one above,
// the first at Pix[0]. Pixels returned by Grab are not a copy: they may be
// the grabber's own buffer (the X11 grabber's shared memory segment), so
// they are valid only until the next Grab or Close of that grabber, and
// must not be modified. Use RGBA for a copy that outlives them.
type Pixels struct {
	// Pix holds the pixels.
	Pix []byte
	// Stride is the distance in bytes between two rows.
	Stride int
	// Width and Height are the image's size in pixels.
	Width, Height int
	// Format is the order of the bytes of a pixel.
	Format Format
}

// FromRGBA returns the pixels of img without copying them; they are valid
// as long as img is not modified.
func FromRGBA(img *image.RGBA) Pixels {
	r := img.Bounds()
	if r.Empty() {
		return Pixels{Format: FormatRGBA}
	}
	off := img.PixOffset(r.Min.X, r.Min.Y)
	return Pixels{Pix: img.Pix[off:], Stride: img.Stride, Width: r.Dx(), Height: r.Dy(), Format: FormatRGBA}
}

// Check reports whether the pixels are consistent: a known format, a
// stride that holds a row, and Pix long enough for every row.
func (p Pixels) Check() error {
	switch {
	case p.Format != FormatRGBA && p.Format != FormatBGRX:
		return fmt.Errorf("screen pixels: unknown format %v", p.Format)
	case p.Width < 0 || p.Height < 0:
		return fmt.Errorf("screen pixels: negative size %dx%d", p.Width, p.Height)
	case p.Width == 0 || p.Height == 0:
		return nil
	case p.Stride < p.Width*4:
		return fmt.Errorf("screen pixels: stride %d too short for %d pixels", p.Stride, p.Width)
	case len(p.Pix) < (p.Height-1)*p.Stride+p.Width*4:
		return fmt.Errorf("screen pixels: %d bytes for %dx%d with stride %d", len(p.Pix), p.Width, p.Height, p.Stride)
	}
	return nil
}

// Bounds returns the image's rectangle, at the origin.
func (p Pixels) Bounds() image.Rectangle { return image.Rect(0, 0, p.Width, p.Height) }

// Row returns the bytes of row y.
func (p Pixels) Row(y int) []byte {
	o := y * p.Stride
	return p.Pix[o : o+p.Width*4 : o+p.Width*4]
}

// Rows returns rows y0 to y1 as one slice when they lie next to each other
// in memory (the stride is the width), else nil.
func (p Pixels) Rows(y0, y1 int) []byte {
	if p.Stride != p.Width*4 || y1 <= y0 {
		return nil
	}
	return p.Pix[y0*p.Stride : y1*p.Stride : y1*p.Stride]
}

// RGBAOffsets returns where red, green and blue are in a pixel of this
// format.
func (p Pixels) RGBAOffsets() (r, g, b int) {
	if p.Format == FormatBGRX {
		return 2, 1, 0
	}
	return 0, 1, 2
}

// ConvertRows writes rows y0 to y1 of p as opaque RGBA into dst, which
// holds at least y1-y0 rows of Width pixels dstStride bytes apart.
func (p Pixels) ConvertRows(dst []byte, dstStride, y0, y1 int) {
	n := p.Width * 4
	for y := y0; y < y1; y++ {
		d := dst[(y-y0)*dstStride : (y-y0)*dstStride+n]
		s := p.Row(y)
		if p.Format == FormatBGRX {
			bgrxToRGBA(d, s)
			continue
		}
		copy(d, s)
		for i := 3; i < n; i += 4 {
			d[i] = 255
		}
	}
}

// RGBA returns a copy of the pixels as an opaque *image.RGBA.
func (p Pixels) RGBA() *image.RGBA {
	img := image.NewRGBA(p.Bounds())
	p.ConvertRows(img.Pix, img.Stride, 0, p.Height)
	return img
}

// bgrxToRGBA converts 32-bit little-endian X pixels to opaque RGBA.
func bgrxToRGBA(dst, src []byte) {
	for i := 0; i+3 < len(src); i += 4 {
		d := dst[i : i+4 : i+4]
		s := src[i : i+4 : i+4]
		d[0], d[1], d[2], d[3] = s[2], s[1], s[0], 255
	}
}

// Grabber takes screenshots of the whole desktop. It is not safe for
// concurrent use: one goroutine at a time calls Grab and reads what it
// returned.
type Grabber interface {
	// Grab captures the current screen. The pixels may be the grabber's
	// own buffer: they are valid until the next Grab or Close.
	Grab() (Pixels, error)
	// Name says which mechanism the grabber uses.
	Name() string
	// Close releases the grabber's resources.
	Close() error
}

// New builds the grabber for a backend: "x11" (one X connection kept
// open, MIT-SHM when the server offers it; Linux only), "screenshot" (a
// connection per frame; every platform) or "auto" (x11 where it works,
// else screenshot).
func New(backend string) (Grabber, error) {
	switch backend {
	case "x11":
		return NewX11("")
	case "screenshot":
		return NewPerCall()
	case "auto", "":
		if runtime.GOOS == "linux" {
			if g, err := NewX11(""); err == nil {
				return g, nil
			}
		}
		return NewPerCall()
	}
	return nil, fmt.Errorf("screen backend %q: %w", backend, ErrNotSupported)
}
