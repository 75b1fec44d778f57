//go:build !unix

package cli

import "time"

// processCPU returns 0 where the process's CPU time is not read: reports
// then give wall-clock figures only.
func processCPU() time.Duration { return 0 }
