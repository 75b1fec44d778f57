package removable

import "github.com/vigil-itm/vigil/sensors"

func init() {
	sensors.Register(sensors.Registration{
		Name:           Name,
		Description:    "USB and other removable media: devices plugged in and out, volumes mounted, files written onto them",
		New:            sensors.NewFactory(DecodeConfig, New),
		DefaultEnabled: true,
	})
}
