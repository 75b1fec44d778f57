package vigil.decision

decision := {"alert": true} if {
	input.findings[_].severity == 
}
