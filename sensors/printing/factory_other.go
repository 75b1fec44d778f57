//go:build !linux && !darwin

package printing

import "github.com/vigil-itm/vigil/sensors"

var newSensor = sensors.Unsupported(Name)
