package browser

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/netconn"
)

// Sensor reads browser history databases. Build it with New; it is run by
// one goroutine (Run), and Health may be called from any.
type Sensor struct {
	cfg      Config
	log      *slog.Logger
	track    sensors.Tracker
	classify *netconn.Classifier
	include  map[string]bool // categories of visits reported; nil: every visit
	goos     string
	state    string // the state file, "" when not saved

	dbs     map[string]*tracked // by database path
	watched map[string]bool     // profile directories watched
	cursors map[string]Cursor   // saved cursors, by database path
	users   map[string]string   // uid → user name
	mode    string              // "fsnotify" or "poll"
	now     func() time.Time
	// snapshot copies a database; takeSnapshot, but for tests.
	snapshot func(path, tempRoot string) (*snapshot, error)
}

var (
	_ sensors.Sensor         = (*Sensor)(nil)
	_ sensors.HealthReporter = (*Sensor)(nil)
)

// tracked is a database the sensor knows, with its reading state.
type tracked struct {
	database
	sig     signature // of the original when last read
	readAt  time.Time // when it was last copied
	read    bool      // read at least once since found
	dirty   bool      // a notification said it was written since
	due     time.Time // when to read it next; zero: not due
	more    bool      // the last read stopped at max_rows_per_poll
	busy    int       // reads in a row that found it changing during every copy
	lastErr error
}

// busyLimit is how many reads in a row may find a database changing during
// every copy before the sensor says it cannot read it. A browser writing
// its history while it is copied is normal: such a read is tried again
// soon (busyDelay), and is not a failure until it keeps happening.
const busyLimit = 5

// busyDelay is how long to wait before reading again a database found
// changing at its n-th read in a row: the debounce, doubled each time,
// at least 10ms and at most the poll interval.
func (s *Sensor) busyDelay(n int) time.Duration {
	d := max(s.cfg.Debounce, 10*time.Millisecond)
	for range n - 1 {
		if d >= s.cfg.PollInterval {
			break
		}
		d *= 2
	}
	return min(d, max(s.cfg.PollInterval, 10*time.Millisecond))
}

// New returns a sensor for cfg, which must be valid.
func New(cfg Config, env sensors.Env) *Sensor {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sensor{
		cfg:      cfg,
		log:      logger.With("component", "sensor."+Name),
		classify: netconn.NewClassifier(netconn.ShippedDomains(), cfg.Domains),
		goos:     runtime.GOOS,
		state:    statePath(env.DataDir),
		dbs:      map[string]*tracked{},
		watched:  map[string]bool{},
		cursors:  map[string]Cursor{},
		users:    map[string]string{},
		now:      time.Now,
		snapshot: takeSnapshot,
	}
	if !slices.Contains(cfg.IncludeCategories, IncludeAll) {
		s.include = map[string]bool{}
		for _, c := range cfg.IncludeCategories {
			s.include[c] = true
		}
	}
	return s
}

// Name returns "browser".
func (s *Sensor) Name() string { return Name }

// Health reports the sensor's state and counters.
func (s *Sensor) Health() sensors.Health { return s.track.Health() }

// Run watches and reads the history databases until ctx is done.
func (s *Sensor) Run(ctx context.Context, emit func(event.Event)) error {
	if s.cfg.Resume {
		st, err := loadState(s.state)
		if err != nil {
			// Start over rather than fail: the backfill window bounds
			// what is reported again.
			s.track.Failed(err)
			s.log.Warn("saved cursors unreadable; starting from the backfill window", "error", err)
		}
		s.cursors = st.Cursors
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	w, err := fsnotify.NewWatcher()
	if err != nil {
		s.mode = "poll"
		s.track.Failed(fmt.Errorf("browser: start file watcher: %w", err))
	} else {
		s.mode = "fsnotify"
		defer func() { _ = w.Close() }()
		events, errs = w.Events, w.Errors
	}
	s.rescan(w)
	timer := time.NewTimer(0)
	defer timer.Stop()
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	rescan := time.NewTicker(s.cfg.Rescan)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return errors.New("browser: file watcher closed")
			}
			s.onFileEvent(ev)
		case err, ok := <-errs:
			if !ok {
				return errors.New("browser: file watcher closed")
			}
			s.track.Failed(fmt.Errorf("browser: file watcher: %w", err))
		case <-poll.C:
			s.checkChanged()
		case <-rescan.C:
			s.rescan(w)
		case <-timer.C:
			s.readDue(ctx, emit)
		}
		s.arm(timer)
	}
}

// arm sets the timer to the earliest due read.
func (s *Sensor) arm(timer *time.Timer) {
	var next time.Time
	for _, t := range s.dbs {
		if !t.due.IsZero() && (next.IsZero() || t.due.Before(next)) {
			next = t.due
		}
	}
	if next.IsZero() {
		timer.Stop()
		return
	}
	timer.Reset(max(0, next.Sub(s.now())))
}

// schedule makes t due at at, unless it is due earlier already.
func schedule(t *tracked, at time.Time) {
	if t.due.IsZero() || at.Before(t.due) {
		t.due = at
	}
}

// rescan finds the databases of the configured homes and browsers, starts
// watching new profile directories, and forgets databases that are gone
// (their cursors are kept: a profile that comes back resumes).
func (s *Sensor) rescan(w *fsnotify.Watcher) {
	found := discover(s.cfg.Homes, s.cfg.Browsers, s.goos)
	seen := make(map[string]bool, len(found))
	for _, d := range found {
		seen[d.Path] = true
		if _, ok := s.dbs[d.Path]; ok {
			continue
		}
		t := &tracked{database: d}
		s.dbs[d.Path] = t
		schedule(t, s.now())
		s.log.Info("found history database", "path", d.Path, "browser", d.Browser, "profile", d.Profile)
		dir := filepath.Dir(d.Path)
		if w != nil && !s.watched[dir] {
			if err := w.Add(dir); err != nil {
				s.track.Failed(fmt.Errorf("browser: watch %s: %w", dir, err))
			} else {
				s.watched[dir] = true
			}
		}
	}
	for p, t := range s.dbs {
		if seen[p] {
			continue
		}
		delete(s.dbs, p)
		dir := filepath.Dir(p)
		if w != nil && s.watched[dir] && !s.dirInUse(dir) {
			_ = w.Remove(dir) // fails when the directory is gone, which removed the watch
			delete(s.watched, dir)
		}
		s.log.Info("history database gone", "path", p, "browser", t.Browser)
	}
	s.setHealth()
}

func (s *Sensor) dirInUse(dir string) bool {
	for p := range s.dbs {
		if filepath.Dir(p) == dir {
			return true
		}
	}
	return false
}

// onFileEvent schedules the read of a database whose file, log or journal
// was written.
func (s *Sensor) onFileEvent(ev fsnotify.Event) {
	if !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Rename) && !ev.Has(fsnotify.Remove) {
		return // attribute changes say nothing about new rows
	}
	p := ev.Name
	for _, suffix := range []string{"-wal", "-journal"} {
		p = strings.TrimSuffix(p, suffix)
	}
	if t, ok := s.dbs[p]; ok {
		t.dirty = true
		schedule(t, s.now().Add(s.cfg.Debounce))
	}
}

// mtimeSlack is how close to a copy a file's modification time must be for
// the copy to be in doubt. File systems keep coarse timestamps (Linux
// updates mtime from a clock that ticks every few milliseconds), so a write
// right after the copy can leave the size and mtime as they were.
const mtimeSlack = time.Second

// changed reports whether the database may hold rows not read yet: it was
// never read, a notification came, a page of rows was left, its signature
// differs from the copy's, or it was written so close to the copy that the
// signature cannot tell.
func (t *tracked) changed(sig signature) bool {
	if !t.read || t.dirty || t.more || sig != t.sig {
		return true
	}
	newest := max(sig.Main.MTime, sig.WAL.MTime, sig.Journal.MTime)
	return t.readAt.Sub(time.Unix(0, newest)) < mtimeSlack
}

// checkChanged schedules the read of every database that changed since it
// was read: the fallback for missed notifications.
func (s *Sensor) checkChanged() {
	now := s.now()
	for _, t := range s.dbs {
		if sig, err := signatureOf(t.Path); err == nil && t.changed(sig) {
			schedule(t, now)
		}
	}
}

// readDue reads every database that is due.
func (s *Sensor) readDue(ctx context.Context, emit func(event.Event)) {
	now := s.now()
	paths := make([]string, 0, len(s.dbs))
	for p, t := range s.dbs {
		if !t.due.IsZero() && !t.due.After(now) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	for _, p := range paths {
		if ctx.Err() != nil {
			return
		}
		t := s.dbs[p]
		t.due = time.Time{}
		err := s.readDatabase(ctx, t, emit)
		if errors.Is(err, errChanging) && ctx.Err() == nil {
			t.busy++
			if t.busy < busyLimit {
				// Being written: read it again soon, whether or not
				// a notification comes. The last error stands.
				s.log.Debug("history database changing while copied; reading again", "path", t.Path, "attempt", t.busy)
				schedule(t, s.now().Add(s.busyDelay(t.busy)))
				continue
			}
		} else {
			t.busy = 0
		}
		t.lastErr = err
		if t.lastErr != nil && ctx.Err() == nil {
			s.track.Failed(t.lastErr)
			s.log.Warn("history database not read", "path", t.Path, "error", t.lastErr)
			// Try again when it changes, not at every poll: a database
			// that cannot be read costs one copy per change.
			if sig, err := signatureOf(t.Path); err == nil {
				t.sig, t.readAt, t.read, t.more = sig, s.now(), true, false
			}
		}
		if t.more {
			schedule(t, s.now())
		}
	}
	s.setHealth()
}

func (s *Sensor) setHealth() {
	failing := 0
	var last error
	for _, t := range s.dbs {
		if t.lastErr != nil {
			failing++
			last = t.lastErr
		}
	}
	msg := fmt.Sprintf("reading %d history database(s)", len(s.dbs))
	switch {
	case failing > 0:
		s.track.Set(sensors.StateDegraded, s.mode, fmt.Sprintf("%s; %d failed at their last read: %v", msg, failing, last))
	case s.mode == "poll":
		s.track.Set(sensors.StateDegraded, s.mode, msg+"; file notifications unavailable, checking every poll_interval")
	default:
		s.track.Set(sensors.StateOK, s.mode, msg)
	}
}

// readDatabase copies one database, reads what was added after its cursor,
// emits the events and saves the cursor. A database that has not changed
// since its last complete read is not copied.
func (s *Sensor) readDatabase(ctx context.Context, t *tracked, emit func(event.Event)) error {
	fi, err := os.Stat(t.Path)
	if err != nil {
		return fmt.Errorf("browser: stat %s: %w", t.Path, err)
	}
	if sig, err := signatureOf(t.Path); err == nil && !t.changed(sig) {
		return nil
	}
	readAt := s.now()
	t.dirty = false // a notification from now on asks for another read
	snap, err := s.snapshot(t.Path, s.cfg.TempDir)
	if err != nil {
		return fmt.Errorf("browser: %s: %w", t.Path, err)
	}
	defer func() { _ = snap.Remove() }()
	db, err := sql.Open("sqlite", sqliteURI(snap.Path, snap.HotJournal))
	if err != nil {
		return fmt.Errorf("browser: open copy of %s: %w", t.Path, err)
	}
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)

	r := readerFor(t.family())
	c, ok := s.cursors[t.Path]
	if !ok {
		if c, err = r.Start(ctx, db, s.now().Add(-s.cfg.Backfill)); err != nil {
			return fmt.Errorf("browser: %s: %w", t.Path, err)
		}
	}
	usr := s.userOf(fi, t.Home)
	limit := s.cfg.MaxRowsPerPoll
	nv, err := r.Visits(ctx, db, &c, limit, func(v visit) { s.onVisit(t, usr, v, emit) })
	if err != nil {
		return fmt.Errorf("browser: %s: %w", t.Path, err)
	}
	nd, err := r.Downloads(ctx, db, &c, limit, func(d download) { s.onDownload(t, usr, d, emit) })
	if err != nil {
		return fmt.Errorf("browser: %s: %w", t.Path, err)
	}
	s.cursors[t.Path] = c
	t.sig, t.readAt, t.read, t.more = snap.Sig, readAt, true, nv >= limit || nd >= limit
	if err := saveState(s.state, savedState{Cursors: s.cursors}); err != nil {
		return fmt.Errorf("browser: %w", err)
	}
	return nil
}

func (s *Sensor) onVisit(t *tracked, usr *event.User, v visit, emit func(event.Event)) {
	clean, host := CleanURL(v.URL, s.cfg.IncludeQuery)
	if clean == "" {
		return
	}
	dom, classified := s.classify.Classify(host)
	if s.include != nil && (!classified || !s.include[dom.Category]) {
		return
	}
	labels := s.labels(t)
	if v.Transition != "" {
		labels["transition"] = v.Transition
	}
	if s.cfg.IncludeTitles && v.Title != "" {
		labels["title"] = v.Title
	}
	s.emit(emit, s.newEvent(t, usr, event.ActionWebVisit, v.When, "success", clean, host, dom, labels))
}

func (s *Sensor) onDownload(t *tracked, usr *event.User, d download, emit func(event.Event)) {
	if !s.cfg.Downloads {
		return
	}
	clean, host := CleanURL(d.URL, s.cfg.IncludeQuery)
	if host == "" {
		// A data: or blob:-less URL has no host: the page it was saved
		// from names the destination.
		_, host = CleanURL(d.PageURL, false)
	}
	dom, _ := s.classify.Classify(host)
	labels := s.labels(t)
	if d.State != "" {
		labels["download_state"] = d.State
	}
	if page, _ := CleanURL(d.PageURL, s.cfg.IncludeQuery); page != "" && page != clean {
		labels["page_url"] = page
	}
	outcome := "failure"
	if d.Success {
		outcome = "success"
	}
	ev := s.newEvent(t, usr, event.ActionWebDownload, d.When, outcome, clean, host, dom, labels)
	if d.Path != "" {
		size := d.Size
		if size <= 0 && d.Success {
			if fi, err := os.Stat(d.Path); err == nil && fi.Mode().IsRegular() {
				size = fi.Size()
			}
		}
		ev.File = &event.File{Path: d.Path, Size: max(size, 0), MimeType: d.Mime}
		ev.Normalize()
	}
	s.emit(emit, ev)
}

func (s *Sensor) labels(t *tracked) map[string]string {
	return map[string]string{"browser": t.Browser, "profile": t.Profile}
}

func (s *Sensor) newEvent(t *tracked, usr *event.User, action string, when time.Time, outcome, clean, host string, dom netconn.Domain, labels map[string]string) event.Event {
	if when.IsZero() {
		when = s.now()
	}
	ev := event.Event{
		Timestamp: when,
		Labels:    labels,
		Event: event.Meta{
			ID:      event.NewID(when),
			Action:  action,
			Module:  Name,
			Outcome: outcome,
		},
		User:    usr,
		Process: &event.Process{Name: processName(t.Browser, s.goos)},
	}
	if clean != "" {
		ev.URL = &event.URL{Full: clean, Category: dom.Category}
	}
	if host != "" {
		ev.Destination = &event.Destination{Domain: host, CloudProvider: dom.Provider, Category: dom.Category}
	}
	ev.Normalize()
	return ev
}

func (s *Sensor) emit(emit func(event.Event), ev event.Event) {
	s.track.Emitted()
	emit(ev)
}

// userOf returns the owner of the database file, else the home's name.
func (s *Sensor) userOf(fi os.FileInfo, home string) *event.User {
	if uid := ownerID(fi); uid != "" {
		name, ok := s.users[uid]
		if !ok {
			if u, err := user.LookupId(uid); err == nil {
				name = u.Username
			}
			if len(s.users) > 1024 {
				clear(s.users)
			}
			s.users[uid] = name
		}
		return &event.User{ID: uid, Name: name}
	}
	if home != "" {
		return &event.User{Name: filepath.Base(home)}
	}
	return nil
}
