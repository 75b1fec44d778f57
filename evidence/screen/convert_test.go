package screen

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBGRXToRGBA(t *testing.T) {
	tests := []struct {
		name     string
		src, out []byte
	}{
		{"one pixel", []byte{1, 2, 3, 0}, []byte{3, 2, 1, 255}},
		{"two pixels", []byte{1, 2, 3, 9, 4, 5, 6, 9}, []byte{3, 2, 1, 255, 6, 5, 4, 255}},
		{"three pixels", []byte{0xff, 0, 0x80, 0xee, 1, 2, 3, 4, 10, 20, 30, 40}, []byte{0x80, 0, 0xff, 255, 3, 2, 1, 255, 30, 20, 10, 255}},
		{"empty", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, len(tc.src))
			bgrxToRGBA(dst, tc.src)
			require.Equal(t, len(tc.out), len(dst))
			if len(dst) > 0 {
				require.Equal(t, tc.out, dst)
			}
		})
	}
}

func BenchmarkBGRXToRGBA(b *testing.B) {
	src := make([]byte, 1920*1080*4)
	dst := make([]byte, len(src))
	for i := range src {
		src[i] = byte(i)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		bgrxToRGBA(dst, src)
	}
}
