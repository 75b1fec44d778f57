package process

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"syscall"
)

// fileKey identifies one version of a file.
type fileKey struct {
	dev, ino   uint64
	size       int64
	mtimeNanos int64
}

type hashEntry struct {
	key fileKey
	sum string
}

// hashCache remembers the SHA-256 of executables, least recently used out
// first. It is used by one goroutine.
type hashCache struct {
	max      int
	maxBytes int64
	lru      *list.List
	byKey    map[fileKey]*list.Element
	hits     uint64
	misses   uint64
}

func newHashCache(entries int, maxBytes int64) *hashCache {
	return &hashCache{max: entries, maxBytes: maxBytes, lru: list.New(), byKey: map[fileKey]*list.Element{}}
}

// sum returns the hex SHA-256 of the file at path (a /proc/PID/exe link,
// which opens the very image the process runs even when it was replaced or
// deleted). Files larger than maxBytes give "".
func (c *hashCache) sum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return "", nil
	}
	key := fileKey{dev: st.Dev, ino: st.Ino, size: fi.Size(), mtimeNanos: fi.ModTime().UnixNano()}
	if el, ok := c.byKey[key]; ok {
		c.hits++
		c.lru.MoveToFront(el)
		return el.Value.(*hashEntry).sum, nil //nolint:errcheck // only *hashEntry values are stored
	}
	c.misses++
	if fi.Size() > c.maxBytes {
		return "", nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	c.byKey[key] = c.lru.PushFront(&hashEntry{key: key, sum: sum})
	for c.lru.Len() > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.byKey, old.Value.(*hashEntry).key) //nolint:errcheck // only *hashEntry values are stored
	}
	return sum, nil
}
