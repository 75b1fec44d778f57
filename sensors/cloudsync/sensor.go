package cloudsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/owner"
)

// maxRemembered bounds the files whose last report is remembered to skip
// reporting an unchanged file twice.
const maxRemembered = 65536

// Sensor watches sync folders. Build it with New.
type Sensor struct {
	cfg   Config
	log   *slog.Logger
	track sensors.Tracker

	roots    map[string]*watched // sync folder root → folder
	dirs     map[string]*watched // watched directory → its sync folder
	pending  map[string]time.Time
	reported map[string]fileMark
	users    owner.Users
	full     bool // MaxWatches was reached
}

var (
	_ sensors.Sensor         = (*Sensor)(nil)
	_ sensors.HealthReporter = (*Sensor)(nil)
)

// fileMark identifies the version of a file that was reported.
type fileMark struct {
	size  int64
	mtime time.Time
}

// New returns a sensor for cfg, which must be valid.
func New(cfg Config, env sensors.Env) *Sensor {
	return &Sensor{
		cfg:      cfg,
		log:      env.ComponentLogger(Name),
		roots:    map[string]*watched{},
		dirs:     map[string]*watched{},
		pending:  map[string]time.Time{},
		reported: map[string]fileMark{},
	}
}

// Name returns "cloudsync".
func (s *Sensor) Name() string { return Name }

// Health reports the sensor's state and counters.
func (s *Sensor) Health() sensors.Health { return s.track.Health() }

// Run watches until ctx is done.
func (s *Sensor) Run(ctx context.Context, emit func(event.Event)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		s.track.Set(sensors.StateFailed, "fsnotify", err.Error())
		return fmt.Errorf("cloudsync: start file watcher: %w", err)
	}
	defer func() { _ = w.Close() }()
	s.refresh(w)
	tick := time.NewTicker(max(s.cfg.Settle/2, 10*time.Millisecond))
	defer tick.Stop()
	rescan := time.NewTicker(s.cfg.Rescan)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("cloudsync: file watcher closed")
			}
			s.onEvent(w, ev)
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("cloudsync: file watcher closed")
			}
			// An overflow loses events; the health says so.
			s.track.Failed(fmt.Errorf("cloudsync: file watcher: %w", err))
		case now := <-tick.C:
			s.flush(now, emit)
		case <-rescan.C:
			s.refresh(w)
		}
	}
}

// refresh finds the sync folders and watches the ones not watched yet.
func (s *Sensor) refresh(w *fsnotify.Watcher) {
	var want []watched
	for _, f := range s.cfg.Folders {
		want = append(want, watched{Folder: Folder{Path: filepath.Clean(f.Path), Provider: f.Provider}})
	}
	if s.cfg.DefaultFolders {
		want = append(want, defaultFolders(s.cfg.Homes)...)
	}
	for i := range want {
		f := want[i]
		if r, ok := s.roots[f.Path]; ok && s.dirs[r.Path] != nil {
			continue
		}
		if fi, err := os.Stat(f.Path); err != nil || !fi.IsDir() {
			continue
		}
		s.roots[f.Path] = &f
		s.watchTree(w, f.Path, &f, false)
		s.log.Info("watching sync folder", "path", f.Path, "provider", f.Provider)
	}
	s.setHealth()
}

func (s *Sensor) setHealth() {
	msg := fmt.Sprintf("watching %d sync folder(s), %d directories", len(s.roots), len(s.dirs))
	if s.full {
		s.track.Set(sensors.StateDegraded, "fsnotify", msg+fmt.Sprintf("; max_watches (%d) reached: deeper directories are not watched", s.cfg.MaxWatches))
		return
	}
	s.track.Set(sensors.StateOK, "fsnotify", msg)
}

// watchTree watches dir and every directory below it. With markFiles, the
// files found are queued: they arrived before the watch did.
func (s *Sensor) watchTree(w *fsnotify.Watcher, dir string, f *watched, markFiles bool) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil //nolint:nilerr // an unreadable subtree is skipped, the rest is watched
		}
		if p != dir && s.ignored(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			if markFiles && d.Type().IsRegular() {
				s.pending[p] = time.Now()
			}
			return nil
		}
		if _, ok := s.dirs[p]; ok {
			return nil
		}
		if len(s.dirs) >= s.cfg.MaxWatches {
			s.full = true
			return filepath.SkipDir
		}
		if err := w.Add(p); err != nil {
			s.track.Failed(fmt.Errorf("cloudsync: watch %s: %w", p, err))
			return filepath.SkipDir
		}
		s.dirs[p] = f
		return nil
	})
}

func (s *Sensor) ignored(name string) bool {
	for _, p := range s.cfg.Ignore {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

func (s *Sensor) onEvent(w *fsnotify.Watcher, ev fsnotify.Event) {
	f := s.dirs[filepath.Dir(ev.Name)]
	if f == nil || s.ignored(filepath.Base(ev.Name)) {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			s.forget(ev.Name)
		}
		return
	}
	switch {
	case ev.Has(fsnotify.Create):
		fi, err := os.Lstat(ev.Name)
		if err != nil {
			return
		}
		if fi.IsDir() {
			// A new directory (mkdir, cp -r, mv): watch it and take in
			// what was already written inside before the watch existed.
			s.watchTree(w, ev.Name, f, true)
			s.setHealth()
			return
		}
		if fi.Mode().IsRegular() {
			s.pending[ev.Name] = time.Now()
		}
	case ev.Has(fsnotify.Write):
		s.pending[ev.Name] = time.Now()
	case ev.Has(fsnotify.Remove), ev.Has(fsnotify.Rename):
		s.forget(ev.Name)
	}
}

// forget drops a path that went away: a pending file, or a watched
// directory with everything below it (the kernel drops their watches).
func (s *Sensor) forget(p string) {
	delete(s.pending, p)
	delete(s.reported, p)
	if _, ok := s.dirs[p]; !ok {
		return
	}
	prefix := p + string(filepath.Separator)
	for d := range s.dirs {
		if d == p || strings.HasPrefix(d, prefix) {
			delete(s.dirs, d)
		}
	}
	for r := range s.roots {
		if r == p || strings.HasPrefix(r, prefix) {
			delete(s.roots, r) // the rescan watches it again if it comes back
		}
	}
	s.full = false
	s.setHealth()
}

// flush reports the files left alone for Settle.
func (s *Sensor) flush(now time.Time, emit func(event.Event)) {
	for p, t := range s.pending {
		if now.Sub(t) < s.cfg.Settle {
			continue
		}
		delete(s.pending, p)
		s.report(p, emit)
	}
}

func (s *Sensor) report(p string, emit func(event.Event)) {
	f := s.dirs[filepath.Dir(p)]
	if f == nil {
		return
	}
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	mark := fileMark{size: fi.Size(), mtime: fi.ModTime()}
	if s.reported[p] == mark {
		return // touched or reopened, not changed
	}
	var hash *event.Hash
	if fi.Size() <= s.cfg.HashMaxBytes {
		sum, err := hashFile(p, s.cfg.HashMaxBytes)
		if err != nil {
			s.track.Failed(fmt.Errorf("cloudsync: hash %s: %w", p, err))
		} else {
			hash = &event.Hash{SHA256: sum}
		}
	}
	if len(s.reported) >= maxRemembered {
		clear(s.reported)
	}
	s.reported[p] = mark
	when := fi.ModTime()
	if now := time.Now(); when.After(now) || now.Sub(when) > time.Hour {
		when = now
	}
	ev := event.Event{
		Timestamp: when,
		Event: event.Meta{
			ID:      event.NewID(when),
			Action:  event.ActionFileCopiedToCloudSync,
			Module:  Name,
			Outcome: "success",
		},
		User:        s.owner(fi, f.home),
		File:        &event.File{Path: p, Size: fi.Size(), Hash: hash},
		Destination: &event.Destination{CloudProvider: f.Provider},
		Labels:      map[string]string{"sync_folder": f.Path},
	}
	ev.Normalize()
	s.track.Emitted()
	emit(ev)
}

// hashFile streams the file through SHA-256, reading at most limit bytes
// (a file that grew past the limit meanwhile is hashed no further).
func hashFile(p string, limit int64) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, limit+1))
	if err != nil {
		return "", err
	}
	if n > limit {
		return "", fmt.Errorf("grew past hash_max_bytes (%d) while hashed", limit)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// owner returns the user owning the file, or the home's user.
func (s *Sensor) owner(fi os.FileInfo, home string) *event.User {
	if u := s.users.User(owner.UID(fi)); u != nil {
		return u
	}
	if home != "" {
		return &event.User{Name: filepath.Base(home)}
	}
	return nil
}
