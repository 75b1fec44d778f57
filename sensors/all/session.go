package all

import _ "github.com/vigil-itm/vigil/sensors/session" // registers the "session" sensor
