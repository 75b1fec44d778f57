// Package procstat measures the CPU time and memory of this process (and of
// other processes by pid) for benchmarks: CPU time from getrusage or
// /proc/PID/stat, never wall time, so that a busy machine does not inflate
// the figures; resident set and its peak from /proc; Go heap in use from the
// runtime. It is used only from tests and benchmarks and must not import
// any other Vigil package.
package procstat

import (
	"errors"
	"runtime"
	"testing"
	"time"
)

// ErrUnsupported is returned where the operating system does not offer what
// a function reads.
var ErrUnsupported = errors.New("procstat: not supported on this OS")

// Sample is the state of this process at one moment.
type Sample struct {
	// At is when the sample was taken.
	At time.Time
	// CPU is the user plus system CPU time the process has used.
	CPU time.Duration
	// RSS is the resident set size in bytes (0 where unknown).
	RSS int64
	// PeakRSS is the highest resident set since the process started or
	// since ResetPeak (0 where unknown).
	PeakRSS int64
	// Heap is the Go heap in use (runtime.MemStats.HeapInuse) in bytes.
	Heap uint64
}

// Take samples this process. It reads the Go heap without forcing a
// collection; call runtime.GC first for a figure of live memory.
func Take() Sample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := Sample{At: time.Now(), CPU: selfCPU(), Heap: ms.HeapInuse}
	s.RSS, s.PeakRSS = selfMemory()
	return s
}

// Usage is what a process used between two samples.
type Usage struct {
	// Wall is the time between the samples.
	Wall time.Duration
	// CPU is the CPU time used between them.
	CPU time.Duration
	// End is the later sample.
	End Sample
	// HeapDelta is the change of the Go heap in use, in bytes.
	HeapDelta int64
}

// CPUPercent is CPU time as a percentage of one core over the wall time.
func (u Usage) CPUPercent() float64 {
	if u.Wall <= 0 {
		return 0
	}
	return 100 * float64(u.CPU) / float64(u.Wall)
}

// Since returns what the process used from start to now.
func Since(start Sample) Usage {
	end := Take()
	return Between(start, end)
}

// Between returns what the process used from start to end.
func Between(start, end Sample) Usage {
	return Usage{Wall: end.At.Sub(start.At), CPU: end.CPU - start.CPU, End: end,
		HeapDelta: int64(end.Heap) - int64(start.Heap)}
}

// MB converts bytes to megabytes (10^6 bytes), the unit the benchmarks
// report memory in.
func MB[T int64 | uint64 | int](n T) float64 { return float64(n) / 1e6 }

// Report adds the usage to a benchmark's results: cpu_pct (percent of one
// core over the wall time), cpu_ms (CPU time), rss_MB and peak_rss_MB (the
// process) and heap_MB (the Go heap in use at the end).
func Report(b *testing.B, u Usage) {
	b.Helper()
	b.ReportMetric(u.CPUPercent(), "cpu_pct")
	b.ReportMetric(float64(u.CPU)/float64(time.Millisecond), "cpu_ms")
	b.ReportMetric(MB(u.End.RSS), "rss_MB")
	b.ReportMetric(MB(u.End.PeakRSS), "peak_rss_MB")
	b.ReportMetric(MB(u.End.Heap), "heap_MB")
}
