package all

import _ "github.com/vigil-itm/vigil/sensors/printing" // registers the printing sensor
