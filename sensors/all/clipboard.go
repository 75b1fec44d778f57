package all

import _ "github.com/vigil-itm/vigil/sensors/clipboard" // registers the "clipboard" sensor
