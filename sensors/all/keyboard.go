package all

import _ "github.com/vigil-itm/vigil/sensors/keyboard" // registers the "keyboard" sensor
