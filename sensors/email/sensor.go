package email

import (
	"context"
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
	"github.com/vigil-itm/vigil/sensors/internal/logtail"
	"github.com/vigil-itm/vigil/sensors/internal/owner"
	"github.com/vigil-itm/vigil/sensors/internal/statefile"
)

// recentIDs is how many reported Message-IDs the sensor remembers, so a
// message seen in two places (a Sent folder and the postfix log, or a
// Maildir file renamed by its flags) is reported once.
const recentIDs = 4096

// Sensor watches Sent folders and the postfix log. Build it with New.
type Sensor struct {
	cfg       Config
	log       *slog.Logger
	statePath string
	track     sensors.Tracker

	folders map[string]*folder
	dirs    map[string]bool // directories being watched
	recent  *statefile.Recent
	users   owner.Users

	postfix     *logtail.Tailer
	postfixPath string
	joiner      *postfixJoiner
	saved       *savedState
	dirty       bool // state changed since last saved
}

var (
	_ sensors.Sensor         = (*Sensor)(nil)
	_ sensors.HealthReporter = (*Sensor)(nil)
)

// folder is one watched Sent folder.
type folder struct {
	Folder
	format string
	// mbox: the file's identity and how far it was read.
	id  uint64
	off int64
	// maildir: the unique names of the messages already seen.
	names map[string]bool
	// changed is when the last change was seen; zero when none is pending.
	changed time.Time
}

// New returns a sensor for cfg, which must be valid.
func New(cfg Config, env sensors.Env) *Sensor {
	return &Sensor{
		cfg:       cfg,
		log:       env.ComponentLogger(Name),
		statePath: statefile.Path(env.DataDir, Name),
		folders:   map[string]*folder{},
		dirs:      map[string]bool{},
		recent:    statefile.NewRecent(recentIDs),
		joiner:    newPostfixJoiner(cfg.PostfixLocalOnly),
	}
}

// Name returns "email".
func (s *Sensor) Name() string { return Name }

// Health reports the sensor's state and counters.
func (s *Sensor) Health() sensors.Health { return s.track.Health() }

// Run watches until ctx is done.
func (s *Sensor) Run(ctx context.Context, emit func(event.Event)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		s.track.Set(sensors.StateFailed, "fsnotify", err.Error())
		return fmt.Errorf("email: start file watcher: %w", err)
	}
	defer func() { _ = w.Close() }()
	if s.cfg.Resume {
		s.saved = statefile.Load[savedState](s.statePath)
	}
	if s.saved == nil {
		s.saved = &savedState{}
	}
	for _, id := range s.saved.Recent {
		s.remember(id)
	}
	defer func() {
		if s.postfix != nil {
			s.postfix.Close()
		}
	}()
	s.refresh(w, emit)
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	rescan := time.NewTicker(s.cfg.Rescan)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			s.save()
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("email: file watcher closed")
			}
			s.onChange(ev)
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("email: file watcher closed")
			}
			s.track.Failed(fmt.Errorf("email: file watcher: %w", err))
		case <-tick.C:
			s.settle(time.Now(), emit)
			s.pollPostfix(emit)
			s.save()
		case <-rescan.C:
			s.refresh(w, emit)
			s.joiner.expire(time.Now().Add(-time.Hour))
		}
	}
}

// refresh finds the folders to watch and the postfix log, and starts
// watching what is new.
func (s *Sensor) refresh(w *fsnotify.Watcher, emit func(event.Event)) {
	want := append([]Folder(nil), s.cfg.SentFolders...)
	if s.cfg.DiscoverClients {
		want = append(want, Discover(s.cfg.Homes)...)
	}
	for _, f := range want {
		if _, ok := s.folders[f.Path]; ok {
			continue
		}
		if _, err := os.Stat(f.Path); err != nil {
			continue // configured but not there yet: a later rescan adds it
		}
		fo := &folder{Folder: f, format: formatOf(f)}
		var dirs []string
		if fo.format == FormatMaildir {
			dirs = []string{filepath.Join(f.Path, "cur"), filepath.Join(f.Path, "new")}
		} else {
			dirs = []string{filepath.Dir(f.Path)}
		}
		ok := true
		for _, d := range dirs {
			if s.dirs[d] {
				continue
			}
			if err := w.Add(d); err != nil {
				s.track.Failed(fmt.Errorf("email: watch %s: %w", d, err))
				ok = false
				break
			}
			s.dirs[d] = true
		}
		if !ok {
			continue
		}
		s.folders[f.Path] = fo
		s.start(fo, emit)
		s.log.Info("watching sent folder", "path", f.Path, "format", fo.format, "client", f.Client)
	}
	s.refreshPostfix()
	msg := fmt.Sprintf("watching %d sent folder(s)", len(s.folders))
	if s.postfixPath != "" {
		msg += "; following " + s.postfixPath
	}
	if len(s.cfg.OrganisationDomains) == 0 {
		msg += "; no organisation_domains: the sender's domain counts as internal"
	}
	s.track.Set(sensors.StateOK, "fsnotify", msg)
}

// start positions a newly watched folder: after what it holds, or after
// what the saved state says was read.
func (s *Sensor) start(f *folder, emit func(event.Event)) {
	if f.format == FormatMaildir {
		f.names = map[string]bool{}
		since, resumed := s.saved.Maildir[f.Path]
		s.scanMaildir(f, func(path string, fi os.FileInfo) bool {
			return resumed && fi.ModTime().After(since)
		}, emit)
		return
	}
	fi, err := os.Stat(f.Path)
	if err != nil {
		return
	}
	f.id, f.off = logtail.FileID(fi), fi.Size()
	if m, ok := s.saved.Mbox[f.Path]; ok && m.FileID == f.id && m.FileID != 0 && m.Offset <= fi.Size() {
		f.off = m.Offset
		f.changed = time.Now() // read what arrived while the agent was down
	}
	s.dirty = true
}

func (s *Sensor) onChange(ev fsnotify.Event) {
	if ev.Op == fsnotify.Chmod {
		return
	}
	dir := filepath.Dir(ev.Name)
	now := time.Now()
	if f, ok := s.folders[ev.Name]; ok && f.format == FormatMbox {
		f.changed = now
		return
	}
	if base := filepath.Base(dir); base == "cur" || base == "new" {
		if f, ok := s.folders[filepath.Dir(dir)]; ok && f.format == FormatMaildir {
			f.changed = now
		}
	}
}

// settle reads the folders that changed and have been quiet long enough.
func (s *Sensor) settle(now time.Time, emit func(event.Event)) {
	for _, f := range s.folders {
		if f.changed.IsZero() || now.Sub(f.changed) < s.cfg.Settle {
			continue
		}
		f.changed = time.Time{}
		if f.format == FormatMaildir {
			s.scanMaildir(f, func(string, os.FileInfo) bool { return true }, emit)
		} else {
			s.readMbox(f, emit)
		}
		s.dirty = true
	}
}

// readMbox reports the messages appended to an mbox since the last read.
func (s *Sensor) readMbox(f *folder, emit func(event.Event)) {
	fi, err := os.Stat(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		f.id, f.off = 0, 0 // deleted: a new file is read from its start
		return
	}
	if err != nil {
		s.track.Failed(fmt.Errorf("email: stat %s: %w", f.Path, err))
		return
	}
	id := logtail.FileID(fi)
	switch {
	case id != f.id && f.id != 0, fi.Size() < f.off:
		// Replaced or shrunk: the client compacted the folder, which
		// rewrites messages already there. Nothing new to report.
		f.id, f.off = id, fi.Size()
		return
	case fi.Size() == f.off:
		f.id = id
		return
	}
	f.id = id
	file, err := os.Open(f.Path)
	if err != nil {
		s.track.Failed(fmt.Errorf("email: open %s: %w", f.Path, err))
		return
	}
	defer func() { _ = file.Close() }()
	// One message at a time: memory follows the largest message (up to
	// max_message_bytes), not how much was appended.
	err = ScanMbox(io.NewSectionReader(file, f.off, fi.Size()-f.off), s.cfg.MaxMessageBytes, func(raw []byte, size int64) {
		if size > s.cfg.MaxMessageBytes {
			s.track.Failed(fmt.Errorf("email: message in %s: %w: %d bytes, limit %d", f.Path, ErrTooLarge, size, s.cfg.MaxMessageBytes))
			return
		}
		s.report(raw, f, fi, emit)
	})
	if err != nil {
		s.track.Failed(fmt.Errorf("email: %s: %w", f.Path, err))
		return
	}
	f.off = fi.Size()
}

// scanMaildir lists a Maildir's cur and new directories; files not seen
// before are reported when isNew says so, and remembered either way.
func (s *Sensor) scanMaildir(f *folder, isNew func(string, os.FileInfo) bool, emit func(event.Event)) {
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(f.Path, sub)
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
				continue
			}
			unique, _, _ := strings.Cut(name, ":")
			if f.names[unique] {
				continue
			}
			f.names[unique] = true
			p := filepath.Join(dir, name)
			fi, err := e.Info()
			if err != nil || !isNew(p, fi) {
				continue
			}
			if fi.Size() > s.cfg.MaxMessageBytes {
				s.track.Failed(fmt.Errorf("email: %s: %w", p, ErrTooLarge))
				continue
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				s.track.Failed(fmt.Errorf("email: read %s: %w", p, err))
				continue
			}
			s.report(raw, f, fi, emit)
		}
	}
	s.saved.Maildir = setTime(s.saved.Maildir, f.Path, time.Now())
}

func setTime(m map[string]time.Time, k string, t time.Time) map[string]time.Time {
	if m == nil {
		m = map[string]time.Time{}
	}
	m[k] = t
	return m
}

// report parses one message from a Sent folder and emits it.
func (s *Sensor) report(raw []byte, f *folder, fi os.FileInfo, emit func(event.Event)) {
	m, err := ParseMessage(raw, s.cfg.MaxMessageBytes)
	if err != nil {
		s.track.Failed(fmt.Errorf("email: message in %s: %w", f.Path, err))
		return
	}
	if m.MessageID != "" && s.recent.Has(m.MessageID) {
		return
	}
	s.remember(m.MessageID)
	now := time.Now()
	when := m.Date
	if when.IsZero() || when.After(now.Add(time.Hour)) {
		when = now
	}
	ev := s.newEvent(when, &event.Email{
		From: m.From, To: m.To, CC: m.CC, BCC: m.BCC, Subject: m.Subject, MessageID: m.MessageID,
		Size: m.Size, Attachments: m.Attachments, Client: f.Client,
	}, s.users.User(owner.UID(fi)))
	ev.Labels = map[string]string{"mail_folder": f.Path}
	ev.Normalize()
	s.track.Emitted()
	emit(ev)
}

// newEvent builds an email-sent event and counts external recipients.
func (s *Sensor) newEvent(when time.Time, em *event.Email, u *event.User) event.Event {
	org := s.cfg.OrganisationDomains
	if len(org) == 0 {
		if d := domainOf(em.From); d != "" {
			org = []string{d}
		}
	}
	em.ExternalRecipients = externalRecipients(org, em.To, em.CC, em.BCC)
	return event.Event{
		Timestamp: when,
		Event: event.Meta{
			ID:      event.NewID(when),
			Action:  event.ActionEmailSent,
			Module:  Name,
			Outcome: "success",
		},
		User:  u,
		Email: em,
	}
}

// refreshPostfix opens the first postfix log that exists.
func (s *Sensor) refreshPostfix() {
	if s.postfix != nil {
		return
	}
	for _, p := range s.cfg.PostfixLogs {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		t := logtail.New(p)
		st := s.saved.Postfix
		if st != nil && st.Path != p {
			st = nil
		}
		if err := t.Resume(st); err != nil {
			s.track.Failed(fmt.Errorf("email: follow postfix log: %w", err))
			continue
		}
		s.postfix, s.postfixPath = t, p
		s.log.Info("following postfix log", "path", p)
		return
	}
}

func (s *Sensor) pollPostfix(emit func(event.Event)) {
	if s.postfix == nil {
		return
	}
	now := time.Now()
	read, err := s.postfix.Poll(func(line []byte) {
		p, err := ParsePostfixLine(string(line), now)
		if err != nil {
			return // other programs share the log
		}
		if m := s.joiner.add(p); m != nil {
			s.reportPostfix(p.Time, m, emit)
		}
	})
	if err != nil {
		s.track.Failed(fmt.Errorf("email: %w", err))
	}
	if read {
		st := s.postfix.Position()
		s.saved.Postfix = &st
		s.dirty = true
	}
}

func (s *Sensor) reportPostfix(when time.Time, m *postfixMessage, emit func(event.Event)) {
	if m.messageID != "" && s.recent.Has(m.messageID) {
		return
	}
	s.remember(m.messageID)
	u := s.users.User(m.uid)
	ev := s.newEvent(when, &event.Email{From: m.from, To: m.sent, MessageID: m.messageID, Size: m.size, Client: "postfix"}, u)
	ev.Normalize()
	s.track.Emitted()
	emit(ev)
}

// save writes the state when it changed.
func (s *Sensor) save() {
	if !s.dirty {
		return
	}
	s.dirty = false
	s.saved.Recent = s.recent.Keys()
	s.saved.Mbox = map[string]mboxMark{}
	for p, f := range s.folders {
		if f.format == FormatMbox && f.id != 0 {
			s.saved.Mbox[p] = mboxMark{FileID: f.id, Offset: f.off}
		}
	}
	if err := statefile.Save(s.statePath, s.saved); err != nil {
		s.track.Failed(err)
	}
}

func (s *Sensor) remember(id string) {
	if id != "" && s.recent.Add(id) {
		s.dirty = true
	}
}
