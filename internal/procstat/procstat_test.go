package procstat

import (
	"crypto/sha256"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTakeCountsCPUAndMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	start := Take()
	// Work until the process has used measurable CPU time.
	buf := make([]byte, 1<<20)
	for Since(start).CPU < 20e6 {
		sum := sha256.Sum256(buf)
		buf[0] = sum[0]
	}
	u := Since(start)
	require.GreaterOrEqual(t, u.CPU.Milliseconds(), int64(20))
	require.Greater(t, u.CPUPercent(), 0.0)
	require.Positive(t, u.End.RSS)
	require.GreaterOrEqual(t, u.End.PeakRSS, u.End.RSS)
	require.Positive(t, u.End.Heap)
	require.NoError(t, ResetPeak())
}

func TestProcessCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	self, err := ProcessCPU(os.Getpid())
	require.NoError(t, err)
	require.GreaterOrEqual(t, self.Nanoseconds(), int64(0))
	_, err = ProcessCPU(-1)
	require.Error(t, err)
	require.Zero(t, Child("no-such-command"))
	require.Positive(t, LoadAverage()+1)
}

func TestUsagePercent(t *testing.T) {
	tests := []struct {
		u    Usage
		want float64
	}{
		{Usage{Wall: 10e9, CPU: 5e7}, 0.5},
		{Usage{Wall: 1e9, CPU: 2e9}, 200},
		{Usage{}, 0},
	}
	for _, tc := range tests {
		require.InDelta(t, tc.want, tc.u.CPUPercent(), 1e-9)
	}
	require.InDelta(t, 1.5, MB(int64(1_500_000)), 1e-9)
}
