package syncbuf

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrentWritesAreKeptWhole: lines written by many goroutines at
// once all arrive, none interleaved with another, while a reader reads.
func TestConcurrentWritesAreKeptWhole(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				_, _ = fmt.Fprintf(&b, "writer %d line %d\n", g, i)
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			_ = b.String()
		}
	})
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	require.Len(t, lines, 8*200)
	seen := map[string]bool{}
	for _, l := range lines {
		require.Regexp(t, `^writer \d line \d+$`, l)
		seen[l] = true
	}
	require.Len(t, seen, 8*200)
}
