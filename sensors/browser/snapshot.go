package browser

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// errChanging says the database kept changing while it was copied; it is
// read again at its next change.
var errChanging = errors.New("database changed during every copy attempt")

// copyAttempts bounds the copies tried for one consistent snapshot.
const copyAttempts = 3

// fileMark is what a stat says about one file: a change of either field
// means the file was written.
type fileMark struct {
	Size  int64
	MTime int64
}

// signature marks a database with its write-ahead log and rollback journal.
// Two equal signatures mean nothing was written in between (to the
// resolution of the file system's timestamps).
type signature struct {
	Main, WAL, Journal fileMark
}

func markOf(p string) (fileMark, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return fileMark{}, err
	}
	return fileMark{Size: fi.Size(), MTime: fi.ModTime().UnixNano()}, nil
}

// signatureOf stats a database and its side files. The database must exist;
// the side files may not.
func signatureOf(path string) (signature, error) {
	var s signature
	var err error
	if s.Main, err = markOf(path); err != nil {
		return s, err
	}
	s.WAL, _ = markOf(path + "-wal")
	s.Journal, _ = markOf(path + "-journal")
	return s, nil
}

// snapshot is a private copy of a history database.
type snapshot struct {
	// Dir is the private temporary directory holding the copy.
	Dir string
	// Path is the copied database.
	Path string
	// HotJournal says the copied rollback journal is not empty: the copy
	// must be opened for writing so SQLite rolls the unfinished
	// transaction back (in the copy).
	HotJournal bool
	// Sig is the signature of the original when it was copied.
	Sig signature
}

// Remove deletes the copy.
func (s *snapshot) Remove() error {
	if s == nil || s.Dir == "" {
		return nil
	}
	return os.RemoveAll(s.Dir)
}

// takeSnapshot copies the database at path, with its -wal and -journal
// files, into a new private directory under tempRoot. The write-ahead log
// is copied before the database: a checkpoint running meanwhile only moves
// pages from the log into the database, so every page it may have
// rewritten is also in the copied log. The original is stat'ed before and
// after; if anything changed, the copy is taken again (at most
// copyAttempts times, then errChanging). The originals are only ever
// opened for reading.
func takeSnapshot(path, tempRoot string) (*snapshot, error) {
	dir, err := os.MkdirTemp(tempRoot, "vigil-browser-")
	if err != nil {
		return nil, fmt.Errorf("make temporary directory in %q: %w", tempRoot, err)
	}
	snap := &snapshot{Dir: dir, Path: filepath.Join(dir, "history.sqlite")}
	for range copyAttempts {
		before, err := signatureOf(path)
		if err != nil {
			_ = snap.Remove()
			return nil, fmt.Errorf("stat %s: %w", path, err)
		}
		hot, err := copySet(path, snap.Path)
		if err != nil {
			_ = snap.Remove()
			return nil, err
		}
		after, err := signatureOf(path)
		if err == nil && after == before {
			snap.HotJournal, snap.Sig = hot, before
			return snap, nil
		}
	}
	_ = snap.Remove()
	return nil, fmt.Errorf("copy %s: %w", path, errChanging)
}

// copySet copies the log, the journal and the database to dst (and
// dst-wal, dst-journal), replacing earlier copies. It reports whether the
// journal copy is not empty.
func copySet(src, dst string) (hotJournal bool, err error) {
	for _, suffix := range []string{"-wal", "-journal"} {
		_ = os.Remove(dst + suffix)
		n, err := copyFile(src+suffix, dst+suffix)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return false, err
		case suffix == "-journal":
			hotJournal = n > 0
		}
	}
	_ = os.Remove(dst + "-shm")
	_ = os.Remove(dst)
	if _, err := copyFile(src, dst); err != nil {
		return false, err
	}
	return hotJournal, nil
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", src, err)
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("create copy %s: %w", dst, err)
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("copy %s: %w", src, err)
	}
	return n, nil
}

// sqliteURI returns the SQLite URI file name of p, opened read-only unless
// readWrite is set.
func sqliteURI(p string, readWrite bool) string {
	p = filepath.ToSlash(p)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/... on Windows
	}
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	mode := "ro"
	if readWrite {
		mode = "rw"
	}
	return "file://" + p + "?mode=" + mode
}
