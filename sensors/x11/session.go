package x11

import (
	"errors"
	"fmt"
	"os"
)

// ErrWayland is returned when the session is a Wayland one without an X
// display: the X11 sensors cannot see it.
var ErrWayland = errors.New("a Wayland session without an X display: the X11 keyboard, clipboard and window sensors cannot see it")

// SessionNote looks at the environment for a Wayland session. It returns
// ErrWayland when there is no X display to watch, and a non-empty note when
// the X display is XWayland, which shows only X11 applications.
func SessionNote(display string) (note string, err error) {
	wayland := os.Getenv("WAYLAND_DISPLAY") != "" || os.Getenv("XDG_SESSION_TYPE") == "wayland"
	if display == "" {
		display = os.Getenv("DISPLAY")
	}
	switch {
	case wayland && display == "":
		return "", ErrWayland
	case wayland:
		return "Wayland session: only X11 (XWayland) applications are seen", nil
	}
	return "", nil
}

// Connect opens the display a sensor watches (empty: $DISPLAY) after
// looking at the session as SessionNote does. It returns the connection and
// the note to put in the sensor's health, or ErrWayland when there is no X
// display to watch.
func Connect(display string) (c *Conn, note string, err error) {
	note, err = SessionNote(display)
	if err != nil {
		return nil, "", err
	}
	c, err = Open(display)
	if err != nil {
		return nil, "", err
	}
	return c, note, nil
}

// CheckDisplay checks the display setting of an X11 sensor's
// configuration: empty (meaning $DISPLAY) or a display name. The error
// names the field, as in "display: ...".
func CheckDisplay(display string) error {
	if display == "" {
		return nil
	}
	if _, err := ParseDisplay(display); err != nil {
		return fmt.Errorf("display: %w", err)
	}
	return nil
}
