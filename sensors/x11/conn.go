package x11

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/record"
	"github.com/jezek/xgb/res"
	"github.com/jezek/xgb/screensaver"
	"github.com/jezek/xgb/xfixes"
	"github.com/jezek/xgb/xproto"
)

// Extension names as the server knows them.
const (
	ExtRecord      = "RECORD"
	ExtXFixes      = "XFIXES"
	ExtScreenSaver = "MIT-SCREEN-SAVER"
	ExtResource    = "X-Resource"
)

// Conn is a connection to an X display with the atoms and extensions the
// sensors use. Its methods are safe for concurrent use.
type Conn struct {
	// X is the underlying connection.
	X *xgb.Conn
	// Display is the display connected to.
	Display Display
	// Root is the root window of the display's screen.
	Root xproto.Window
	// MinKeycode and MaxKeycode bound the server's keycodes.
	MinKeycode, MaxKeycode byte

	mu    sync.Mutex
	atoms map[string]xproto.Atom
	names map[xproto.Atom]string
}

// Open connects to the display name (empty: $DISPLAY). Authorisation uses
// the display's MIT-MAGIC-COOKIE-1 from $XAUTHORITY or ~/.Xauthority.
func Open(name string) (*Conn, error) {
	d, err := ParseDisplay(name)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = os.Getenv("DISPLAY")
	}
	x, err := xgb.NewConnDisplay(name)
	if err != nil {
		return nil, fmt.Errorf("connect to X display %s: %w", d, err)
	}
	setup := xproto.Setup(x)
	if setup == nil || len(setup.Roots) == 0 {
		x.Close()
		return nil, fmt.Errorf("connect to X display %s: no screens in the setup", d)
	}
	screen := setup.Roots[0]
	if d.Screen < len(setup.Roots) {
		screen = setup.Roots[d.Screen]
	}
	c := &Conn{
		X: x, Display: d, Root: screen.Root,
		MinKeycode: byte(setup.MinKeycode), MaxKeycode: byte(setup.MaxKeycode),
		atoms: map[string]xproto.Atom{}, names: map[xproto.Atom]string{},
	}
	initAllExtensions(x)
	return c, nil
}

// Close closes the connection.
func (c *Conn) Close() { c.X.Close() }

var (
	extMu   sync.Mutex
	extDone = map[string]bool{}
	extInit = map[string]func(*xgb.Conn) error{
		ExtRecord: record.Init, ExtXFixes: xfixes.Init, ExtScreenSaver: screensaver.Init, ExtResource: res.Init,
	}
)

// initAllExtensions runs the xgb extension initialisers the first time a
// connection is opened. They write process-wide tables that every xgb
// connection reads while decoding events, so they run once, on a fresh
// connection that has not selected any events yet; later connections only
// learn their opcodes (see Conn.Extension).
func initAllExtensions(x *xgb.Conn) {
	extMu.Lock()
	defer extMu.Unlock()
	for name, fn := range extInit {
		if !extDone[name] && fn(x) == nil {
			extDone[name] = true
		}
	}
}

// Extension makes extension name usable on this connection and returns its
// major opcode. It fails when the server does not have the extension.
func (c *Conn) Extension(name string) (byte, error) {
	c.X.ExtLock.RLock()
	op, ok := c.X.Extensions[name]
	c.X.ExtLock.RUnlock()
	if ok {
		return op, nil
	}
	rep, err := xproto.QueryExtension(c.X, uint16(len(name)), name).Reply()
	if err != nil {
		return 0, fmt.Errorf("query X extension %s: %w", name, err)
	}
	if !rep.Present {
		return 0, fmt.Errorf("the X server on %s has no %s extension", c.Display, name)
	}
	extMu.Lock()
	done := extDone[name]
	if !done {
		if fn := extInit[name]; fn != nil {
			if err := fn(c.X); err != nil {
				extMu.Unlock()
				return 0, fmt.Errorf("initialise X extension %s: %w", name, err)
			}
			extDone[name] = true
		}
	}
	extMu.Unlock()
	c.X.ExtLock.Lock()
	c.X.Extensions[name] = rep.MajorOpcode
	c.X.ExtLock.Unlock()
	return rep.MajorOpcode, nil
}

// Atom returns the atom called name, interning it on first use.
func (c *Conn) Atom(name string) (xproto.Atom, error) {
	c.mu.Lock()
	a, ok := c.atoms[name]
	c.mu.Unlock()
	if ok {
		return a, nil
	}
	rep, err := xproto.InternAtom(c.X, false, uint16(len(name)), name).Reply()
	if err != nil {
		return 0, fmt.Errorf("intern atom %s: %w", name, err)
	}
	c.mu.Lock()
	c.atoms[name], c.names[rep.Atom] = rep.Atom, name
	c.mu.Unlock()
	return rep.Atom, nil
}

// MustAtoms interns every name and returns the atoms in order.
func (c *Conn) MustAtoms(names ...string) ([]xproto.Atom, error) {
	cookies := make([]xproto.InternAtomCookie, len(names))
	for i, n := range names {
		cookies[i] = xproto.InternAtom(c.X, false, uint16(len(n)), n)
	}
	out := make([]xproto.Atom, len(names))
	for i, ck := range cookies {
		rep, err := ck.Reply()
		if err != nil {
			return nil, fmt.Errorf("intern atom %s: %w", names[i], err)
		}
		out[i] = rep.Atom
		c.mu.Lock()
		c.atoms[names[i]], c.names[rep.Atom] = rep.Atom, names[i]
		c.mu.Unlock()
	}
	return out, nil
}

// AtomName returns the name of atom a, or "" when it cannot be had.
func (c *Conn) AtomName(a xproto.Atom) string {
	c.mu.Lock()
	n, ok := c.names[a]
	c.mu.Unlock()
	if ok {
		return n
	}
	rep, err := xproto.GetAtomName(c.X, a).Reply()
	if err != nil {
		return ""
	}
	c.mu.Lock()
	c.names[a], c.atoms[rep.Name] = rep.Name, a
	c.mu.Unlock()
	return rep.Name
}

// Property reads up to max bytes of property prop of window w, of any
// type, and returns its value and type. A missing property is (nil, 0, nil).
func (c *Conn) Property(w xproto.Window, prop xproto.Atom, maxBytes uint32) ([]byte, xproto.Atom, error) {
	rep, err := xproto.GetProperty(c.X, false, w, prop, xproto.GetPropertyTypeAny, 0, (maxBytes+3)/4).Reply()
	if err != nil {
		return nil, 0, fmt.Errorf("get property %d of window 0x%x: %w", prop, w, err)
	}
	if rep.Type == xproto.AtomNone {
		return nil, 0, nil
	}
	return rep.Value, rep.Type, nil
}

// IsConnectionError reports whether err means the X connection is gone
// (xgb answers every pending request with io.EOF then) rather than one
// request having failed.
func IsConnectionError(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

// ClientPID asks the X-Resource extension for the process id of the local
// client that created window w; 0 when the server cannot tell.
func (c *Conn) ClientPID(w xproto.Window) int {
	if _, err := c.Extension(ExtResource); err != nil {
		return 0
	}
	rep, err := res.QueryClientIds(c.X, 1, []res.ClientIdSpec{{Client: uint32(w), Mask: res.ClientIdMaskLocalClientPID}}).Reply()
	if err != nil {
		return 0
	}
	for _, id := range rep.Ids {
		if id.Spec.Mask&res.ClientIdMaskLocalClientPID != 0 && len(id.Value) > 0 {
			return int(id.Value[0])
		}
	}
	return 0
}

// processName returns the command name and executable of process pid from
// /proc, as far as they can be read.
func processName(pid int) (name, exe string) {
	if pid <= 0 {
		return "", ""
	}
	p := "/proc/" + strconv.Itoa(pid)
	if b, err := os.ReadFile(p + "/comm"); err == nil {
		name = strings.TrimSpace(string(b))
	}
	if l, err := os.Readlink(p + "/exe"); err == nil {
		exe = strings.TrimSuffix(l, " (deleted)")
	}
	return name, exe
}

// Events is the stream of a connection's events, read by one goroutine that
// Events owns. Stop ends it.
type Events struct {
	// C delivers the events; it is closed when the connection closes.
	C <-chan xgb.Event

	c       *Conn
	quiet   chan struct{}
	quietly sync.Once
	ended   chan struct{}
}

// Events starts forwarding the connection's events to a channel that holds
// up to size of them. Call Stop when done.
func (c *Conn) Events(size int) *Events {
	out := make(chan xgb.Event, size)
	e := &Events{C: out, c: c, quiet: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(e.ended)
		forwardEvents(c.X, out, e.quiet)
	}()
	return e
}

// Quiet makes the stream drop events from now on instead of delivering
// them, so that xgb never blocks on a full queue while the caller shuts
// down (for instance while it waits for the replies of its last requests).
// It may be called more than once.
func (e *Events) Quiet() { e.quietly.Do(func() { close(e.quiet) }) }

// Stop quiets the stream, closes the connection and waits until the
// forwarding goroutine has ended.
func (e *Events) Stop() {
	e.Quiet()
	e.c.Close()
	<-e.ended
}

// forwardEvents sends the events of x to out until the connection closes,
// then closes out. After done is closed it drops them instead, so that xgb
// never blocks on a full queue while the caller shuts down.
func forwardEvents(x *xgb.Conn, out chan<- xgb.Event, done <-chan struct{}) {
	defer close(out)
	for {
		ev, xerr := x.WaitForEvent()
		if ev == nil && xerr == nil {
			return
		}
		if ev != nil {
			select {
			case out <- ev:
			case <-done:
			}
		}
	}
}
