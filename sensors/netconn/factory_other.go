//go:build !linux

package netconn

import "github.com/vigil-itm/vigil/sensors"

var newSensor = sensors.Unsupported(Name)
