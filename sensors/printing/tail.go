package printing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// maxLine bounds one log line; longer lines are dropped whole.
const maxLine = 64 << 10

// tailState is what the tailer saves so that a restarted agent resumes where
// it stopped: the file's identity and the offset of the first unread byte.
type tailState struct {
	Path   string   `json:"path"`
	FileID uint64   `json:"file_id"`
	Offset int64    `json:"offset"`
	Recent []string `json:"recent,omitempty"`
}

// tailer follows a log file that may be rotated (renamed away and
// recreated) or truncated. It keeps the file open between polls, so lines
// written to the old file just before a rotation are still read.
type tailer struct {
	path    string
	f       *os.File
	info    os.FileInfo
	off     int64
	partial []byte
	long    bool // the partial line already exceeded maxLine
	buf     []byte
	// fromStart makes the next opened file be read from its beginning; it
	// is false only for the file that already existed when the sensor
	// started without saved state.
	fromStart bool
}

func newTailer(path string) *tailer {
	return &tailer{path: path, buf: make([]byte, 32<<10)}
}

// resume positions the tailer from saved state, or at the end of the
// current file when there is none or it names another file.
func (t *tailer) resume(st *tailState) error {
	f, err := os.Open(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		// A log that appears later is new: read all of it.
		t.fromStart = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", t.path, err)
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("stat %s: %w", t.path, err)
	}
	t.f, t.info, t.fromStart = f, info, true
	t.off = info.Size()
	if st != nil && st.Path == t.path && st.FileID != 0 && st.FileID == fileID(info) && st.Offset <= info.Size() {
		t.off = st.Offset
	}
	return nil
}

// state returns what to save.
func (t *tailer) state() tailState {
	st := tailState{Path: t.path, Offset: t.off}
	if t.info != nil {
		st.FileID = fileID(t.info)
	}
	return st
}

// poll reads every complete line written since the last call and passes it
// to fn. It returns whether anything was read.
func (t *tailer) poll(fn func(line []byte)) (bool, error) {
	read := false
	if t.f != nil {
		n, err := t.drain(fn)
		read = n > 0
		if err != nil {
			return read, err
		}
	}
	info, err := os.Stat(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return read, nil // rotated away and not yet recreated: keep the old file
	}
	if err != nil {
		return read, fmt.Errorf("stat %s: %w", t.path, err)
	}
	switch {
	case t.f == nil || !os.SameFile(info, t.info):
		// Rotated: the old file was drained above; start the new one.
		if t.f != nil {
			_ = t.f.Close()
			t.f = nil
		}
		f, err := os.Open(t.path)
		if err != nil {
			return read, fmt.Errorf("open %s: %w", t.path, err)
		}
		if info, err = f.Stat(); err != nil {
			_ = f.Close()
			return read, fmt.Errorf("stat %s: %w", t.path, err)
		}
		t.f, t.info, t.off, t.partial, t.long = f, info, 0, t.partial[:0], false
		if !t.fromStart {
			t.off = info.Size()
		}
		t.fromStart = true
	case info.Size() < t.off:
		// Truncated in place (copytruncate): start over.
		t.off, t.partial, t.long = 0, t.partial[:0], false
		t.info = info
	default:
		return read, nil
	}
	n, err := t.drain(fn)
	return read || n > 0, err
}

// drain reads the open file from t.off to its end.
func (t *tailer) drain(fn func(line []byte)) (int, error) {
	total := 0
	for {
		n, err := t.f.ReadAt(t.buf, t.off)
		if n > 0 {
			total += n
			t.off += int64(n)
			t.split(t.buf[:n], fn)
		}
		if errors.Is(err, io.EOF) || n == 0 {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("read %s: %w", t.path, err)
		}
	}
}

func (t *tailer) split(b []byte, fn func(line []byte)) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			t.keep(b)
			return
		}
		t.keep(b[:i])
		if !t.long {
			fn(t.partial)
		}
		t.partial, t.long = t.partial[:0], false
		b = b[i+1:]
	}
}

func (t *tailer) keep(b []byte) {
	if t.long {
		return
	}
	if len(t.partial)+len(b) > maxLine {
		t.partial, t.long = t.partial[:0], true
		return
	}
	t.partial = append(t.partial, b...)
}

func (t *tailer) close() {
	if t.f != nil {
		_ = t.f.Close()
		t.f = nil
	}
}

// loadState reads saved state; a missing or unreadable file means none.
func loadState(path string) *tailState {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var st tailState
	if json.Unmarshal(data, &st) != nil {
		return nil
	}
	return &st
}

// saveState writes st atomically.
func saveState(path string, st tailState) error {
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

// statePath is where the sensor keeps its state in dataDir.
func statePath(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, Name+".state.json")
}
