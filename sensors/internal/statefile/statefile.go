// Package statefile owns the small JSON file in which a sensor keeps its
// state in the agent's data directory (offsets read, items reported), so
// that a restarted agent neither reports a thing twice nor misses one, and
// the bounded memory of recently reported keys that such state carries. The
// file is replaced atomically; a missing or damaged file reads as no state.
//
// It must not import the engine, the store, the API or any sensor package.
package statefile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Path returns where the sensor called name keeps its state in dataDir, ""
// (no state kept) when dataDir is empty.
func Path(dataDir, name string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, name+".state.json")
}

// Load reads the state saved at path. It returns nil when path is empty or
// the file is missing, unreadable or not valid JSON for T: the sensor then
// starts afresh.
func Load[T any](path string) *T {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var st T
	if json.Unmarshal(data, &st) != nil {
		return nil
	}
	return &st
}

// Save writes st as JSON to path atomically (a temporary file renamed over
// it), readable by the agent's user only. An empty path saves nothing.
func Save(path string, st any) error {
	if path == "" {
		return nil
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write state %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save state %s: %w", path, err)
	}
	return nil
}

// Recent remembers the keys most recently added, up to a bound, oldest
// first: the things a sensor reported lately, kept in its state so that a
// thing seen twice (in two places, or again after a restart) is reported
// once. It is not safe for concurrent use.
type Recent struct {
	max  int
	keys []string
	seen map[string]bool
}

// NewRecent returns an empty Recent that remembers up to maxKeys keys.
func NewRecent(maxKeys int) *Recent {
	return &Recent{max: maxKeys, seen: map[string]bool{}}
}

// Has reports whether key is remembered.
func (r *Recent) Has(key string) bool { return r.seen[key] }

// Add remembers key, forgetting the oldest key when the bound is reached.
// It returns false, and changes nothing, when key is already remembered.
func (r *Recent) Add(key string) bool {
	if r.seen[key] {
		return false
	}
	if len(r.keys) >= r.max {
		delete(r.seen, r.keys[0])
		r.keys = append(r.keys[:0], r.keys[1:]...)
	}
	r.keys = append(r.keys, key)
	r.seen[key] = true
	return true
}

// Keys returns the remembered keys, oldest first, to be saved. The slice is
// valid until the next Add.
func (r *Recent) Keys() []string { return r.keys }
