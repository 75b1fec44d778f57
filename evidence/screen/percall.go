package screen

import (
	"errors"
	"fmt"
	"image"

	"github.com/kbinani/screenshot"
)

// PerCall grabs the screen with github.com/kbinani/screenshot, which opens
// a display connection for every call.
type PerCall struct{}

var _ Grabber = (*PerCall)(nil)

// NewPerCall checks that a display is there and returns the grabber.
func NewPerCall() (*PerCall, error) {
	if screenshot.NumActiveDisplays() == 0 {
		return nil, fmt.Errorf("screenshot backend: no active display: %w", ErrNotSupported)
	}
	return &PerCall{}, nil
}

// Grab captures the union of every active display into a new image,
// which stays valid after the next Grab.
func (*PerCall) Grab() (Pixels, error) {
	n := screenshot.NumActiveDisplays()
	if n == 0 {
		return Pixels{}, errors.New("grab screen: no active display")
	}
	var all image.Rectangle
	for i := range n {
		all = all.Union(screenshot.GetDisplayBounds(i))
	}
	img, err := screenshot.CaptureRect(all)
	if err != nil {
		return Pixels{}, fmt.Errorf("grab screen %v: %w", all, err)
	}
	return FromRGBA(img), nil
}

// Name returns "screenshot".
func (*PerCall) Name() string { return "screenshot" }

// Close does nothing: no connection is kept.
func (*PerCall) Close() error { return nil }
