package logtail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxLine bounds one log line; longer lines are dropped whole.
const MaxLine = 64 << 10

// Position is what a sensor saves so that a restarted agent resumes where
// its Tailer stopped: the file's identity and the offset of the first
// unread byte. Sensors embed it in their saved state, so its JSON names
// must not change.
type Position struct {
	Path   string `json:"path"`
	FileID uint64 `json:"file_id"`
	Offset int64  `json:"offset"`
}

// Tailer follows a log file that may be rotated (renamed away and
// recreated) or truncated. It keeps the file open between polls, so lines
// written to the old file just before a rotation are still read. It is not
// safe for concurrent use.
type Tailer struct {
	path    string
	f       *os.File
	info    os.FileInfo
	off     int64
	partial []byte
	long    bool // the partial line already exceeded MaxLine
	buf     []byte
	// fromStart makes the next opened file be read from its beginning; it
	// is false only for the file that already existed when the sensor
	// started without saved state.
	fromStart bool
}

// New returns a tailer of the file at path. Call Resume before the first
// Poll, and Close when done.
func New(path string) *Tailer {
	return &Tailer{path: path, buf: make([]byte, 32<<10)}
}

// Resume positions the tailer from saved state, or at the end of the
// current file when there is none or it names another file. A file that
// does not exist yet is read from its start once it appears.
func (t *Tailer) Resume(p *Position) error {
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
	if p != nil && p.Path == t.path && p.FileID != 0 && p.FileID == FileID(info) && p.Offset <= info.Size() {
		t.off = p.Offset
	}
	return nil
}

// Position returns what to save.
func (t *Tailer) Position() Position {
	p := Position{Path: t.path, Offset: t.off}
	if t.info != nil {
		p.FileID = FileID(t.info)
	}
	return p
}

// Poll reads every complete line written since the last call and passes it
// to fn; the slice is valid only during the call. It returns whether
// anything was read.
func (t *Tailer) Poll(fn func(line []byte)) (bool, error) {
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
func (t *Tailer) drain(fn func(line []byte)) (int, error) {
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

func (t *Tailer) split(b []byte, fn func(line []byte)) {
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

func (t *Tailer) keep(b []byte) {
	if t.long {
		return
	}
	if len(t.partial)+len(b) > MaxLine {
		t.partial, t.long = t.partial[:0], true
		return
	}
	t.partial = append(t.partial, b...)
}

// Close closes the file being followed.
func (t *Tailer) Close() {
	if t.f != nil {
		_ = t.f.Close()
		t.f = nil
	}
}
