package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Spool kinds: alerts waiting for delivery and dead letters.
const (
	kindQueue = "queue"
	kindDead  = "dead"
)

// spool persists a sink's queue and dead letters. Implementations are safe
// for concurrent use on different ids.
type spool interface {
	// save writes (or overwrites) entry e of kind.
	save(kind string, e *DeadLetter) error
	// remove deletes entry id of kind; a missing entry is not an error.
	remove(kind, id string) error
	// load returns every entry of kind, oldest first.
	load(kind string) ([]*DeadLetter, error)
}

// memSpool keeps nothing: queue and dead letters live in memory only.
type memSpool struct{}

func (memSpool) save(string, *DeadLetter) error     { return nil }
func (memSpool) remove(string, string) error        { return nil }
func (memSpool) load(string) ([]*DeadLetter, error) { return nil, nil }

// dirSpool keeps one JSON file per entry, under <dir>/queue and
// <dir>/dead, named by the entry id, which sorts by time. Files are written
// to a temporary name and renamed, so that a crash leaves either the old or
// the new file; with sync set they are also flushed to disk.
//
// One file per entry costs a file write per alert and sink, which is cheap
// at alert rates (alerts are rare next to events), keeps the format
// inspectable with ls and jq, needs no schema in the store (so it works the
// same whichever store the server uses), and does not contend with the
// store's writer.
type dirSpool struct {
	dir  string
	sync bool
}

func newDirSpool(dir string, sync bool) (*dirSpool, error) {
	for _, k := range []string{kindQueue, kindDead} {
		if err := os.MkdirAll(filepath.Join(dir, k), 0o700); err != nil {
			return nil, fmt.Errorf("create sink state directory: %w", err)
		}
	}
	return &dirSpool{dir: dir, sync: sync}, nil
}

func (s *dirSpool) file(kind, id string) string {
	return filepath.Join(s.dir, kind, id+".json")
}

func (s *dirSpool) save(kind string, e *DeadLetter) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode %s entry %s: %w", kind, e.ID, err)
	}
	name := s.file(kind, e.ID)
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s entry: %w", kind, err)
	}
	_, err = f.Write(data)
	if err == nil && s.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s entry %s: %w", kind, name, err)
	}
	if s.sync {
		return syncDir(filepath.Dir(name))
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer func() { _ = d.Close() }()
	// Directories cannot be synced on every OS; that is not an error.
	_ = d.Sync()
	return nil
}

func (s *dirSpool) remove(kind, id string) error {
	if err := os.Remove(s.file(kind, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s entry %s: %w", kind, id, err)
	}
	return nil
}

func (s *dirSpool) load(kind string) ([]*DeadLetter, error) {
	dir := filepath.Join(s.dir, kind)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s directory: %w", kind, err)
	}
	var out []*DeadLetter
	var errs []error
	for _, de := range ents {
		name := de.Name()
		if strings.HasSuffix(name, ".tmp") {
			// A write that did not finish: its entry was never acknowledged.
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		if !strings.HasSuffix(name, ".json") || de.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s entry %s: %w", kind, name, err))
			continue
		}
		var e DeadLetter
		if err := json.Unmarshal(data, &e); err != nil || (e.Alert == nil && len(e.Events) == 0) || e.ID != strings.TrimSuffix(name, ".json") {
			if err == nil {
				err = errors.New("not a sink entry")
			}
			errs = append(errs, fmt.Errorf("%s entry %s (left in place): %w", kind, filepath.Join(dir, name), err))
			continue
		}
		out = append(out, &e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, errors.Join(errs...)
}
