package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

// LoadFunc loads a bundle from a path; policies.Load fits.
type LoadFunc func(path string) (*policies.Bundle, error)

// Live holds the active Program and swaps it atomically on reload. A bundle
// that fails to load or compile leaves the last good Program active; the
// failure is reported through LastError and the OnReload callback.
type Live struct {
	current atomic.Pointer[Program]
	path    string
	load    LoadFunc
	opts    []Option
	logger  *slog.Logger
	metrics *Metrics

	mu       sync.Mutex
	lastErr  error
	onReload func(p *Program, err error)
	debounce time.Duration
}

// LiveOption configures a Live.
type LiveOption func(*Live)

// OnReload sets a callback run after every reload attempt, with the new
// Program or the error that kept the old one.
func OnReload(fn func(p *Program, err error)) LiveOption {
	return func(l *Live) { l.onReload = fn }
}

// WithDebounce sets how long Watch waits for a burst of file changes to end
// before reloading (default 200ms).
func WithDebounce(d time.Duration) LiveOption { return func(l *Live) { l.debounce = d } }

// NewLive loads and compiles the bundle at path. opts are passed to every
// Compile.
func NewLive(path string, load LoadFunc, opts []Option, lopts ...LiveOption) (*Live, error) {
	l := &Live{path: path, load: load, opts: opts, debounce: 200 * time.Millisecond}
	for _, o := range lopts {
		o(l)
	}
	var co options
	for _, o := range opts {
		o(&co)
	}
	l.logger = co.logger
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	l.logger = l.logger.With("component", "engine")
	l.metrics = co.metrics
	p, err := l.compile()
	if err != nil {
		return nil, err
	}
	l.current.Store(p)
	if l.metrics != nil {
		l.metrics.setBundle(p)
	}
	return l, nil
}

func (l *Live) compile() (*Program, error) {
	b, err := l.load(l.path)
	if err != nil {
		return nil, fmt.Errorf("load bundle %q: %w", l.path, err)
	}
	opts := append([]Option{}, l.opts...)
	if prev := l.current.Load(); prev != nil {
		opts = append(opts, WithPrevious(prev))
	}
	return Compile(b, opts...)
}

// Program returns the active Program.
func (l *Live) Program() *Program { return l.current.Load() }

// Evaluate evaluates the event against the active Program.
func (l *Live) Evaluate(ctx context.Context, e *event.Event) (Decision, error) {
	return l.current.Load().Evaluate(ctx, e)
}

// LastError is the error of the last failed reload, or nil when the last
// reload succeeded.
func (l *Live) LastError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

// Reload loads and compiles the bundle again, and activates it when it is
// good. It returns the error that kept the previous Program active.
func (l *Live) Reload() error {
	p, err := l.compile()
	l.mu.Lock()
	l.lastErr = err
	cb := l.onReload
	l.mu.Unlock()
	l.metrics.reload(err == nil)
	if err != nil {
		old := l.current.Load()
		l.logger.Error("bundle reload failed; keeping the active bundle", "path", l.path,
			"active_revision", old.Revision(), "err", err)
	} else {
		l.current.Store(p)
		if l.metrics != nil {
			l.metrics.setBundle(p)
		}
		l.logger.Info("bundle activated", "path", l.path, "name", p.Name(), "revision", p.Revision(),
			"rules", len(p.rules))
	}
	if cb != nil {
		cb(p, err)
	}
	return err
}

// Watch reloads the bundle whenever a file under its directory (or the
// tarball itself) changes, until ctx is done.
func (l *Live) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch bundle %q: %w", l.path, err)
	}
	defer func() { _ = w.Close() }()
	info, err := os.Stat(l.path)
	if err != nil {
		return fmt.Errorf("watch bundle %q: %w", l.path, err)
	}
	if info.IsDir() {
		err = filepath.WalkDir(l.path, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == ".git" {
					return filepath.SkipDir
				}
				return w.Add(p)
			}
			return nil
		})
	} else {
		// Watch the directory so that editors and tools that replace the
		// file by renaming are seen.
		err = w.Add(filepath.Dir(l.path))
	}
	if err != nil {
		return fmt.Errorf("watch bundle %q: %w", l.path, err)
	}
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("watch bundle: watcher closed")
			}
			if !info.IsDir() && filepath.Clean(ev.Name) != filepath.Clean(l.path) {
				continue
			}
			if ev.Has(fsnotify.Create) && info.IsDir() {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					_ = w.Add(ev.Name)
				}
			}
			if timer == nil {
				timer = time.NewTimer(l.debounce)
			} else {
				timer.Reset(l.debounce)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("watch bundle: watcher closed")
			}
			l.logger.Warn("bundle watcher error", "err", err)
		case <-fire:
			fire = nil
			_ = l.Reload()
		}
	}
}

// Activate compiles b and makes it the active Program, keeping the state of
// rules that did not change. A bundle that fails to compile leaves the
// active Program in place and the error is returned (and recorded as
// LastError).
func (l *Live) Activate(b *policies.Bundle) (*Program, error) {
	opts := append([]Option{}, l.opts...)
	if prev := l.current.Load(); prev != nil {
		opts = append(opts, WithPrevious(prev))
	}
	p, err := Compile(b, opts...)
	l.mu.Lock()
	l.lastErr = err
	cb := l.onReload
	l.mu.Unlock()
	l.metrics.reload(err == nil)
	if err == nil {
		l.current.Store(p)
		if l.metrics != nil {
			l.metrics.setBundle(p)
		}
		l.logger.Info("bundle activated", "name", p.Name(), "revision", p.Revision(), "rules", len(p.rules))
	}
	if cb != nil {
		cb(p, err)
	}
	return p, err
}
