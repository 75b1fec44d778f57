//go:build !linux

package keyboard

import (
	"context"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
)

var factory = sensors.Unsupported(Name)

// Run returns the not-supported error: the keyboard sensor needs X11 on Linux.
func (s *Sensor) Run(context.Context, func(event.Event)) error {
	return sensors.NotSupported(Name)
}
