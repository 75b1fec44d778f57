//go:build !linux

package removable

import (
	"context"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
)

// Sensor is the removable media sensor. It exists only on Linux.
type Sensor struct{}

// New returns an error wrapping sensors.ErrNotSupported: the sensor runs on
// Linux only.
func New(Config, sensors.Env) (*Sensor, error) {
	return nil, sensors.NotSupported(Name)
}

// Name returns "removable".
func (*Sensor) Name() string { return Name }

// Run fails: the sensor runs on Linux only.
func (*Sensor) Run(context.Context, func(event.Event)) error { return sensors.NotSupported(Name) }

// Health reports the sensor as unsupported.
func (*Sensor) Health() sensors.Health {
	return sensors.Health{State: sensors.StateUnsupported}
}
