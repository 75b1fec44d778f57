package x11

import (
	"errors"
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
