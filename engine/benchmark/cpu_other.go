//go:build !unix

package benchmark

import "time"

// cpuTime is not available here; measurements fall back to wall time.
func cpuTime() (time.Duration, bool) { return 0, false }
