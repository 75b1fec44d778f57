package all

import _ "github.com/vigil-itm/vigil/sensors/process" // registers the "process" sensor
