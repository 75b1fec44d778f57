package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// fixedSealKey returns a reproducible X25519 key, so that fuzz seeds and
// crafted packages are the same from run to run.
func fixedSealKey(t testing.TB, seed byte) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{seed}, 32))
	require.NoError(t, err)
	return k
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := mrand.New(mrand.NewPCG(seed, seed^0x5ea1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// sealBytes seals plain for recipient, writing it in writes of step bytes
// (all at once when step is 0).
func sealBytes(t testing.TB, plain []byte, recipient *ecdh.PublicKey, step int) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewSealer(&out, recipient)
	require.NoError(t, err)
	writeInSteps(t, w, plain, step)
	require.NoError(t, w.Close())
	return out.Bytes()
}

// sealFixed seals plain with a fixed ephemeral key: the result is the same
// on every run.
func sealFixed(t testing.TB, plain []byte, recipient *ecdh.PublicKey) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := newSealer(&out, recipient, fixedSealKey(t, 0x42))
	require.NoError(t, err)
	writeInSteps(t, w, plain, 0)
	require.NoError(t, w.Close())
	return out.Bytes()
}

func writeInSteps(t testing.TB, w io.Writer, plain []byte, step int) {
	t.Helper()
	if step <= 0 {
		step = len(plain)
	}
	for len(plain) > 0 {
		k := min(step, len(plain))
		n, err := w.Write(plain[:k])
		require.NoError(t, err)
		require.Equal(t, k, n)
		plain = plain[k:]
	}
}

// openBytes opens a sealed package held in memory.
func openBytes(blob []byte, key *ecdh.PrivateKey) ([]byte, error) {
	var out bytes.Buffer
	err := OpenSealed(&out, bytes.NewReader(blob), key)
	return out.Bytes(), err
}

// craftChunk is one chunk of a hand-made package: its plaintext, counter and
// final flag.
type craftChunk struct {
	plain   []byte
	counter uint64
	last    bool
}

// craftSealed builds a package chunk by chunk, so that tests can make what
// NewSealer never would (a final flag in the middle, an empty final chunk
// after data) and check that OpenSealed refuses it.
func craftSealed(t *testing.T, recipient *ecdh.PublicKey, chunks []craftChunk) []byte {
	t.Helper()
	eph := fixedSealKey(t, 0x24)
	aead, err := sealAEAD(eph, recipient, eph.PublicKey().Bytes(), recipient.Bytes())
	require.NoError(t, err)
	out := append([]byte(SealMagic), eph.PublicKey().Bytes()...)
	for _, c := range chunks {
		var nonce [12]byte
		out = aead.Seal(out, chunkNonce(&nonce, c.counter, c.last), c.plain, nil)
	}
	return out
}

func TestSealRoundTrip(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	tests := []struct {
		name string
		size int
		step int // bytes per Write; 0 writes everything at once
	}{
		{"empty", 0, 0},
		{"one byte", 1, 0},
		{"chunk-1", sealChunkSize - 1, 0},
		{"chunk", sealChunkSize, 0},
		{"chunk+1", sealChunkSize + 1, 0},
		{"3 chunks", 3 * sealChunkSize, 0},
		{"3 chunks in odd writes", 3 * sealChunkSize, 1000},
		{"chunk+1 byte by byte", sealChunkSize + 1, 1},
		{"1 MiB random", 1<<20 + 12345, 0},
		{"1 MiB in 32 KiB writes", 1<<20 + 12345, 32 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := randomBytes(tt.size, uint64(tt.size))
			blob := sealBytes(t, plain, key.PublicKey(), tt.step)
			require.True(t, IsSealed(blob))
			chunks := max(1, (tt.size+sealChunkSize-1)/sealChunkSize)
			require.Len(t, blob, sealHeaderSize+tt.size+chunks*sealTagSize, "stored size")
			got, err := openBytes(blob, key)
			require.NoError(t, err)
			require.Equal(t, len(plain), len(got))
			require.True(t, bytes.Equal(plain, got), "plaintext differs after the round trip")
		})
	}
}

func TestSealFreshEphemeralKey(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	a := sealBytes(t, []byte("same"), key.PublicKey(), 0)
	b := sealBytes(t, []byte("same"), key.PublicKey(), 0)
	require.NotEqual(t, a[len(SealMagic):sealHeaderSize], b[len(SealMagic):sealHeaderSize], "ephemeral keys must differ")
	require.NotEqual(t, a, b)
}

func TestSealHidesPlaintext(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	plain := bytes.Repeat([]byte("manifest.json"), 20000) // ~4 chunks
	blob := sealBytes(t, plain, key.PublicKey(), 0)
	for _, marker := range []string{"manifest.json", "manifest", "frames.json"} {
		require.NotContains(t, string(blob), marker)
	}
	got, err := openBytes(blob, key)
	require.NoError(t, err)
	require.Equal(t, plain, got)
}

func TestOpenSealedWrongKey(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	other, err := GenerateSealKey()
	require.NoError(t, err)
	for _, size := range []int{0, 100, 3*sealChunkSize + 7} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			blob := sealBytes(t, randomBytes(size, 1), key.PublicKey(), 0)
			got, err := openBytes(blob, other)
			require.ErrorIs(t, err, ErrSealed)
			require.ErrorContains(t, err, "wrong key")
			require.Empty(t, got, "nothing may be released under a wrong key")
		})
	}
}

func TestOpenSealedTruncated(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	plain := randomBytes(3*sealChunkSize+100, 7)
	blob := sealBytes(t, plain, key.PublicKey(), 0)
	boundary := func(i int) int { return sealHeaderSize + i*sealEncChunkSize }
	cuts := map[string]int{
		"empty":                     0,
		"one byte":                  1,
		"magic only":                len(SealMagic),
		"inside the ephemeral key":  len(SealMagic) + 10,
		"header only":               sealHeaderSize,
		"header and one byte":       sealHeaderSize + 1,
		"inside chunk 0":            boundary(0) + 1000,
		"chunk 0 without its tag":   boundary(1) - sealTagSize,
		"inside chunk 0 tag":        boundary(1) - 1,
		"after chunk 0":             boundary(1),
		"one byte into chunk 1":     boundary(1) + 1,
		"inside chunk 1":            boundary(1) + sealChunkSize/2,
		"after chunk 1":             boundary(2),
		"inside chunk 2":            boundary(2) + 17,
		"after chunk 2":             boundary(3),
		"inside the final chunk":    boundary(3) + 50,
		"final chunk without a tag": len(blob) - sealTagSize,
		"last byte missing":         len(blob) - 1,
	}
	for name, cut := range cuts {
		t.Run(name, func(t *testing.T) {
			got, err := openBytes(blob[:cut], key)
			require.ErrorIs(t, err, ErrSealed)
			// Whatever was released is authenticated plaintext, in order.
			require.True(t, bytes.HasPrefix(plain, got), "released bytes are not a prefix of the plaintext")
			require.Zero(t, len(got)%sealChunkSize, "released bytes are whole chunks")
		})
	}
	t.Run("at a boundary says truncated", func(t *testing.T) {
		_, err := openBytes(blob[:boundary(2)], key)
		require.ErrorIs(t, err, ErrSealed)
		require.ErrorContains(t, err, "truncated")
	})
}

func TestOpenSealedBitFlips(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)

	t.Run("every bit of a small package", func(t *testing.T) {
		blob := sealBytes(t, randomBytes(100, 3), key.PublicKey(), 0)
		for i := range blob {
			for bit := range 8 {
				bad := bytes.Clone(blob)
				bad[i] ^= 1 << bit
				got, err := openBytes(bad, key)
				require.ErrorIs(t, err, ErrSealed, "byte %d bit %d", i, bit)
				require.Empty(t, got, "byte %d bit %d", i, bit)
			}
		}
	})

	plain := randomBytes(3*sealChunkSize+100, 9)
	blob := sealBytes(t, plain, key.PublicKey(), 0)
	type flip struct {
		offset int
		chunk  int // first chunk whose plaintext must not be released; -1 for the header
	}
	flips := map[string]flip{
		"magic":               {0, -1},
		"version":             {len(SealMagic) - 1, -1},
		"ephemeral key":       {len(SealMagic), -1},
		"ephemeral key top":   {sealHeaderSize - 1, -1}, // the bit X25519 ignores
		"final chunk payload": {sealHeaderSize + 3*sealEncChunkSize + 5, 3},
		"final tag":           {len(blob) - 1, 3},
	}
	for c := range 3 {
		start := sealHeaderSize + c*sealEncChunkSize
		flips[fmt.Sprintf("chunk %d first byte", c)] = flip{start, c}
		flips[fmt.Sprintf("chunk %d middle", c)] = flip{start + sealChunkSize/2, c}
		flips[fmt.Sprintf("chunk %d last ciphertext byte", c)] = flip{start + sealChunkSize - 1, c}
		flips[fmt.Sprintf("chunk %d tag", c)] = flip{start + sealChunkSize, c}
		flips[fmt.Sprintf("chunk %d tag end", c)] = flip{start + sealEncChunkSize - 1, c}
	}
	for name, f := range flips {
		t.Run(name, func(t *testing.T) {
			for _, bit := range []byte{0x01, 0x80} {
				bad := bytes.Clone(blob)
				bad[f.offset] ^= bit
				got, err := openBytes(bad, key)
				require.ErrorIs(t, err, ErrSealed)
				// Chunks before the altered one were authenticated and may be
				// released; nothing from the altered one on.
				want := plain[:max(0, f.chunk)*sealChunkSize]
				require.Len(t, got, len(want))
				require.True(t, bytes.Equal(want, got), "released bytes differ from the plaintext")
			}
		})
	}
}

func TestOpenSealedReorderedAndExtra(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	pub := key.PublicKey()
	plain := randomBytes(3*sealChunkSize+100, 11)
	blob := sealBytes(t, plain, pub, 0)
	chunk := func(i int) []byte {
		start := sealHeaderSize + i*sealEncChunkSize
		return blob[start:min(start+sealEncChunkSize, len(blob))]
	}
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	full := func(b byte) []byte { return bytes.Repeat([]byte{b}, sealChunkSize) }
	header := blob[:sealHeaderSize]
	other := sealBytes(t, plain, pub, 0)

	tests := []struct {
		name string
		blob []byte
		want string // part of the error message
	}{
		{"chunks 0 and 1 swapped", join(header, chunk(1), chunk(0), chunk(2), chunk(3)), "authentication failed"},
		{"chunks 1 and 2 swapped", join(header, chunk(0), chunk(2), chunk(1), chunk(3)), "authentication failed"},
		{"chunk 1 repeated", join(header, chunk(0), chunk(1), chunk(1), chunk(2), chunk(3)), "authentication failed"},
		{"chunk 1 dropped", join(header, chunk(0), chunk(2), chunk(3)), "authentication failed"},
		{"final chunk dropped", join(header, chunk(0), chunk(1), chunk(2)), "truncated"},
		{"chunk from another package", join(header, chunk(0), other[sealHeaderSize+sealEncChunkSize:]), "authentication failed"},
		{"trailing byte", join(blob, []byte{0}), "authentication failed"},
		{"trailing copy of the final chunk", join(blob, chunk(3)), "authentication failed"},
		{"trailing 16 zero bytes", join(blob, make([]byte, 16)), "authentication failed"},
		{"full final chunk then more", craftSealed(t, pub, []craftChunk{
			{full(1), 0, true}, {[]byte("more"), 1, true},
		}), "data after the final chunk"},
		{"full final chunk then a full chunk", craftSealed(t, pub, []craftChunk{
			{full(1), 0, true}, {full(2), 1, false}, {[]byte("x"), 2, true},
		}), "data after the final chunk"},
		{"full non-final chunk at the end", craftSealed(t, pub, []craftChunk{
			{full(1), 0, false}, {full(2), 1, false},
		}), "truncated"},
		{"empty final chunk after data", craftSealed(t, pub, []craftChunk{
			{full(1), 0, false}, {nil, 1, true},
		}), "empty final chunk"},
		{"counter starts at 1", craftSealed(t, pub, []craftChunk{
			{[]byte("x"), 1, true},
		}), "authentication failed"},
		{"short chunk not flagged final", craftSealed(t, pub, []craftChunk{
			{[]byte("x"), 0, false},
		}), "truncated"},
		{"header only", bytes.Clone(header), "no chunk"},
		{"version 2", join([]byte("VGSEAL\x02"), blob[len(SealMagic):]), "unsupported format version 2"},
		{"a zip", join([]byte("PK\x03\x04"), make([]byte, 100)), "not a sealed package"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openBytes(tt.blob, key)
			require.ErrorIs(t, err, ErrSealed)
			require.ErrorContains(t, err, tt.want)
		})
	}

	t.Run("crafted canonical package opens", func(t *testing.T) {
		// The crafting helper itself is right: the same chunks, properly
		// flagged, open.
		got, err := openBytes(craftSealed(t, pub, []craftChunk{
			{full(1), 0, false}, {full(2), 1, true},
		}), key)
		require.NoError(t, err)
		require.Equal(t, append(full(1), full(2)...), got)
	})
}

func TestOpenSealedLowOrderEphemeralKey(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	lowOrder := [][]byte{
		make([]byte, 32),                       // 0
		append([]byte{1}, make([]byte, 31)...), // 1
	}
	for i, pt := range lowOrder {
		blob := append(append([]byte(SealMagic), pt...), make([]byte, 64)...)
		_, err := openBytes(blob, key)
		require.ErrorIs(t, err, ErrSealed, "point %d", i)
		require.ErrorContains(t, err, "key exchange")

		pub, err := ecdh.X25519().NewPublicKey(pt)
		require.NoError(t, err)
		_, err = NewSealer(io.Discard, pub)
		require.Error(t, err, "sealing to a low-order point %d", i)
	}
}

func TestOpenSealedBadKeyArgument(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	blob := sealBytes(t, []byte("x"), key.PublicKey(), 0)
	p256, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	for name, k := range map[string]*ecdh.PrivateKey{"nil": nil, "P-256": p256} {
		t.Run(name, func(t *testing.T) {
			err := OpenSealed(io.Discard, bytes.NewReader(blob), k)
			require.ErrorContains(t, err, "not an X25519 private key")
			require.NotErrorIs(t, err, ErrSealed, "a usage error is not a verdict on the input")
		})
	}
	_, err = NewSealer(io.Discard, nil)
	require.ErrorContains(t, err, "not an X25519 public key")
	_, err = NewSealer(io.Discard, p256.PublicKey())
	require.ErrorContains(t, err, "not an X25519 public key")
}

// failWriter accepts limit bytes, then fails.
type failWriter struct {
	limit int
	err   error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, w.err
	}
	w.limit -= len(p)
	return len(p), nil
}

// shortWriter accepts the header, then reports writing one byte less than
// it was given, without an error.
type shortWriter struct{ calls int }

func (w *shortWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.calls == 1 {
		return len(p), nil
	}
	return len(p) - 1, nil
}

// closeTrap fails the test if it is closed.
type closeTrap struct {
	bytes.Buffer
	t *testing.T
}

func (c *closeTrap) Close() error {
	c.t.Error("the sealer closed its destination")
	return nil
}

func TestSealerIO(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	errDisk := errors.New("disk full")

	t.Run("header write fails", func(t *testing.T) {
		_, err := NewSealer(&failWriter{limit: 3, err: errDisk}, key.PublicKey())
		require.ErrorIs(t, err, errDisk)
		require.ErrorContains(t, err, "write header")
	})
	t.Run("chunk write fails in Write then sticks", func(t *testing.T) {
		w, err := NewSealer(&failWriter{limit: sealHeaderSize + 10, err: errDisk}, key.PublicKey())
		require.NoError(t, err)
		_, err = w.Write(make([]byte, sealChunkSize+1))
		require.ErrorIs(t, err, errDisk)
		require.ErrorContains(t, err, "write chunk 0")
		_, err = w.Write([]byte("x"))
		require.ErrorIs(t, err, errDisk)
		require.ErrorIs(t, w.Close(), errDisk)
	})
	t.Run("final chunk write fails in Close", func(t *testing.T) {
		w, err := NewSealer(&failWriter{limit: sealHeaderSize, err: errDisk}, key.PublicKey())
		require.NoError(t, err)
		_, err = w.Write([]byte("small"))
		require.NoError(t, err)
		require.ErrorIs(t, w.Close(), errDisk)
	})
	t.Run("short write without error", func(t *testing.T) {
		w, err := NewSealer(&shortWriter{}, key.PublicKey())
		require.NoError(t, err)
		_, err = w.Write([]byte("0123456789"))
		require.NoError(t, err)
		require.ErrorIs(t, w.Close(), io.ErrShortWrite)
	})
	t.Run("close does not close the destination and is idempotent", func(t *testing.T) {
		dst := &closeTrap{t: t}
		w, err := NewSealer(dst, key.PublicKey())
		require.NoError(t, err)
		_, err = w.Write([]byte("hello"))
		require.NoError(t, err)
		require.NoError(t, w.Close())
		require.NoError(t, w.Close())
		_, err = w.Write([]byte("late"))
		require.ErrorContains(t, err, "write after Close")
		got, err := openBytes(dst.Bytes(), key)
		require.NoError(t, err)
		require.Equal(t, "hello", string(got))
	})
}

func TestOpenSealedIO(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	plain := randomBytes(2*sealChunkSize+10, 5)
	blob := sealBytes(t, plain, key.PublicKey(), 0)
	errRead := errors.New("read failed")
	errWrite := errors.New("write failed")

	t.Run("reader fails in the header", func(t *testing.T) {
		err := OpenSealed(io.Discard, io.MultiReader(bytes.NewReader(blob[:10]), iotest.ErrReader(errRead)), key)
		require.ErrorIs(t, err, errRead)
		require.NotErrorIs(t, err, ErrSealed)
	})
	t.Run("reader fails in a chunk", func(t *testing.T) {
		var out bytes.Buffer
		r := io.MultiReader(bytes.NewReader(blob[:sealHeaderSize+sealEncChunkSize+100]), iotest.ErrReader(errRead))
		err := OpenSealed(&out, r, key)
		require.ErrorIs(t, err, errRead)
		require.NotErrorIs(t, err, ErrSealed)
		require.Equal(t, plain[:sealChunkSize], out.Bytes())
	})
	t.Run("writer fails", func(t *testing.T) {
		err := OpenSealed(&failWriter{limit: sealChunkSize + 3, err: errWrite}, bytes.NewReader(blob), key)
		require.ErrorIs(t, err, errWrite)
		require.ErrorContains(t, err, "write chunk 1")
		require.NotErrorIs(t, err, ErrSealed)
	})
	t.Run("one-byte reads", func(t *testing.T) {
		var out bytes.Buffer
		require.NoError(t, OpenSealed(&out, iotest.OneByteReader(bytes.NewReader(blob)), key))
		require.Equal(t, plain, out.Bytes())
	})
	t.Run("data with EOF", func(t *testing.T) {
		var out bytes.Buffer
		require.NoError(t, OpenSealed(&out, iotest.DataErrReader(bytes.NewReader(blob)), key))
		require.Equal(t, plain, out.Bytes())
	})
}

func TestOpenSealedStreamsInBoundedMemory(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	const size = 16 << 20
	blob := sealBytes(t, make([]byte, size), key.PublicKey(), 0)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	require.NoError(t, OpenSealed(io.Discard, bytes.NewReader(blob), key))
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	require.Less(t, allocated, uint64(1<<20), "opening %d bytes allocated %d bytes", size, allocated)
}

func TestSealChunkCounter(t *testing.T) {
	next, err := nextCounter(0)
	require.NoError(t, err)
	require.Equal(t, uint64(1), next)
	_, err = nextCounter(math.MaxUint64)
	require.ErrorContains(t, err, "overflow")

	var n [12]byte
	require.Equal(t, []byte{0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1}, chunkNonce(&n, 0x0102030405060708, true))
	require.Equal(t, make([]byte, 12), chunkNonce(&n, 0, false), "the previous nonce is overwritten")
}

func TestIsSealed(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	f, err := zw.Create("manifest.json")
	require.NoError(t, err)
	_, err = f.Write([]byte("{}"))
	require.NoError(t, err)
	require.NoError(t, zw.Close())

	tests := []struct {
		name string
		data []byte
		want bool
	}{
		{"sealed package", sealBytes(t, []byte("x"), key.PublicKey(), 0), true},
		{"magic alone", []byte(SealMagic), true},
		{"plain zip", zipped.Bytes(), false},
		{"nil", nil, false},
		{"short", []byte("VGSEA"), false},
		{"name without version", []byte("VGSEAL"), false},
		{"other version", []byte("VGSEAL\x02rest"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, IsSealed(tt.data))
		})
	}
}

func TestSealPublicKeyEncoding(t *testing.T) {
	key, err := GenerateSealKey()
	require.NoError(t, err)
	s := MarshalSealPublicKey(key.PublicKey())
	raw, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	require.Len(t, raw, 32)
	for _, in := range []string{s, " " + s + "\n"} {
		got, err := ParseSealPublicKey(in)
		require.NoError(t, err)
		require.True(t, got.Equal(key.PublicKey()))
	}
	require.Empty(t, MarshalSealPublicKey(nil))

	b64 := base64.StdEncoding.EncodeToString
	bad := []struct {
		name, in, want string
	}{
		{"empty", "", "0 bytes, want 32"},
		{"not base64", "not base64!", "base64"},
		{"URL alphabet", strings.Repeat("-_", 22), "base64"},
		{"31 bytes", b64(make([]byte, 31)), "31 bytes, want 32"},
		{"33 bytes", b64(make([]byte, 33)), "33 bytes, want 32"},
		{"all zero point", b64(make([]byte, 32)), "low-order"},
		{"point 1", b64(append([]byte{1}, make([]byte, 31)...)), "low-order"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSealPublicKey(tt.in)
			require.ErrorContains(t, err, "parse seal public key")
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestLoadOrCreateSealKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys", "seal")
	path := filepath.Join(dir, "seal.key")

	k1, err := LoadOrCreateSealKey(path)
	require.NoError(t, err)
	st, err := os.Stat(path)
	require.NoError(t, err)
	dst, err := os.Stat(dir)
	require.NoError(t, err)
	if runtime.GOOS != "windows" { // Windows has no Unix permission bits
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
		require.Equal(t, os.FileMode(0o700), dst.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	blk, _ := pem.Decode(data)
	require.NotNil(t, blk)
	require.Equal(t, "PRIVATE KEY", blk.Type)

	k2, err := LoadOrCreateSealKey(path)
	require.NoError(t, err)
	require.True(t, k1.Equal(k2), "reloading gives the same key")
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, data, again, "loading does not rewrite the file")

	// The loaded key opens what was sealed to the created one.
	blob := sealBytes(t, []byte("evidence"), k1.PublicKey(), 0)
	got, err := openBytes(blob, k2)
	require.NoError(t, err)
	require.Equal(t, "evidence", string(got))
}

func TestLoadOrCreateSealKeyRefusesBadFiles(t *testing.T) {
	pemOf := func(typ string, der []byte) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	edDER, err := x509.MarshalPKCS8PrivateKey(edKey)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	require.NoError(t, err)
	good, err := GenerateSealKey()
	require.NoError(t, err)
	goodDER, err := x509.MarshalPKCS8PrivateKey(good)
	require.NoError(t, err)
	goodPEM := pemOf("PRIVATE KEY", goodDER)

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "not a PEM file"},
		{"garbage", []byte("this is not a key\n"), "not a PEM file"},
		{"damaged DER", pemOf("PRIVATE KEY", goodDER[:len(goodDER)-5]), "parse PKCS#8"},
		{"damaged base64", bytes.Replace(goodPEM, []byte("\n"), []byte("\n!"), 2), "not a PEM file"},
		{"Ed25519 key", pemOf("PRIVATE KEY", edDER), "not an X25519 key: the key is a ed25519.PrivateKey"},
		{"ECDSA P-256 key", pemOf("PRIVATE KEY", ecDER), "not an X25519 key: the key is a *ecdsa.PrivateKey"},
		{"public key block", pemOf("PUBLIC KEY", goodDER), `PEM block "PUBLIC KEY", want "PRIVATE KEY"`},
		{"trailing data", append(bytes.Clone(goodPEM), "junk"...), "unexpected data after the PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "seal.key")
			require.NoError(t, os.WriteFile(path, tt.data, 0o600))
			_, err := LoadOrCreateSealKey(path)
			require.ErrorContains(t, err, "load seal key "+path)
			require.ErrorContains(t, err, tt.want)
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, string(tt.data), string(after), "a bad key file is left untouched")
		})
	}

	t.Run("unreadable path", func(t *testing.T) {
		_, err := LoadOrCreateSealKey(t.TempDir()) // a directory
		require.ErrorContains(t, err, "load seal key")
	})
	t.Run("parent is a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(file, nil, 0o600))
		_, err := LoadOrCreateSealKey(filepath.Join(file, "seal.key"))
		require.Error(t, err)
	})
}

// fuzzSealSeeds returns reproducible valid packages for key's public key
// and the plaintext each one holds.
func fuzzSealSeeds(t testing.TB, key *ecdh.PrivateKey) map[string][]byte {
	t.Helper()
	seeds := map[string][]byte{}
	for _, plain := range [][]byte{
		nil,
		[]byte("manifest.json"),
		randomBytes(1000, 1),
		// No multi-chunk seed: inputs of 64 KiB and more cut the fuzzer's
		// throughput thirtyfold. Chunk boundaries, reordering and
		// truncation of long packages are tested exhaustively above.
	} {
		seeds[string(sealFixed(t, plain, key.PublicKey()))] = plain
	}
	return seeds
}

func FuzzOpenSealed(f *testing.F) {
	key := fixedSealKey(f, 7)
	seeds := fuzzSealSeeds(f, key)
	for blob := range seeds {
		b := []byte(blob)
		f.Add(b)
		for _, cut := range []int{0, 6, len(SealMagic), sealHeaderSize, sealHeaderSize + 5, len(b) - 1} {
			if cut >= 0 && cut < len(b) {
				f.Add(b[:cut])
			}
		}
		f.Add(append(bytes.Clone(b), 0))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		err := OpenSealed(&out, bytes.NewReader(data), key)
		if err != nil {
			require.ErrorIs(t, err, ErrSealed)
			return
		}
		// Forging a package is infeasible: anything that opens is one of
		// the seeds, and gives back its plaintext.
		plain, ok := seeds[string(data)]
		require.True(t, ok, "an input that is not a seed opened")
		require.Equal(t, len(plain), out.Len())
		require.True(t, bytes.Equal(plain, out.Bytes()))
	})
}

func FuzzSealRoundTrip(f *testing.F) {
	key := fixedSealKey(f, 9)
	f.Add([]byte(""), uint32(0), uint16(0))
	f.Add([]byte("manifest.json"), uint32(0), uint16(3))
	f.Add([]byte("x"), uint32(sealChunkSize-1), uint16(0))
	f.Add([]byte("xy"), uint32(sealChunkSize-1), uint16(4095))
	f.Add([]byte{1, 2, 3}, uint32(2*sealChunkSize), uint16(65535))
	f.Fuzz(func(t *testing.T, data []byte, pad uint32, step uint16) {
		// pad puts the fuzzed bytes anywhere in the first three chunks;
		// step varies how the plaintext is cut into writes.
		plain := append(randomBytes(int(pad%(3*sealChunkSize)), uint64(pad)), data...)
		var out bytes.Buffer
		w, err := NewSealer(&out, key.PublicKey())
		require.NoError(t, err)
		writeInSteps(t, w, plain, int(step))
		require.NoError(t, w.Close())
		got, err := openBytes(out.Bytes(), key)
		require.NoError(t, err)
		require.True(t, bytes.Equal(plain, got), "round trip changed %d bytes of plaintext", len(plain))
	})
}

// benchSealSize is about one minute of 1080p screen evidence.
const benchSealSize = 23_000_000

func BenchmarkSeal(b *testing.B) {
	key := fixedSealKey(b, 1)
	plain := randomBytes(benchSealSize, 1)
	b.Run("size=23MB", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		for b.Loop() {
			w, err := NewSealer(io.Discard, key.PublicKey())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.Write(plain); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkOpen(b *testing.B) {
	key := fixedSealKey(b, 1)
	blob := sealBytes(b, randomBytes(benchSealSize, 1), key.PublicKey(), 0)
	b.Run("size=23MB", func(b *testing.B) {
		b.SetBytes(benchSealSize)
		b.ReportAllocs()
		for b.Loop() {
			if err := OpenSealed(io.Discard, bytes.NewReader(blob), key); err != nil {
				b.Fatal(err)
			}
		}
	})
}
