package cert

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
)

// BenchmarkStream imports a generated dataset in the later layout (every
// file, mixed as in the real dataset: mostly web and file rows), one import
// per op, and reports rows read per second.
func BenchmarkStream(b *testing.B) {
	dir := b.TempDir()
	rows := genDataset(b, dir, genOptions{
		rows: map[kind]int{
			kindLogon: 10_000, kindDevice: 4_000, kindFile: 20_000, kindEmail: 16_000, kindHTTP: 50_000,
		},
		content: 120,
		users:   1000,
		seed:    5,
	})
	var size int64
	ents, err := os.ReadDir(dir)
	require.NoError(b, err)
	for _, e := range ents {
		info, err := os.Stat(filepath.Join(dir, e.Name()))
		require.NoError(b, err)
		size += info.Size()
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		st, err := Stream(dir, Options{}, func(*event.Event) error { return nil }, nil)
		if err != nil {
			b.Fatal(err)
		}
		if st.Events == 0 {
			b.Fatal("no events")
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
