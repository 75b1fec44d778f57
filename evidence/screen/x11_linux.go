package screen

import (
	"errors"
	"fmt"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
	"golang.org/x/sys/unix"
)

// X11 grabs the X root window (every monitor) over one connection kept
// open, through a MIT-SHM segment when the server offers the extension (the
// image is written straight into shared memory), else with a plain
// GetImage request.
type X11 struct {
	mu     sync.Mutex
	conn   *xgb.Conn
	root   xproto.Window
	width  int
	height int
	useShm bool
	seg    shm.Seg
	shmID  int
	data   []byte
	closed bool
}

var _ Grabber = (*X11)(nil)

// NewX11 connects to display ("" means $DISPLAY) and prepares the shared
// memory segment.
func NewX11(display string) (*X11, error) {
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("x11 backend: connect to display %q: %w", display, err)
	}
	setup := xproto.Setup(c)
	if setup.ImageByteOrder != xproto.ImageOrderLSBFirst {
		c.Close()
		return nil, fmt.Errorf("x11 backend: MSB-first image byte order: %w", ErrNotSupported)
	}
	scr := setup.DefaultScreen(c)
	if scr.RootDepth != 24 && scr.RootDepth != 32 {
		c.Close()
		return nil, fmt.Errorf("x11 backend: root depth %d: %w", scr.RootDepth, ErrNotSupported)
	}
	g := &X11{conn: c, root: scr.Root, width: int(scr.WidthInPixels), height: int(scr.HeightInPixels)}
	if err := shm.Init(c); err == nil {
		if err := g.attach(); err == nil {
			g.useShm = true
		}
	}
	return g, nil
}

// attach creates and attaches a shared memory segment for the current
// screen size. The segment is marked for removal at once, so that it goes
// away with the last detach even if the process dies.
func (g *X11) attach() error {
	size := g.width * g.height * 4
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|0o600)
	if err != nil {
		return fmt.Errorf("shmget %d bytes: %w", size, err)
	}
	data, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		return fmt.Errorf("shmat: %w", err)
	}
	seg, err := shm.NewSegId(g.conn)
	if err == nil {
		err = shm.AttachChecked(g.conn, seg, uint32(id), false).Check()
	}
	_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
	if err != nil {
		_ = unix.SysvShmDetach(data)
		return fmt.Errorf("attach shared memory to the X server: %w", err)
	}
	g.seg, g.shmID, g.data = seg, id, data
	return nil
}

func (g *X11) detach() {
	if g.data == nil {
		return
	}
	_ = shm.DetachChecked(g.conn, g.seg).Check()
	_ = unix.SysvShmDetach(g.data)
	g.data = nil
}

// Grab captures the root window. With MIT-SHM the pixels returned are the
// shared segment itself, which the X server has finished writing when the
// reply arrives: no copy and no allocation per frame, and they are valid
// until the next Grab or Close. When the screen size changed (a monitor
// was added or removed) the segment is made anew.
func (g *X11) Grab() (Pixels, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return Pixels{}, errors.New("x11 grab: grabber closed")
	}
	geo, err := xproto.GetGeometry(g.conn, xproto.Drawable(g.root)).Reply()
	if err != nil {
		return Pixels{}, fmt.Errorf("x11 grab: root geometry: %w", err)
	}
	if w, h := int(geo.Width), int(geo.Height); w != g.width || h != g.height {
		g.width, g.height = w, h
		if g.useShm {
			g.detach()
			if err := g.attach(); err != nil {
				g.useShm = false
			}
		}
	}
	var src []byte
	if g.useShm {
		_, err := shm.GetImage(g.conn, xproto.Drawable(g.root), 0, 0, uint16(g.width), uint16(g.height),
			0xffffffff, xproto.ImageFormatZPixmap, g.seg, 0).Reply()
		if err != nil {
			return Pixels{}, fmt.Errorf("x11 grab: shm get image: %w", err)
		}
		src = g.data
	} else {
		r, err := xproto.GetImage(g.conn, xproto.ImageFormatZPixmap, xproto.Drawable(g.root), 0, 0,
			uint16(g.width), uint16(g.height), 0xffffffff).Reply()
		if err != nil {
			return Pixels{}, fmt.Errorf("x11 grab: get image: %w", err)
		}
		src = r.Data
	}
	n := g.width * g.height * 4
	if len(src) < n {
		return Pixels{}, fmt.Errorf("x11 grab: got %d bytes for %dx%d", len(src), g.width, g.height)
	}
	return Pixels{Pix: src[:n:n], Stride: g.width * 4, Width: g.width, Height: g.height, Format: FormatBGRX}, nil
}

// Name returns "x11-shm" or "x11" by the mechanism in use.
func (g *X11) Name() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.useShm {
		return "x11-shm"
	}
	return "x11"
}

// Close detaches the segment and closes the connection.
func (g *X11) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	if g.useShm {
		g.detach()
	}
	g.conn.Close()
	return nil
}
