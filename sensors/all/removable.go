package all

import _ "github.com/vigil-itm/vigil/sensors/removable" // registers the "removable" sensor
