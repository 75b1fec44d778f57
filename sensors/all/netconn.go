package all

import _ "github.com/vigil-itm/vigil/sensors/netconn" // registers the netconn sensor
