package x11

import (
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/internal/xvfb"
)

func TestConnect(t *testing.T) {
	display := xvfb.Start(t, 320, 240)
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("XDG_SESSION_TYPE", "x11")

	c, note, err := Connect("")
	require.NoError(t, err)
	require.Empty(t, note)
	require.Equal(t, display, ":"+c.Display.Number)
	c.Close()

	t.Setenv("XDG_SESSION_TYPE", "wayland")
	c, note, err = Connect(display)
	require.NoError(t, err)
	require.Contains(t, note, "XWayland", "an X display in a Wayland session is XWayland")
	c.Close()

	t.Setenv("DISPLAY", "")
	_, _, err = Connect("")
	require.ErrorIs(t, err, ErrWayland)

	t.Setenv("XDG_SESSION_TYPE", "x11")
	_, _, err = Connect(":999")
	require.ErrorContains(t, err, "connect to X display :999")
}

func TestEvents(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
	xvfb.Start(t, 320, 240)
	c, err := Open("")
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, xproto.ChangeWindowAttributesChecked(c.X, c.Root, xproto.CwEventMask,
		[]uint32{xproto.EventMaskPropertyChange}).Check())
	events := c.Events(1)

	// Another client changes a property of the root window.
	other, err := xgb.NewConn()
	require.NoError(t, err)
	defer other.Close()
	setProp := func(v string) {
		require.NoError(t, xproto.ChangePropertyChecked(other, xproto.PropModeReplace, c.Root, xproto.AtomWmName,
			xproto.AtomString, 8, uint32(len(v)), []byte(v)).Check())
	}
	setProp("one")
	select {
	case ev := <-events.C:
		pn, ok := ev.(xproto.PropertyNotifyEvent)
		require.True(t, ok, "got %T", ev)
		require.Equal(t, c.Root, pn.Window)
		require.Equal(t, xproto.Atom(xproto.AtomWmName), pn.Atom)
	case <-time.After(30 * time.Second):
		t.Fatal("no PropertyNotify event")
	}

	// Once quiet, events nobody reads are dropped while the caller goes on
	// using the connection; Quiet may be called twice.
	events.Quiet()
	events.Quiet()
	for i := range 20 {
		setProp(string(rune('a' + i)))
	}
	_, err = c.Atom("VIGIL_TEST")
	require.NoError(t, err)

	// Stop closes the connection and ends the goroutine (goleak checks);
	// the channel is closed after at most the one event it can hold.
	events.Stop()
	left := 0
	for range events.C {
		left++
	}
	require.LessOrEqual(t, left, 1)
}
