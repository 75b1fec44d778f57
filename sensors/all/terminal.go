package all

import _ "github.com/vigil-itm/vigil/sensors/terminal" // registers the "terminal" sensor
