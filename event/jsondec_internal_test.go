package event

import (
	"math/rand/v2"
	"testing"
)

// plainRunRef is plainRun a byte at a time.
func plainRunRef(data []byte, i int) int {
	for i < len(data) && plainByte[data[i]] {
		i++
	}
	return i
}

func TestPlainRun(t *testing.T) {
	// Every byte value at every place of a word and the tail, after plain
	// bytes and before any bytes.
	for b := range 256 {
		for at := range 20 {
			for _, fill := range []byte{'a', '~', ' ', '"', 0x80, 0x01} {
				data := make([]byte, 20)
				for i := range data {
					data[i] = 'a'
				}
				for i := at + 1; i < len(data); i++ {
					data[i] = fill
				}
				data[at] = byte(b)
				for from := 0; from <= at; from++ {
					if got, want := plainRun(data, from), plainRunRef(data, from); got != want {
						t.Fatalf("byte %#x at %d, then %#x, from %d: %d, want %d", b, at, fill, from, got, want)
					}
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	special := []byte{'"', '\\', 0, 0x1f, 0x7f, 0x80, 0xff, ' ', '!', '[', ']', '#', '\n'}
	for range 20000 {
		data := make([]byte, rng.IntN(40))
		for i := range data {
			if rng.IntN(8) == 0 {
				data[i] = special[rng.IntN(len(special))]
			} else {
				data[i] = byte(0x20 + rng.IntN(0x60))
			}
		}
		from := 0
		if len(data) > 0 {
			from = rng.IntN(len(data) + 1)
		}
		if got, want := plainRun(data, from), plainRunRef(data, from); got != want {
			t.Fatalf("%q from %d: %d, want %d", data, from, got, want)
		}
	}
}
