//go:build unix

package benchmark

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user + system) this process has used. On a
// loaded machine it measures the work done far better than wall time.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
