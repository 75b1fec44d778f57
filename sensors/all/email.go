package all

import _ "github.com/vigil-itm/vigil/sensors/email" // registers the email sensor
