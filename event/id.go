package event

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a new ULID for time t: 26 characters of Crockford base32,
// 48 bits of millisecond time then 80 random bits, so IDs sort by time.
func NewID(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return encodeULID(&b)
}

// DerivedID returns a ULID for time t whose 80 low bits are taken from the
// SHA-256 of parts, so that the same parts always give the same id. Two
// evaluations of one event under one bundle, on the endpoint and on the
// server, name their decision alike, and the server keeps one alert.
func DerivedID(t time.Time, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		// Length-prefix each part so that ("ab","c") and ("a","bc") differ.
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	sum := h.Sum(nil)
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	copy(b[6:], sum[:10])
	return encodeULID(&b)
}

// encodeULID writes 128 bits as 26 Crockford base32 digits.
func encodeULID(b *[16]byte) string {
	// 128 bits → 26 base32 digits, most significant first.
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
