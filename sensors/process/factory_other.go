//go:build !linux

package process

import (
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
)

func newSensor(_ *yaml.Node, _ sensors.Env) (sensors.Sensor, error) {
	return nil, sensors.NotSupported(Name)
}
