package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
)

// Modes reported in the sensor health.
const (
	ModeWtmp = "wtmp"
	ModeUtmp = "utmp"
)

// maxRecordsPerPoll bounds how much of a large backlog one poll reads.
const maxRecordsPerPoll = 4096

// Sensor follows wtmp (or watches utmp) and emits logon and logoff events.
type Sensor struct {
	cfg     Config
	log     *slog.Logger
	dataDir string
	tracker sensors.Tracker

	// The fields below are owned by the Run goroutine.
	open     map[string]Record // USER_PROCESS entries by line
	wtmp     follower
	snapshot map[string]Record // last utmp state, in utmp mode
	users    map[string]string // login name -> uid
}

var (
	_ sensors.Sensor         = (*Sensor)(nil)
	_ sensors.HealthReporter = (*Sensor)(nil)
)

func newSensor(node *yaml.Node, env sensors.Env) (sensors.Sensor, error) {
	cfg, err := ParseConfig(node)
	if err != nil {
		return nil, err
	}
	return New(cfg, env), nil
}

// New returns a session sensor for a validated cfg.
func New(cfg Config, env sensors.Env) *Sensor {
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sensor{cfg: cfg, log: log.With("component", "sensor/session"), dataDir: env.DataDir}
}

// Name returns "session".
func (s *Sensor) Name() string { return Name }

// Health reports the mode (wtmp or utmp) and the counters.
func (s *Sensor) Health() sensors.Health { return s.tracker.Health() }

// Run emits logon and logoff events until ctx is done.
func (s *Sensor) Run(ctx context.Context, emit func(event.Event)) error {
	s.open = map[string]Record{}
	s.users = map[string]string{}
	s.snapshot = nil
	s.wtmp = follower{path: s.cfg.WtmpPath}
	defer s.wtmp.close()

	// Who is logged on now: DEAD_PROCESS records in wtmp often carry no
	// user name, so the logoff of a session open before start needs it.
	if recs, err := readAll(s.cfg.UtmpPath); err == nil {
		for _, r := range recs {
			if r.Type == TypeUserProcess && r.User != "" {
				s.open[r.Line] = r
			}
		}
	}
	if st, ok := s.loadState(); ok {
		s.wtmp.resume = &st
	}

	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		s.poll(emit)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// poll reads what changed since the last call and emits it.
func (s *Sensor) poll(emit func(event.Event)) {
	if s.cfg.WtmpPath != "" && (s.wtmp.f != nil || exists(s.cfg.WtmpPath)) {
		s.tracker.Set(sensors.StateOK, ModeWtmp, "")
		recs, err := s.wtmp.poll()
		if err != nil {
			s.tracker.Failed(err)
			s.log.Warn("read wtmp", "path", s.cfg.WtmpPath, "err", err)
		}
		for _, r := range recs {
			s.handle(r, emit)
		}
		if len(recs) > 0 {
			s.saveState()
		}
		return
	}
	if s.cfg.UtmpPath != "" && exists(s.cfg.UtmpPath) {
		s.tracker.Set(sensors.StateOK, ModeUtmp, "no wtmp file: logons are seen by watching utmp, at poll_interval resolution")
		s.diffUtmp(emit)
		return
	}
	s.tracker.Set(sensors.StateDegraded, "", fmt.Sprintf("neither %s nor %s exists: no login accounting on this host", s.cfg.WtmpPath, s.cfg.UtmpPath))
}

// handle turns one wtmp record into events.
func (s *Sensor) handle(r Record, emit func(event.Event)) {
	switch {
	case r.Type == TypeUserProcess && r.User != "":
		if prev, ok := s.open[r.Line]; ok && prev.PID != r.PID {
			// The line was reused without a DEAD_PROCESS record.
			s.emit(emit, event.ActionLogoff, prev, r.Time)
		}
		s.open[r.Line] = r
		s.emit(emit, event.ActionLogon, r, r.Time)
	case r.Type == TypeDeadProcess:
		prev, ok := s.open[r.Line]
		switch {
		case ok:
			delete(s.open, r.Line)
			s.emit(emit, event.ActionLogoff, prev, r.Time)
		case r.User != "":
			s.emit(emit, event.ActionLogoff, r, r.Time)
		}
	case r.Type == TypeBootTime || (r.Type == TypeRunLevel && r.User == "shutdown"):
		// Sessions still open at a reboot or shutdown ended with it.
		for line, prev := range s.open {
			delete(s.open, line)
			s.emit(emit, event.ActionLogoff, prev, r.Time)
		}
	}
}

// diffUtmp compares utmp with the last snapshot.
func (s *Sensor) diffUtmp(emit func(event.Event)) {
	recs, err := readAll(s.cfg.UtmpPath)
	if err != nil {
		s.tracker.Failed(err)
		return
	}
	now := map[string]Record{}
	for _, r := range recs {
		if r.Type == TypeUserProcess && r.User != "" {
			now[r.Line] = r
		}
	}
	if s.snapshot == nil {
		// First look: sessions already open are not new logons.
		s.snapshot = now
		return
	}
	for line, old := range s.snapshot {
		if cur, ok := now[line]; !ok || cur.PID != old.PID {
			s.emit(emit, event.ActionLogoff, old, time.Now())
		}
	}
	for line, cur := range now {
		if old, ok := s.snapshot[line]; !ok || old.PID != cur.PID {
			s.emit(emit, event.ActionLogon, cur, cur.Time)
		}
	}
	s.snapshot = now
}

func (s *Sensor) emit(emit func(event.Event), action string, r Record, t time.Time) {
	if t.IsZero() || t.Unix() <= 0 {
		t = time.Now()
	}
	e := event.Event{
		Timestamp: t,
		Event: event.Meta{
			ID:      event.NewID(t),
			Action:  action,
			Module:  Name,
			Outcome: "success",
		},
		User: &event.User{Name: r.User, ID: s.uid(r.User)},
		Session: &event.Session{
			ID:            r.SessionID(),
			Type:          sessionType(r),
			TTY:           r.Line,
			RemoteAddress: r.RemoteAddress(),
		},
	}
	if r.PID > 0 {
		e.Process = &event.Process{PID: int64(r.PID)}
	}
	e.Normalize()
	s.tracker.Emitted()
	emit(e)
}

// uid looks up a login name's uid once.
func (s *Sensor) uid(name string) string {
	if name == "" {
		return ""
	}
	if id, ok := s.users[name]; ok {
		return id
	}
	id := ""
	if u, err := user.Lookup(name); err == nil {
		id = u.Uid
	}
	if len(s.users) > 4096 {
		clear(s.users)
	}
	s.users[name] = id
	return id
}

// sessionType classifies a session: "remote" when it came from another
// host, "x11" for a display, else "local".
func sessionType(r Record) string {
	switch {
	case r.RemoteAddress() != "":
		return "remote"
	case strings.HasPrefix(r.Host, ":") || strings.HasPrefix(r.Line, ":"):
		return "x11"
	default:
		return "local"
	}
}

// state is what the sensor keeps in its data directory.
type state struct {
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
}

func (s *Sensor) statePath() string {
	if s.dataDir == "" || !s.cfg.Resume {
		return ""
	}
	return filepath.Join(s.dataDir, "session-wtmp.json")
}

func (s *Sensor) loadState() (state, bool) {
	p := s.statePath()
	if p == "" {
		return state{}, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return state{}, false
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		s.log.Warn("ignore unreadable state", "path", p, "err", err)
		return state{}, false
	}
	return st, true
}

func (s *Sensor) saveState() {
	p := s.statePath()
	if p == "" || s.wtmp.f == nil {
		return
	}
	b, err := json.Marshal(state{Inode: s.wtmp.ino, Offset: s.wtmp.off})
	if err != nil {
		return
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		s.tracker.Failed(fmt.Errorf("save wtmp offset to %s: %w", tmp, err))
		return
	}
	if err := os.Rename(tmp, p); err != nil {
		s.tracker.Failed(fmt.Errorf("save wtmp offset to %s: %w", p, err))
	}
}

// follower reads the records appended to a file, across rotation (the path
// now names another file) and truncation (the file got shorter).
type follower struct {
	path   string
	f      *os.File
	ino    uint64
	off    int64
	opened bool   // a file was opened before: a new file starts at 0
	resume *state // saved position for the first open
	last   []byte // the last record read, to notice a rewrite
}

func (w *follower) close() {
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
}

func (w *follower) poll() ([]Record, error) {
	fi, err := os.Stat(w.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("stat %s: %w", w.path, err)
	}
	var out []Record
	if w.f != nil && (err != nil || inode(fi) != w.ino) {
		// Rotated or removed: finish the old file, then move on.
		recs, rerr := w.readNew()
		out = append(out, recs...)
		w.close()
		if rerr != nil {
			return out, rerr
		}
	}
	if err != nil {
		return out, nil
	}
	if w.f == nil {
		f, err := os.Open(w.path)
		if err != nil {
			return out, fmt.Errorf("open %s: %w", w.path, err)
		}
		w.f, w.ino, w.off, w.last = f, inode(fi), 0, nil
		switch {
		case w.resume != nil && w.resume.Inode == w.ino && w.resume.Offset <= fi.Size():
			w.off = w.resume.Offset - w.resume.Offset%RecordSize
		case !w.opened:
			// First sight at start: only what comes next is news.
			w.off = fi.Size() - fi.Size()%RecordSize
		}
		w.opened, w.resume = true, nil
	}
	recs, err := w.readNew()
	return append(out, recs...), err
}

// readNew reads the whole records past the offset.
func (w *follower) readNew() ([]Record, error) {
	fi, err := w.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", w.path, err)
	}
	if fi.Size() < w.off || w.rewritten() {
		// Truncated, or truncated and written again past our offset.
		w.off = 0
	}
	n := (fi.Size() - w.off) / RecordSize
	if n == 0 {
		return nil, nil
	}
	n = min(n, maxRecordsPerPoll)
	buf := make([]byte, n*RecordSize)
	got, err := w.f.ReadAt(buf, w.off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s at %d: %w", w.path, w.off, err)
	}
	got -= got % RecordSize
	out := make([]Record, 0, got/RecordSize)
	for i := 0; i < got; i += RecordSize {
		r, err := ParseRecord(buf[i : i+RecordSize])
		if err == nil {
			out = append(out, r)
		}
	}
	w.off += int64(got)
	if got > 0 {
		w.last = append(w.last[:0], buf[got-RecordSize:got]...)
	}
	return out, nil
}

// rewritten reports whether the record before the offset is no longer the
// one read last, which means the file was truncated and refilled.
func (w *follower) rewritten() bool {
	if len(w.last) != RecordSize || w.off < RecordSize {
		return false
	}
	var b [RecordSize]byte
	if _, err := w.f.ReadAt(b[:], w.off-RecordSize); err != nil {
		return true
	}
	return !bytes.Equal(b[:], w.last)
}

// readAll reads every record of a utmp-format file.
func readAll(path string) ([]Record, error) {
	if path == "" {
		return nil, fs.ErrNotExist
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ParseAll(b), nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
