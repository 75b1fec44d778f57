//go:build !linux

package netconn

import "runtime"

// Diagnose reports that the sensor does not run on this OS.
func Diagnose(Config) []Diagnosis {
	return []Diagnosis{{Subject: "netconn", Detail: "not supported on " + runtime.GOOS}}
}
