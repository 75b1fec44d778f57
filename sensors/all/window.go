package all

import _ "github.com/vigil-itm/vigil/sensors/window" // registers the "window" sensor
