package cert

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
)

// TestMemoryStaysFlat imports a generated dataset several times larger
// than the heap it may use and checks that the live heap stays bounded
// while it runs: no file is loaded whole and nothing accumulates.
func TestMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes about 100 MB")
	}
	dir := t.TempDir()
	rows := genDataset(t, dir, genOptions{
		rows:    map[kind]int{kindHTTP: 200_000, kindFile: 50_000, kindLogon: 50_000},
		content: 300,
		users:   500,
		seed:    9,
	})
	var size int64
	for _, name := range []string{"http.csv", "file.csv", "logon.csv"} {
		info, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		size += info.Size()
	}
	const bound = 24 << 20
	require.Greater(t, size, int64(3*bound), "the dataset must dwarf the bound")

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	peak := uint64(0)
	samples := 0
	n := 0
	st, err := Stream(dir, Options{}, func(*event.Event) error {
		n++
		if n%10_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			samples++
		}
		return nil
	}, nil)
	require.NoError(t, err)
	require.Equal(t, int64(rows), st.Rows["http.csv"]+st.Rows["file.csv"]+st.Rows["logon.csv"])
	require.Greater(t, samples, 20)
	growth := int64(peak) - int64(base)
	t.Logf("dataset %d MiB, %d rows; live heap grew by at most %.1f MiB", size>>20, rows, float64(growth)/(1<<20))
	require.Less(t, growth, int64(bound))
}
