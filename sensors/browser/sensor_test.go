package browser

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/testrun"
	"github.com/vigil-itm/vigil/sensors"
)

// collector gathers emitted events.
type collector struct {
	mu  sync.Mutex
	evs []event.Event
}

func (c *collector) emit(e event.Event) {
	c.mu.Lock()
	c.evs = append(c.evs, e)
	c.mu.Unlock()
}

func (c *collector) events() []event.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.evs)
}

// find returns the first event with the action and url.full.
func (c *collector) find(action, full string) (event.Event, bool) {
	for _, e := range c.events() {
		if e.Event.Action == action && e.URL != nil && e.URL.Full == full {
			return e, true
		}
	}
	return event.Event{}, false
}

func (c *collector) waitFor(t *testing.T, action, full string) event.Event {
	t.Helper()
	return c.waitForWithin(t, 20*time.Second, action, full)
}

func (c *collector) waitForWithin(t *testing.T, limit time.Duration, action, full string) event.Event {
	t.Helper()
	var got event.Event
	require.Eventually(t, func() bool {
		var ok bool
		got, ok = c.find(action, full)
		return ok
	}, limit, 10*time.Millisecond, "no %s event for %s; have %d events", action, full, len(c.events()))
	require.NoError(t, got.Validate())
	return got
}

// testConfig reads the homes below root, quickly.
func testConfig(root string) Config {
	c := DefaultConfig()
	c.Homes = []string{filepath.Join(root, "home", "*")}
	c.PollInterval = 50 * time.Millisecond
	c.Debounce = 10 * time.Millisecond
	c.Rescan = 50 * time.Millisecond
	c.TempDir = filepath.Join(root, "tmp")
	return c
}

// runSensor runs a sensor until the test ends or stop is called.
func runSensor(t *testing.T, cfg Config, dataDir string) (s *Sensor, c *collector, stop func()) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	require.NoError(t, os.MkdirAll(cfg.TempDir, 0o700))
	s = New(cfg, sensors.Env{DataDir: dataDir})
	c = &collector{}
	stop = testrun.Start(t, "browser sensor", time.Minute, func(ctx context.Context) error { return s.Run(ctx, c.emit) })
	return s, c, stop
}

func currentUser(t *testing.T) string {
	u, err := user.Current()
	require.NoError(t, err)
	return u.Username
}

func TestChromiumHistoryWhileRunning(t *testing.T) {
	root := t.TempDir()
	dataDir := t.TempDir()
	path := filepath.Join(root, "home", "alice", ".config", "google-chrome", "Default", "History")
	h := newChromiumHistory(t, path)
	now := time.Now()
	h.chromiumVisit("https://www.dropbox.com/old", "Old", now.Add(-3*time.Hour), 0) // before the backfill window
	h.chromiumVisit("https://mail.google.com/mail/u/0/#inbox", "Inbox (3) - Gmail", now.Add(-10*time.Minute), 1)

	cfg := testConfig(root)
	s, c, stop := runSensor(t, cfg, dataDir)
	inbox := c.waitFor(t, event.ActionWebVisit, "https://mail.google.com/mail/u/0/")
	require.Equal(t, "webmail", inbox.URL.Category)
	require.Equal(t, &event.Destination{Domain: "mail.google.com", Category: "webmail"}, inbox.Destination) // the list names no provider for webmail
	require.Equal(t, "typed", inbox.Labels["transition"])

	// While the sensor runs: a visit to an unclassified site (not
	// reported with the default include_categories), a visit to a
	// classified one with credentials, a query and a fragment, a finished
	// and an unfinished download.
	h.chromiumVisit("https://www.example.com/", "Example", time.Now(), 0)
	last := h.chromiumVisit("https://user:secret@WWW.Dropbox.com/s/abc/q3.xlsx?dl=0&token=xyz#frag", "q3.xlsx - Dropbox", time.Now(), 0)
	target := filepath.Join(root, "home", "alice", "Downloads", "q3.xlsx")
	h.chromiumDownload(chromiumDownload{
		ID: 1, Target: target, URL: "https://dl.dropboxusercontent.com/s/abc/q3.xlsx?dl=1",
		TabURL: "https://www.dropbox.com/s/abc/q3.xlsx?dl=0", Start: time.Now(), End: time.Now(),
		Received: 48213, Total: 48213, State: 1, Mime: "application/vnd.ms-excel",
	})
	h.chromiumDownload(chromiumDownload{
		ID: 2, Target: filepath.Join(root, "home", "alice", "Downloads", "big.iso"), URL: "https://www.example.org/big.iso",
		Start: time.Now(), Received: 1000, Total: 5000, State: 0, Mime: "application/octet-stream",
	})

	visit := c.waitFor(t, event.ActionWebVisit, "https://www.dropbox.com/s/abc/q3.xlsx")
	require.Equal(t, "https", visit.URL.Scheme)
	require.Equal(t, "www.dropbox.com", visit.URL.Domain)
	require.Equal(t, "/s/abc/q3.xlsx", visit.URL.Path)
	require.Empty(t, visit.URL.Query)
	require.Equal(t, "cloud-storage", visit.URL.Category)
	require.Equal(t, &event.Destination{Domain: "www.dropbox.com", CloudProvider: "dropbox", Category: "cloud-storage"}, visit.Destination)
	require.Equal(t, "chrome", visit.Process.Name)
	require.Equal(t, currentUser(t), visit.User.Name)
	require.Equal(t, map[string]string{"browser": "chrome", "profile": "Default", "transition": "link", "title": "q3.xlsx - Dropbox"}, visit.Labels)
	require.Equal(t, "browser", visit.Event.Module)
	require.WithinDuration(t, time.Now(), visit.Timestamp, time.Minute)

	dl := c.waitFor(t, event.ActionWebDownload, "https://dl.dropboxusercontent.com/s/abc/q3.xlsx")
	require.Equal(t, "success", dl.Event.Outcome)
	require.Equal(t, target, dl.File.Path)
	require.Equal(t, "q3.xlsx", dl.File.Name)
	require.Equal(t, "xlsx", dl.File.Extension)
	require.Equal(t, int64(48213), dl.File.Size)
	require.Equal(t, "application/vnd.ms-excel", dl.File.MimeType)
	require.Equal(t, "dropbox", dl.Destination.CloudProvider)
	require.Equal(t, "https://www.dropbox.com/s/abc/q3.xlsx", dl.Labels["page_url"])
	require.Equal(t, "complete", dl.Labels["download_state"])

	// The download still running was not reported; it is once it stops.
	_, running := c.find(event.ActionWebDownload, "https://www.example.org/big.iso")
	require.False(t, running)
	h.exec(`UPDATE downloads SET state = 2, end_time = ? WHERE id = 2`, ToChromeTime(time.Now()))
	cancelled := c.waitFor(t, event.ActionWebDownload, "https://www.example.org/big.iso")
	require.Equal(t, "failure", cancelled.Event.Outcome)
	require.Equal(t, "cancelled", cancelled.Labels["download_state"])
	require.Equal(t, int64(1000), cancelled.File.Size)

	for _, e := range c.events() {
		require.NotContains(t, []string{"https://www.dropbox.com/old", "https://www.example.com/"}, e.URL.Full)
		require.NotContains(t, e.URL.Full, "secret")
		require.NotContains(t, e.URL.Full, "token")
	}
	require.Len(t, c.events(), 4)
	health := s.Health()
	require.Equal(t, sensors.StateOK, health.State, health.Message)
	require.Equal(t, "fsnotify", health.Mode)
	require.Equal(t, uint64(4), health.Events)
	stop()

	// The cursor is saved where the sensor stopped.
	st, err := loadState(statePath(dataDir))
	require.NoError(t, err)
	require.Equal(t, last, st.Cursors[path].VisitID)
	require.Equal(t, int64(2), st.Cursors[path].DownloadID)

	// A restarted sensor reports only what is new.
	_, c2, _ := runSensor(t, cfg, dataDir)
	h.chromiumVisit("https://www.dropbox.com/home", "Files - Dropbox", time.Now(), 0)
	c2.waitFor(t, event.ActionWebVisit, "https://www.dropbox.com/home")
	require.Len(t, c2.events(), 1, "events repeated after a restart: %v", c2.events())
}

// busySnapshots makes the copies of a database fail as if it changed during
// every copy, as many times as told, and records the sensor's state at
// every copy.
type busySnapshots struct {
	mu     sync.Mutex
	s      *Sensor
	fail   int // copies left to fail
	copies int
	states []string // at each copy, before it
}

func (b *busySnapshots) take(path, tempRoot string) (*snapshot, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.copies++
	b.states = append(b.states, b.s.Health().State)
	if b.fail > 0 {
		b.fail--
		return nil, fmt.Errorf("copy %s: %w", path, errChanging)
	}
	return takeSnapshot(path, tempRoot)
}

func (b *busySnapshots) failNext(n int) {
	b.mu.Lock()
	b.fail = n
	b.states = nil
	b.mu.Unlock()
}

func (b *busySnapshots) left() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fail
}

func (b *busySnapshots) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.states)
}

// A browser writing its history while the sensor copies it is normal: the
// sensor reads it again soon, without waiting for a notification, and
// stays ok. Only a database that keeps changing through busyLimit reads in
// a row degrades it, until a read succeeds.
func TestDatabaseChangingWhileCopied(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "home", "alice", ".config", "google-chrome", "Default", "History")
	h := newChromiumHistory(t, path)
	h.chromiumVisit("https://www.dropbox.com/a", "A", time.Now().Add(-time.Minute), 0)

	cfg := testConfig(root)
	cfg.PollInterval = time.Hour // no poll: only the sensor's own retry reads again
	require.NoError(t, cfg.Validate())
	require.NoError(t, os.MkdirAll(cfg.TempDir, 0o700))
	s := New(cfg, sensors.Env{DataDir: t.TempDir()})
	b := &busySnapshots{s: s, fail: busyLimit - 1}
	s.snapshot = b.take
	c := &collector{}
	testrun.Start(t, "browser sensor", time.Minute, func(ctx context.Context) error { return s.Run(ctx, c.emit) })

	// busyLimit-1 busy reads, then one that succeeds.
	c.waitFor(t, event.ActionWebVisit, "https://www.dropbox.com/a")
	require.Equal(t, slices.Repeat([]string{sensors.StateOK}, busyLimit), b.seen(), "state before each copy")
	require.Eventually(t, func() bool { return s.Health().State == sensors.StateOK }, 5*time.Second, 5*time.Millisecond)
	require.Zero(t, s.Health().Errors, "a busy database is not a failure")

	// busyLimit busy reads in a row: degraded, saying why.
	b.failNext(busyLimit)
	h.chromiumVisit("https://www.dropbox.com/b", "B", time.Now(), 0)
	require.Eventually(t, func() bool { return b.left() == 0 && s.Health().State == sensors.StateDegraded }, 10*time.Second, 5*time.Millisecond)
	health := s.Health()
	require.Contains(t, health.Message, "1 failed at their last read")
	require.Contains(t, health.Message, errChanging.Error())
	require.Equal(t, uint64(1), health.Errors)
	_, found := c.find(event.ActionWebVisit, "https://www.dropbox.com/b")
	require.False(t, found)

	// It settles: the next change is read, and the sensor is ok again.
	h.chromiumVisit("https://www.dropbox.com/c", "C", time.Now(), 0)
	c.waitFor(t, event.ActionWebVisit, "https://www.dropbox.com/b")
	c.waitFor(t, event.ActionWebVisit, "https://www.dropbox.com/c")
	require.Eventually(t, func() bool { return s.Health().State == sensors.StateOK }, 5*time.Second, 5*time.Millisecond)
}

func TestBusyDelay(t *testing.T) {
	s := New(Config{Debounce: 2 * time.Second, PollInterval: 15 * time.Second}, sensors.Env{})
	var got []time.Duration
	for n := 1; n <= busyLimit; n++ {
		got = append(got, s.busyDelay(n))
	}
	require.Equal(t, []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second, 15 * time.Second}, got)
	s = New(Config{Debounce: 0, PollInterval: 50 * time.Millisecond}, sensors.Env{})
	require.Equal(t, 10*time.Millisecond, s.busyDelay(1))
	require.Equal(t, 40*time.Millisecond, s.busyDelay(3))
	require.Equal(t, 50*time.Millisecond, s.busyDelay(9))
}
