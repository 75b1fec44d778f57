package evidence

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"testing"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/stretchr/testify/require"
)

// desktop draws a synthetic but realistic 1080p-class desktop: a flat
// background, a task bar with a clock, and three windows with title bars
// and lines of small glyphs (text compresses in JPEG like real text does,
// which a smooth gradient does not). tick changes only the clock; scroll
// shifts the text of the largest window by that many lines, as a terminal
// or a document being scrolled does.
type desktop struct {
	img    *image.RGBA
	glyphs [96][8]byte
}

func newDesktop(w, h int) *desktop {
	d := &desktop{img: image.NewRGBA(image.Rect(0, 0, w, h))}
	r := rand.New(rand.NewPCG(7, 7))
	for i := range d.glyphs {
		for y := range 8 {
			d.glyphs[i][y] = byte(r.UintN(32))
		}
	}
	fill(d.img, d.img.Bounds(), color.RGBA{R: 0x2e, G: 0x5e, B: 0x6e, A: 255})
	fill(d.img, image.Rect(0, h-32, w, h), color.RGBA{R: 0x22, G: 0x22, B: 0x22, A: 255})
	d.window(image.Rect(60, 40, w*3/5, h*4/5), 0, 1)
	d.window(image.Rect(w*3/5+20, 80, w-40, h/2), 0, 2)
	d.window(image.Rect(w/3, h/2+20, w-80, h-60), 0, 3)
	d.tick(0)
	return d
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// window draws a window at r whose text starts at line first.
func (d *desktop) window(r image.Rectangle, first, seed int) {
	fill(d.img, r, color.RGBA{R: 0xfa, G: 0xfa, B: 0xfa, A: 255})
	fill(d.img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+28), color.RGBA{R: 0x35, G: 0x5c, B: 0xa8, A: 255})
	d.text(image.Pt(r.Min.X+10, r.Min.Y+10), r.Max.X-10, 1, seed*1000, color.RGBA{R: 255, G: 255, B: 255, A: 255})
	for y, line := r.Min.Y+40, first; y+8 < r.Max.Y-6; y, line = y+16, line+1 {
		d.text(image.Pt(r.Min.X+10, y), r.Max.X-10, line, seed*1000+line, color.RGBA{R: 0x20, G: 0x20, B: 0x20, A: 255})
	}
}

// text draws a line of pseudo-words from seed at p, up to maxX.
func (d *desktop) text(p image.Point, maxX, _ int, seed int, c color.RGBA) {
	r := rand.New(rand.NewPCG(uint64(seed), 3))
	x := p.X
	limit := maxX - 8 - int(r.UintN(uint(max(maxX-p.X, 1))/3))
	for x < limit {
		word := 2 + int(r.UintN(9))
		for range word {
			g := d.glyphs[r.UintN(96)]
			for gy := range 8 {
				for gx := range 5 {
					if g[gy]&(1<<gx) != 0 {
						d.img.SetRGBA(x+gx, p.Y+gy, c)
					}
				}
			}
			x += 7
		}
		x += 7
	}
}

// tick redraws the task bar clock for second s.
func (d *desktop) tick(s int) {
	b := d.img.Bounds()
	clock := image.Rect(b.Max.X-110, b.Max.Y-26, b.Max.X-10, b.Max.Y-6)
	fill(d.img, clock, color.RGBA{R: 0x22, G: 0x22, B: 0x22, A: 255})
	d.text(image.Pt(clock.Min.X+4, clock.Min.Y+6), clock.Max.X, 0, 90000+s, color.RGBA{R: 0xee, G: 0xee, B: 0xee, A: 255})
}

// scroll redraws the largest window with its text moved by n lines.
func (d *desktop) scroll(n int) {
	b := d.img.Bounds()
	d.window(image.Rect(60, 40, b.Dx()*3/5, b.Dy()*4/5), n, 1)
}

// xscreen paints a desktop into a window that covers the screen of the X
// server at $DISPLAY, through its own connection.
type xscreen struct {
	c   *xgb.Conn
	wid xproto.Window
	gc  xproto.Gcontext
	scr *xproto.ScreenInfo
}

func newXScreen(b testing.TB) *xscreen {
	b.Helper()
	x, err := openXScreen()
	require.NoError(b, err)
	b.Cleanup(x.c.Close)
	return x
}

// openXScreen connects to $DISPLAY and maps a window over its whole
// screen; the caller closes x.c.
func openXScreen() (*xscreen, error) {
	c, err := xgb.NewConn()
	if err != nil {
		return nil, fmt.Errorf("connect to X: %w", err)
	}
	x, err := mapScreenWindow(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	return x, nil
}

func mapScreenWindow(c *xgb.Conn) (*xscreen, error) {
	scr := xproto.Setup(c).DefaultScreen(c)
	wid, err := xproto.NewWindowId(c)
	if err != nil {
		return nil, fmt.Errorf("new window id: %w", err)
	}
	if err := xproto.CreateWindowChecked(c, scr.RootDepth, wid, scr.Root, 0, 0, scr.WidthInPixels, scr.HeightInPixels, 0,
		xproto.WindowClassInputOutput, scr.RootVisual, xproto.CwBackPixel|xproto.CwOverrideRedirect, []uint32{0, 1}).Check(); err != nil {
		return nil, fmt.Errorf("create window: %w", err)
	}
	if err := xproto.MapWindowChecked(c, wid).Check(); err != nil {
		return nil, fmt.Errorf("map window: %w", err)
	}
	gc, err := xproto.NewGcontextId(c)
	if err != nil {
		return nil, fmt.Errorf("new graphics context id: %w", err)
	}
	if err := xproto.CreateGCChecked(c, gc, xproto.Drawable(wid), 0, nil).Check(); err != nil {
		return nil, fmt.Errorf("create graphics context: %w", err)
	}
	return &xscreen{c: c, wid: wid, gc: gc, scr: scr}, nil
}

// paint copies the part r of img onto the screen.
func (x *xscreen) paint(b testing.TB, img *image.RGBA, r image.Rectangle) {
	b.Helper()
	require.NoError(b, x.put(img, r))
}

// put copies the part r of img onto the screen.
func (x *xscreen) put(img *image.RGBA, r image.Rectangle) error {
	rows := max(1, (200<<10)/(r.Dx()*4)) // stay under the core protocol's request size
	buf := make([]byte, 0, rows*r.Dx()*4)
	for y0 := r.Min.Y; y0 < r.Max.Y; y0 += rows {
		y1 := min(y0+rows, r.Max.Y)
		buf = buf[:0]
		for y := y0; y < y1; y++ {
			off := img.PixOffset(r.Min.X, y)
			for i := off; i < off+r.Dx()*4; i += 4 {
				buf = append(buf, img.Pix[i+2], img.Pix[i+1], img.Pix[i], 0)
			}
		}
		if err := xproto.PutImageChecked(x.c, xproto.ImageFormatZPixmap, xproto.Drawable(x.wid), x.gc,
			uint16(r.Dx()), uint16(y1-y0), int16(r.Min.X), int16(y0), 0, x.scr.RootDepth, buf).Check(); err != nil {
			return fmt.Errorf("put image %v: %w", r, err)
		}
	}
	return nil
}
