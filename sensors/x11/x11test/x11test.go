// Package x11test holds what the X11 sensors' tests share beyond
// sensors/internal/sensortest: an evidence sink that records what it is
// given, and windows created on a test X server with a chosen title and
// class and made the active window (Xvfb runs no window manager, so the
// test plays its part). It is used only from tests and must not be imported
// by sensor code.
package x11test

import (
	"encoding/binary"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence"
)

// Sink is an evidence sink that keeps every call.
type Sink struct {
	mu         sync.Mutex
	keystrokes []evidence.Keystroke
	clipboard  []evidence.ClipboardEntry
	terminal   []evidence.TerminalRecord
}

// RecordKeystroke keeps k.
func (s *Sink) RecordKeystroke(k evidence.Keystroke) {
	s.mu.Lock()
	s.keystrokes = append(s.keystrokes, k)
	s.mu.Unlock()
}

// RecordClipboard keeps c.
func (s *Sink) RecordClipboard(c evidence.ClipboardEntry) {
	s.mu.Lock()
	s.clipboard = append(s.clipboard, c)
	s.mu.Unlock()
}

// RecordTerminal keeps r.
func (s *Sink) RecordTerminal(r evidence.TerminalRecord) {
	s.mu.Lock()
	s.terminal = append(s.terminal, r)
	s.mu.Unlock()
}

// Keystrokes returns a copy of the keystrokes recorded so far.
func (s *Sink) Keystrokes() []evidence.Keystroke {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]evidence.Keystroke(nil), s.keystrokes...)
}

// Clipboard returns a copy of the clipboard entries recorded so far.
func (s *Sink) Clipboard() []evidence.ClipboardEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]evidence.ClipboardEntry(nil), s.clipboard...)
}

// TypedIn joins the unmasked text recorded for windows titled title.
func (s *Sink) TypedIn(title string) string {
	var b strings.Builder
	for _, k := range s.Keystrokes() {
		if k.Window == title {
			b.WriteString(k.Text)
		}
	}
	return b.String()
}

// Desktop is a test's own connection to the X server, playing the window
// manager.
type Desktop struct {
	X    *xgb.Conn
	Root xproto.Window
	t    testing.TB
}

// NewDesktop connects to $DISPLAY; the connection closes when the test ends.
func NewDesktop(t testing.TB) *Desktop {
	t.Helper()
	x, err := xgb.NewConn()
	require.NoError(t, err)
	t.Cleanup(x.Close)
	return &Desktop{X: x, Root: xproto.Setup(x).DefaultScreen(x).Root, t: t}
}

func (d *Desktop) atom(name string) xproto.Atom {
	rep, err := xproto.InternAtom(d.X, false, uint16(len(name)), name).Reply()
	require.NoError(d.t, err)
	return rep.Atom
}

// Window creates and maps a window and activates it; see PlainWindow.
func (d *Desktop) Window(title, instance, class string) xproto.Window {
	d.t.Helper()
	id := d.PlainWindow(title, instance, class)
	d.Activate(id)
	return id
}

// PlainWindow creates and maps a window with the given title (as _NET_WM_NAME
// and WM_NAME), WM_CLASS instance and class, and _NET_WM_PID of this
// process.
func (d *Desktop) PlainWindow(title, instance, class string) xproto.Window {
	d.t.Helper()
	id, err := xproto.NewWindowId(d.X)
	require.NoError(d.t, err)
	scr := xproto.Setup(d.X).DefaultScreen(d.X)
	require.NoError(d.t, xproto.CreateWindowChecked(d.X, scr.RootDepth, id, d.Root, 10, 10, 200, 100, 0,
		xproto.WindowClassInputOutput, scr.RootVisual, 0, nil).Check())
	d.SetTitle(id, title)
	cls := instance + "\x00" + class + "\x00"
	xproto.ChangeProperty(d.X, xproto.PropModeReplace, id, xproto.AtomWmClass, xproto.AtomString, 8, uint32(len(cls)), []byte(cls))
	pid := make([]byte, 4)
	binary.LittleEndian.PutUint32(pid, uint32(os.Getpid()))
	xproto.ChangeProperty(d.X, xproto.PropModeReplace, id, d.atom("_NET_WM_PID"), xproto.AtomCardinal, 32, 1, pid)
	require.NoError(d.t, xproto.MapWindowChecked(d.X, id).Check())
	return id
}

// Focus gives w the input focus without touching _NET_ACTIVE_WINDOW, as
// happens on a desktop without an EWMH window manager.
func (d *Desktop) Focus(w xproto.Window) {
	d.t.Helper()
	require.NoError(d.t, xproto.SetInputFocusChecked(d.X, xproto.InputFocusPointerRoot, w, xproto.TimeCurrentTime).Check())
}

// SetTitle changes a window's title.
func (d *Desktop) SetTitle(w xproto.Window, title string) {
	d.t.Helper()
	xproto.ChangeProperty(d.X, xproto.PropModeReplace, w, d.atom("_NET_WM_NAME"), d.atom("UTF8_STRING"), 8, uint32(len(title)), []byte(title))
	require.NoError(d.t, xproto.ChangePropertyChecked(d.X, xproto.PropModeReplace, w, xproto.AtomWmName, xproto.AtomString, 8, uint32(len(title)), []byte(title)).Check())
}

// Activate sets _NET_ACTIVE_WINDOW to w and gives it the input focus.
func (d *Desktop) Activate(w xproto.Window) {
	d.t.Helper()
	v := make([]byte, 4)
	binary.LittleEndian.PutUint32(v, uint32(w))
	xproto.SetInputFocus(d.X, xproto.InputFocusPointerRoot, w, xproto.TimeCurrentTime)
	require.NoError(d.t, xproto.ChangePropertyChecked(d.X, xproto.PropModeReplace, d.Root, d.atom("_NET_ACTIVE_WINDOW"), xproto.AtomWindow, 32, 1, v).Check())
}

// Run runs a command (xdotool, xclip...) to completion and fails the test
// when it fails.
func Run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
}

// Received collects the key presses the X server delivered to one window:
// what an application in that window would have seen, the ground truth a
// keyboard sensor's record is compared with.
type Received struct {
	mu    sync.Mutex
	codes []xproto.Keycode
	d     *Desktop
}

// Receive selects key presses on w over a connection of its own and
// collects them until the test ends.
func (d *Desktop) Receive(w xproto.Window) *Received {
	d.t.Helper()
	x, err := xgb.NewConn()
	require.NoError(d.t, err)
	require.NoError(d.t, xproto.ChangeWindowAttributesChecked(x, w, xproto.CwEventMask, []uint32{xproto.EventMaskKeyPress}).Check())
	r := &Received{d: d}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			ev, err := x.WaitForEvent()
			if ev == nil && err == nil {
				return // connection closed
			}
			if kp, ok := ev.(xproto.KeyPressEvent); ok {
				r.mu.Lock()
				r.codes = append(r.codes, kp.Detail)
				r.mu.Unlock()
			}
		}
	})
	d.t.Cleanup(func() {
		x.Close()
		wg.Wait()
	})
	return r
}

// Text returns the received presses as text, for keys whose unshifted
// symbol is printable ASCII (digits, lower-case letters, space,
// punctuation); others show as "?".
func (r *Received) Text() string {
	r.d.t.Helper()
	setup := xproto.Setup(r.d.X)
	n := byte(int(setup.MaxKeycode) - int(setup.MinKeycode) + 1)
	km, err := xproto.GetKeyboardMapping(r.d.X, setup.MinKeycode, n).Reply()
	require.NoError(r.d.t, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, c := range r.codes {
		i := (int(c) - int(setup.MinKeycode)) * int(km.KeysymsPerKeycode)
		if i >= 0 && i < len(km.Keysyms) && km.Keysyms[i] >= 0x20 && km.Keysyms[i] < 0x7f {
			b.WriteByte(byte(km.Keysyms[i]))
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}
