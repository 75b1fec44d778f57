//go:build linux || darwin

package printing

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/logtail"
	"github.com/vigil-itm/vigil/sensors/internal/owner"
	"github.com/vigil-itm/vigil/sensors/internal/statefile"
)

// recentJobs is how many reported jobs the sensor remembers (and saves) so
// that a job is never reported twice.
const recentJobs = 512

// Sensor follows the CUPS page_log. Build it with New.
type Sensor struct {
	cfg   Config
	log   *slog.Logger
	state string
	track sensors.Tracker

	pending map[string]*pendingJob
	recent  *statefile.Recent
	users   owner.Users
	badLine bool
}

var (
	_ sensors.Sensor         = (*Sensor)(nil)
	_ sensors.HealthReporter = (*Sensor)(nil)
)

// pendingJob collects the per-page lines of a job until its total line.
type pendingJob struct {
	first PageLine
	pages int64
	last  time.Time
}

var newSensor = sensors.NewFactory(ParseConfig, sensors.Infallible(New))

// New returns a sensor for cfg, which must be valid.
func New(cfg Config, env sensors.Env) *Sensor {
	return &Sensor{
		cfg:     cfg,
		log:     env.ComponentLogger(Name),
		state:   statefile.Path(env.DataDir, Name),
		pending: map[string]*pendingJob{},
		recent:  statefile.NewRecent(recentJobs),
	}
}

// Name returns "printing".
func (s *Sensor) Name() string { return Name }

// Health reports the sensor's state and counters.
func (s *Sensor) Health() sensors.Health { return s.track.Health() }

// Run follows the page log until ctx is done.
func (s *Sensor) Run(ctx context.Context, emit func(event.Event)) error {
	var st *savedState
	if s.cfg.Resume {
		st = statefile.Load[savedState](s.state)
	}
	if st != nil {
		for _, k := range st.Recent {
			s.recent.Add(k)
		}
	}
	var pos *logtail.Position
	if st != nil {
		pos = &st.Position
	}
	t := logtail.New(s.cfg.PageLog)
	defer t.Close()
	if err := t.Resume(pos); err != nil {
		s.track.Set(sensors.StateFailed, "page_log", err.Error())
		return fmt.Errorf("printing: follow page log: %w", err)
	}
	s.checkSetup()
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	for {
		s.pollOnce(t, emit)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// checkSetup sets the health from what can be known before any job.
func (s *Sensor) checkSetup() {
	if d, err := ReadPageLogFormat(s.cfg.CupsdConf); err == nil && d.Value != PageLogFormat {
		s.track.Set(sensors.StateDegraded, "page_log",
			fmt.Sprintf("%s does not set PageLogFormat to the format the sensor reads; run `vigil sensors check`", s.cfg.CupsdConf))
		return
	}
	if _, err := os.Stat(s.cfg.PageLog); errors.Is(err, fs.ErrNotExist) {
		s.track.Set(sensors.StateOK, "page_log", "waiting for cupsd to create "+s.cfg.PageLog)
		return
	}
	s.track.Set(sensors.StateOK, "page_log", "")
}

func (s *Sensor) pollOnce(t *logtail.Tailer, emit func(event.Event)) {
	read, err := t.Poll(func(line []byte) { s.handleLine(string(line), emit) })
	if err != nil {
		s.track.Failed(err)
		s.log.Warn("follow page log", "path", s.cfg.PageLog, "err", err)
	}
	s.expire(time.Now(), emit)
	if read {
		if h := s.track.Health(); h.State == sensors.StateOK && h.Message != "" {
			s.track.Set(sensors.StateOK, "page_log", "") // the page log exists now
		}
		st := savedState{Position: t.Position(), Recent: s.recent.Keys()}
		if err := statefile.Save(s.state, st); err != nil {
			s.track.Failed(err)
		}
	}
}

// handleLine turns one page_log line into an event, or into the running
// total of a job still printing.
func (s *Sensor) handleLine(line string, emit func(event.Event)) {
	if line == "" {
		return
	}
	p, err := ParsePageLine(line)
	if err != nil {
		s.track.Failed(err)
		if !s.badLine {
			s.badLine = true
			s.track.Set(sensors.StateDegraded, "page_log",
				"page_log has lines in another format: set PageLogFormat as `vigil sensors check` explains")
			s.log.Warn("page_log line in another format", "path", s.cfg.PageLog, "err", err)
		}
		return
	}
	key := p.Printer + "-" + strconv.FormatInt(p.JobID, 10)
	if s.recent.Has(key) {
		return
	}
	if !p.Total {
		j := s.pending[key]
		if j == nil {
			j = &pendingJob{first: p}
			s.pending[key] = j
		}
		j.pages += p.Sheets
		j.last = time.Now()
		return
	}
	pages := p.Sheets
	if p.Impressions > 0 {
		pages = p.Impressions
	}
	if j := s.pending[key]; j != nil {
		if pages == 0 {
			pages = j.pages
		}
		if p.Title == "" {
			p.Title = j.first.Title
		}
		delete(s.pending, key)
	}
	s.report(key, p, pages, emit)
}

// expire reports jobs whose total line never came.
func (s *Sensor) expire(now time.Time, emit func(event.Event)) {
	for key, j := range s.pending {
		if now.Sub(j.last) >= s.cfg.JobTimeout {
			delete(s.pending, key)
			s.report(key, j.first, j.pages, emit)
		}
	}
}

func (s *Sensor) report(key string, p PageLine, pages int64, emit func(event.Event)) {
	s.recent.Add(key)
	copies := p.Copies
	if copies <= 0 {
		copies = 1
	}
	ev := event.Event{
		Timestamp: p.Time,
		Event: event.Meta{
			ID:      event.NewID(p.Time),
			Action:  event.ActionPrintJob,
			Module:  Name,
			Outcome: "success",
		},
		User: &event.User{Name: p.User, ID: s.users.ID(p.User)},
		Print: &event.Print{
			Printer:       p.Printer,
			JobID:         strconv.FormatInt(p.JobID, 10),
			Pages:         pages,
			Copies:        copies,
			DocumentTitle: p.Title,
		},
	}
	if p.Host != "" && p.Host != "localhost" {
		if ip, err := netip.ParseAddr(p.Host); err == nil {
			ev.Source = &event.Endpoint{IP: ip.String()}
		} else {
			ev.Source = &event.Endpoint{Domain: p.Host}
		}
	}
	ev.Normalize()
	s.track.Emitted()
	emit(ev)
}
