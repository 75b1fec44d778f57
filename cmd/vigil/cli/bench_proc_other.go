//go:build !linux

package cli

import (
	"errors"
	"time"
)

// procSample is the CPU time and memory of a process.
type procSample struct {
	cpu      time.Duration
	rss, hwm int64
}

// readProc needs Linux's /proc.
func readProc(int) (procSample, error) {
	return procSample{}, errors.New("agent-idle reads the agent's CPU time and memory from /proc: Linux only")
}
