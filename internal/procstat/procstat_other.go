//go:build !linux

package procstat

import (
	"fmt"
	"time"
)

func selfCPU() time.Duration { return 0 }

func selfMemory() (rss, peak int64) { return 0, 0 }

// ResetPeak is not supported outside Linux.
func ResetPeak() error { return ErrUnsupported }

// ProcessCPU is not supported outside Linux.
func ProcessCPU(pid int) (time.Duration, error) {
	return 0, fmt.Errorf("read CPU time of process %d: %w", pid, ErrUnsupported)
}

// Child is not supported outside Linux; it returns 0.
func Child(string) int { return 0 }

// LoadAverage is not supported outside Linux; it returns 0.
func LoadAverage() float64 { return 0 }
