package removable

import (
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// queue hands j to the hash workers through jobs; when the queue is full it
// counts the error and reports the file at once, without a hash.
func (s *Sensor) queue(jobs chan<- hashJob, j hashJob, emit func(event.Event)) {
	select {
	case jobs <- j:
	default:
		s.reportUnhashed(j, emit)
	}
}

// reportUnhashed counts the error and reports j at once, without a hash.
func (s *Sensor) reportUnhashed(j hashJob, emit func(event.Event)) {
	s.tracker.Failed(errQueueFull)
	j.noHash = true
	s.finish(j, emit)
}

// finish hashes one written file and emits file-copied-to-removable. It
// runs on a hash worker, or inline when the queue is full (then without a
// hash).
func (s *Sensor) finish(j hashJob, emit func(event.Event)) {
	var f *os.File
	if j.fd >= 0 {
		f = os.NewFile(uintptr(j.fd), j.path)
	} else {
		var err error
		f, err = os.OpenFile(j.path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
		if err != nil {
			return // gone or replaced before it could be read
		}
	}
	e, ok := s.describeFile(f, &j)
	// Close before emitting: an open descriptor would keep the volume busy
	// for whoever unmounts it when they see the event.
	_ = f.Close()
	if !ok {
		return
	}
	s.emitEvent(emit, e)
}

// describeFile builds the event for a written file from its open
// descriptor; ok is false when there is nothing to report (not a regular
// file, or unchanged since it was last reported).
func (s *Sensor) describeFile(f *os.File, j *hashJob) (*event.Event, bool) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, false
	}
	var ino uint64
	var mtime int64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
		mtime = sys.Mtim.Nano()
	}
	size := st.Size()
	if !s.dedupe.fresh(j.path, fileState{ino: ino, size: size, mtime: mtime}) {
		return nil, false
	}
	file := &event.File{Path: j.path, Size: size}
	limit := int64(s.cfg.HashMaxSize)
	hashed := false
	if !j.noHash && limit > 0 && size <= limit {
		sum, n, ok, err := hashStream(f, limit)
		switch {
		case err != nil:
			s.tracker.Failed(err)
		case ok:
			file.Hash = &event.Hash{SHA256: sum}
			file.Size = n
			hashed = true
		}
	}
	if s.cfg.SourceTracking {
		file.SourcePath = s.pickSource(j.srcs, file, hashed)
	}
	e := &event.Event{
		Timestamp: j.at,
		Event:     event.Meta{Action: event.ActionFileCopiedToRemovable},
		File:      file,
	}
	if j.vol != nil {
		vol := j.vol.ev
		e.Volume = &vol
	}
	if p := j.proc; p != nil {
		e.Process = &event.Process{
			PID:         int64(p.PID),
			Name:        p.Name,
			Executable:  p.Executable,
			Args:        p.Args,
			CommandLine: strings.Join(p.Args, " "),
		}
		if p.UID != "" {
			e.User = &event.User{ID: p.UID, Name: s.users.Name(p.UID)}
			if p.EUID != "" && p.EUID != p.UID {
				e.User.EffectiveID = p.EUID
			}
		}
	}
	if e.User == nil && j.vol != nil && j.vol.user != "" {
		e.User = &event.User{Name: j.vol.user}
	}
	if !hashed && limit > 0 && size > limit {
		e.Labels = map[string]string{"hash_skipped": "larger than hash_max_size"}
	} else if j.noHash {
		e.Labels = map[string]string{"hash_skipped": "hash queue full"}
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = time.Now()
	}
	return e, true
}

// pickSource chooses file.source_path among the files the writer had open
// for reading: the only one of the same size, or, when several have that
// size, the only one with the same SHA-256.
func (s *Sensor) pickSource(cands []srcFile, file *event.File, hashed bool) string {
	var same []srcFile
	for _, c := range cands {
		if c.Size == file.Size && c.Path != file.Path {
			same = append(same, c)
		}
	}
	switch {
	case len(same) == 1:
		return same[0].Path
	case len(same) == 0 || !hashed:
		return ""
	}
	found := ""
	for _, c := range same {
		f, err := os.Open(c.Path)
		if err != nil {
			continue
		}
		sum, _, ok, err := hashStream(f, int64(s.cfg.HashMaxSize))
		_ = f.Close()
		if err == nil && ok && sum == file.Hash.SHA256 {
			if found != "" {
				return "" // two identical candidates: cannot tell
			}
			found = c.Path
		}
	}
	return found
}
