//go:build !linux

package window

import (
	"context"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
)

func factory(*yaml.Node, sensors.Env) (sensors.Sensor, error) {
	return nil, sensors.NotSupported(Name)
}

// Run returns the not-supported error: the window sensor needs X11 on Linux.
func (s *Sensor) Run(context.Context, func(event.Event)) error {
	return sensors.NotSupported(Name)
}
