package netconn

// Diagnosis is one finding of Diagnose: something the sensor needs, and
// whether this machine has it.
type Diagnosis struct {
	// Subject names what was checked.
	Subject string
	// OK is true when the machine has what the sensor needs.
	OK bool
	// Detail says what was found.
	Detail string
	// Fix says what to do when OK is false.
	Fix string
}
