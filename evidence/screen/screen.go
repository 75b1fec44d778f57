// Package screen owns screen capture for evidence: grabbers that return the
// whole desktop (every monitor) as an RGBA image. It offers a grabber that
// opens a new display connection per frame (github.com/kbinani/screenshot,
// every platform) and, on Linux, one that keeps a single X11 connection
// and an MIT-SHM segment open. It must not import any other Vigil package.
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

// Grabber takes screenshots of the whole desktop. It is not safe for
// concurrent use: one goroutine at a time calls Grab.
type Grabber interface {
	// Grab returns the current screen image, owned by the caller.
	Grab() (*image.RGBA, error)
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
