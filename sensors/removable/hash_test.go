package removable

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestHashStream(t *testing.T) {
	data := make([]byte, 3*hashBufSize+17)
	_, _ = rand.Read(data)
	sumOf := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	cases := []struct {
		name   string
		size   int
		limit  int64
		wantOK bool
	}{
		{"empty", 0, 10, true},
		{"one byte", 1, 10, true},
		{"exactly the limit", 1000, 1000, true},
		{"one byte over the limit", 1001, 1000, false},
		{"several buffers", len(data), int64(len(data)), true},
		{"much larger than the limit", len(data), 4096, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingReader{r: bytes.NewReader(data[:tc.size])}
			sum, n, ok, err := hashStream(cr, tc.limit)
			require.NoError(t, err)
			require.Equal(t, tc.wantOK, ok)
			require.LessOrEqual(t, cr.n, tc.limit+1, "read past the limit")
			if tc.wantOK {
				require.Equal(t, sumOf(data[:tc.size]), sum)
				require.Equal(t, int64(tc.size), n)
			} else {
				require.Empty(t, sum)
			}
		})
	}
}

// TestHashStreamBoundedMemory checks that hashing does not hold the file:
// hashing 8 MiB allocates a small constant amount, not the file's size.
func TestHashStreamBoundedMemory(t *testing.T) {
	data := make([]byte, 8<<20)
	var r bytes.Reader
	allocs := testing.AllocsPerRun(5, func() {
		r.Reset(data)
		_, _, ok, err := hashStream(&r, 1<<30)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
	})
	require.LessOrEqual(t, allocs, 8.0)
}

func TestHashStreamReadError(t *testing.T) {
	boom := errors.New("device gone")
	_, _, ok, err := hashStream(io.MultiReader(bytes.NewReader(make([]byte, 100)), iotestErr{boom}), 1000)
	require.False(t, ok)
	require.ErrorIs(t, err, boom)
	require.ErrorContains(t, err, "after 100 bytes")
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

func BenchmarkHashStream(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 16 << 20} {
		data := make([]byte, size)
		b.Run(fmt.Sprintf("size=%s", ByteSize(size)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			var r bytes.Reader
			for b.Loop() {
				r.Reset(data)
				if _, _, ok, err := hashStream(&r, 1<<30); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
