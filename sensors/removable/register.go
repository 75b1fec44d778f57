package removable

import (
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
)

func init() {
	sensors.Register(sensors.Registration{
		Name:           Name,
		Description:    "USB and other removable media: devices plugged in and out, volumes mounted, files written onto them",
		New:            factory,
		DefaultEnabled: true,
	})
}

// factory is the sensors.Factory of the removable sensor.
func factory(node *yaml.Node, env sensors.Env) (sensors.Sensor, error) {
	cfg, err := DecodeConfig(node)
	if err != nil {
		return nil, err
	}
	s, err := New(cfg, env)
	if err != nil {
		return nil, err
	}
	return s, nil
}
