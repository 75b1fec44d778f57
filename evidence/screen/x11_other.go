//go:build !linux

package screen

import (
	"fmt"
	"runtime"
)

// X11 is the persistent X11 grabber; it exists on Linux only.
type X11 struct{}

// NewX11 returns an error wrapping ErrNotSupported outside Linux.
func NewX11(display string) (*X11, error) {
	return nil, fmt.Errorf("x11 backend on %s: %w", runtime.GOOS, ErrNotSupported)
}

// Grab is never reached outside Linux.
func (*X11) Grab() (Pixels, error) { return Pixels{}, ErrNotSupported }

// Name returns "x11".
func (*X11) Name() string { return "x11" }

// Close does nothing.
func (*X11) Close() error { return nil }
