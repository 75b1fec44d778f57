package all

import _ "github.com/vigil-itm/vigil/sensors/browser" // registers the "browser" sensor
