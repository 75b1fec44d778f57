package removable

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
)

// hashBufSize is the read size when hashing; one buffer per worker.
const hashBufSize = 128 << 10

var hashBufs = sync.Pool{New: func() any { b := make([]byte, hashBufSize); return &b }}

// hashStream returns the hex SHA-256 of r, which is read in fixed-size
// chunks: memory use does not depend on the file's size. It reads at most
// limit+1 bytes; when r holds more than limit bytes it returns ok false and
// no hash, so that a file larger than the limit, or one that grew past it
// while being read, costs at most limit bytes of reading. n is how many
// bytes were hashed.
func hashStream(r io.Reader, limit int64) (sum string, n int64, ok bool, err error) {
	bp, _ := hashBufs.Get().(*[]byte)
	defer hashBufs.Put(bp)
	h := sha256.New()
	n, err = io.CopyBuffer(h, io.LimitReader(r, limit+1), *bp)
	if err != nil {
		return "", n, false, fmt.Errorf("hash: read after %d bytes: %w", n, err)
	}
	if n > limit {
		return "", n, false, nil
	}
	return hex.EncodeToString(h.Sum(nil)), n, true, nil
}
