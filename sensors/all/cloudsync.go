package all

import _ "github.com/vigil-itm/vigil/sensors/cloudsync" // registers the cloudsync sensor
