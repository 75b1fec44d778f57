package cli

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadProc reads this process's own CPU time and resident set, the
// figures `vigil bench agent-idle` reads of the agent.
func TestReadProc(t *testing.T) {
	s, err := readProc(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, s.rss)
	require.GreaterOrEqual(t, s.hwm, s.rss)
	sink := 0
	for i := range 20_000_000 { // burn some CPU so the tick counter moves
		sink += i % 7
	}
	require.NotZero(t, sink)
	later, err := readProc(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, later.cpu)
	require.GreaterOrEqual(t, later.cpu, s.cpu)

	_, err = readProc(1 << 30)
	require.Error(t, err, "a process that does not exist")
}
