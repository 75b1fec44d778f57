package removable

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/vigil-itm/vigil/event"
)

// fsWatcher sees writes on removable volumes through recursive inotify
// watches (fsnotify). inotify names no process: the writer is looked for
// among the processes that have the file open when the first write is
// seen, which finds long copies and misses short ones.
type fsWatcher struct {
	s    *Sensor
	w    *fsnotify.Watcher
	jobs chan<- hashJob
	emit func(event.Event)

	mu      sync.Mutex
	dirs    map[string]string // watched directory → its mount point
	count   map[string]int    // mount point → watched directories
	pending map[string]*pendingFile
	// lastWriter is the pid that wrote the previous file; it is checked
	// first, since copies come in runs.
	lastWriter int
	lastScan   time.Time
}

// pendingFile is a file being written, waiting to settle.
type pendingFile struct {
	last time.Time
	proc *procInfo
	srcs []srcFile
}

// fullScanEvery rate-limits the scan of every process's descriptors.
const fullScanEvery = time.Second

func newFsnotify(s *Sensor, jobs chan<- hashJob, emit func(event.Event)) (*fsWatcher, error) {
	w, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return nil, fmt.Errorf("create fsnotify watcher: %w", err)
	}
	return &fsWatcher{
		s: s, w: w, jobs: jobs, emit: emit,
		dirs: map[string]string{}, count: map[string]int{}, pending: map[string]*pendingFile{},
	}, nil
}

func (w *fsWatcher) close() { _ = w.w.Close() }

func (w *fsWatcher) addMount(v *volume) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.addTree(v.m.MountPoint, v.m.MountPoint, false)
}

// addTree watches dir and every directory below it, up to the per-volume
// limit. With report set, regular files found are queued as written: they
// appeared in a new directory before its watch existed. Called with mu
// held.
func (w *fsWatcher) addTree(dir, mp string, report bool) error {
	var limitErr error
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // unreadable subdirectory: skip it
		}
		if d.IsDir() {
			if p != dir && p != mp && w.s.vols.lookup(p) != w.s.vols.lookup(mp) {
				return filepath.SkipDir // another mount on top
			}
			if _, ok := w.dirs[p]; ok {
				return nil
			}
			if w.count[mp] >= w.s.cfg.FsnotifyMaxWatches {
				limitErr = fmt.Errorf("fsnotify: watch limit %d reached on %q: deeper directories are not watched", w.s.cfg.FsnotifyMaxWatches, mp)
				return filepath.SkipDir
			}
			if err := w.w.Add(p); err != nil {
				if p == dir {
					return err
				}
				return nil
			}
			w.dirs[p] = mp
			w.count[mp]++
			return nil
		}
		if report && d.Type().IsRegular() {
			w.touch(p, time.Now())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("watch %q: %w", dir, err)
	}
	if limitErr != nil {
		w.s.tracker.Failed(limitErr)
	}
	return nil
}

func (w *fsWatcher) removeMount(v *volume) {
	w.mu.Lock()
	defer w.mu.Unlock()
	mp := v.m.MountPoint
	for d, m := range w.dirs {
		if m == mp {
			_ = w.w.Remove(d)
			delete(w.dirs, d)
		}
	}
	delete(w.count, mp)
	for p := range w.pending {
		if underMount(p, mp) {
			delete(w.pending, p)
		}
	}
}

func (w *fsWatcher) run(ctx context.Context, _ *stopper) error {
	settle := w.s.cfg.FsnotifySettle
	tick := time.NewTicker(settle / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.w.Events:
			if !ok {
				return nil
			}
			w.handle(ev)
		case err, ok := <-w.w.Errors:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				err = fmt.Errorf("inotify queue overflow: writes were missed: %w", err)
			}
			w.s.tracker.Failed(err)
		case now := <-tick.C:
			w.flush(now, settle)
		}
	}
}

func (w *fsWatcher) handle(ev fsnotify.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case ev.Has(fsnotify.Create):
		st, err := os.Lstat(ev.Name)
		if err != nil {
			return
		}
		if st.IsDir() {
			if mp, ok := w.dirs[filepath.Dir(ev.Name)]; ok {
				if err := w.addTree(ev.Name, mp, true); err != nil {
					w.s.tracker.Failed(err)
				}
			}
			return
		}
		if st.Mode().IsRegular() {
			w.touch(ev.Name, time.Now())
		}
	case ev.Has(fsnotify.Write):
		w.touch(ev.Name, time.Now())
	case ev.Has(fsnotify.Remove), ev.Has(fsnotify.Rename):
		delete(w.pending, ev.Name)
		if mp, ok := w.dirs[ev.Name]; ok {
			delete(w.dirs, ev.Name)
			w.count[mp]--
			_ = w.w.Remove(ev.Name)
		}
	}
}

// touch records a write to path; on the first one it looks for the writer.
// Called with mu held.
func (w *fsWatcher) touch(path string, now time.Time) {
	if p, ok := w.pending[path]; ok {
		p.last = now
		return
	}
	p := &pendingFile{last: now}
	w.pending[path] = p
	pid := 0
	if w.lastWriter > 0 && hasOpen(w.lastWriter, path) {
		pid = w.lastWriter
	} else if now.Sub(w.lastScan) >= fullScanEvery {
		w.lastScan = now
		pid = findOpener(path, w.s.self)
	}
	if pid == 0 {
		return
	}
	info, err := readProc(pid)
	if err != nil {
		return
	}
	w.lastWriter = pid
	p.proc = &info
	if w.s.cfg.SourceTracking {
		p.srcs = openFiles(pid, func(p string) bool { return w.s.vols.lookup(p) != nil })
	}
}

// flush hands files that have not been written for settle to the hash
// workers, as many as the hash queue has room for: the others stay pending
// and go at a later tick, so that a burst (a whole directory copied, every
// file settling in the same second) is hashed rather than reported without
// hashes. A file left waiting for more than hashBacklogWait is reported
// without a hash, as when the queue is full, so that a backlog never holds
// reports back for long.
func (w *fsWatcher) flush(now time.Time, settle time.Duration) {
	var due, late []hashJob
	room := cap(w.jobs) - len(w.jobs)
	w.mu.Lock()
	for path, p := range w.pending {
		if now.Sub(p.last) < settle {
			continue
		}
		vol := w.s.vols.lookup(path)
		if vol == nil {
			delete(w.pending, path)
			continue
		}
		j := hashJob{fd: -1, path: path, vol: vol, proc: p.proc, srcs: p.srcs, at: p.last}
		switch {
		case len(due) < room:
			due = append(due, j)
		case now.Sub(p.last) >= settle+hashBacklogWait:
			late = append(late, j)
		default:
			continue // stays pending until the workers catch up
		}
		delete(w.pending, path)
	}
	w.mu.Unlock()
	for _, j := range due {
		w.s.queue(w.jobs, j, w.emit)
	}
	for _, j := range late {
		w.s.reportUnhashed(j, w.emit)
	}
}
