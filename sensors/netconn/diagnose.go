package netconn

import "github.com/vigil-itm/vigil/sensors"

// Diagnosis is one finding of Diagnose: something the sensor needs, and
// whether this machine has it.
type Diagnosis = sensors.Diagnosis
