package session

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder collects emitted events.
type recorder struct {
	mu     sync.Mutex
	events []event.Event
}

func (r *recorder) emit(e event.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.events...)
}

func (r *recorder) waitFor(t *testing.T, n int) []event.Event {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.snapshot()) >= n }, 10*time.Second, 5*time.Millisecond,
		"want %d events", n)
	return r.snapshot()
}

func appendRecords(t *testing.T, path string, recs ...Record) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	defer f.Close()
	for _, r := range recs {
		b, err := r.MarshalBinary()
		require.NoError(t, err)
		_, err = f.Write(b)
		require.NoError(t, err)
	}
}

// start runs a sensor until the test ends.
func start(t *testing.T, cfg Config, dataDir string) (*Sensor, *recorder, func()) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	s := New(cfg, sensors.Env{DataDir: dataDir})
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, rec.emit) }()
	stop := func() {
		cancel()
		require.NoError(t, <-done)
	}
	return s, rec, stop
}

func testConfig(dir string) Config {
	c := DefaultConfig()
	c.UtmpPath = filepath.Join(dir, "utmp")
	c.WtmpPath = filepath.Join(dir, "wtmp")
	c.PollInterval = 10 * time.Millisecond
	return c
}

var t0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

func TestWtmpLogonLogoffRotationTruncation(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	// An old logon already in wtmp and in utmp is not news, but its
	// logoff (a DEAD_PROCESS without a user name) must carry the user.
	old := Record{Type: TypeUserProcess, PID: 100, Line: "tty1", ID: "1", User: "olduser", Session: 100, Time: t0}
	appendRecords(t, cfg.WtmpPath, old)
	appendRecords(t, cfg.UtmpPath, old)

	s, rec, stop := start(t, cfg, "")
	defer stop()
	require.Eventually(t, func() bool { return s.Health().Mode == ModeWtmp }, 10*time.Second, 5*time.Millisecond)

	ssh := Record{Type: TypeUserProcess, PID: 4242, Line: "pts/3", ID: "ts/3", User: "jdoe",
		Host: "203.0.113.7", Addr: netip.MustParseAddr("203.0.113.7"), Session: 4240, Time: t0.Add(time.Minute)}
	appendRecords(t, cfg.WtmpPath, ssh)
	ev := rec.waitFor(t, 1)
	require.Equal(t, event.ActionLogon, ev[0].Event.Action)
	require.Equal(t, "session", ev[0].Event.Module)
	require.Equal(t, "jdoe", ev[0].User.Name)
	require.Equal(t, &event.Session{ID: "4240", Type: "remote", TTY: "pts/3", RemoteAddress: "203.0.113.7"}, ev[0].Session)
	require.Equal(t, int64(4242), ev[0].Process.PID)
	require.True(t, ev[0].Timestamp.Equal(ssh.Time))
	require.NotEmpty(t, ev[0].Event.ID)
	require.Equal(t, []string{"authentication", "session"}, ev[0].Event.Category)

	// Logoffs: the DEAD_PROCESS records written by login/sshd have no user.
	appendRecords(t, cfg.WtmpPath,
		Record{Type: TypeDeadProcess, PID: 4242, Line: "pts/3", ID: "ts/3", Time: t0.Add(2 * time.Minute)},
		Record{Type: TypeDeadProcess, PID: 100, Line: "tty1", ID: "1", Time: t0.Add(3 * time.Minute)})
	ev = rec.waitFor(t, 3)
	require.Equal(t, event.ActionLogoff, ev[1].Event.Action)
	require.Equal(t, "jdoe", ev[1].User.Name)
	require.Equal(t, "4240", ev[1].Session.ID)
	require.Equal(t, "203.0.113.7", ev[1].Session.RemoteAddress)
	require.True(t, ev[1].Timestamp.Equal(t0.Add(2*time.Minute)))
	require.Equal(t, event.ActionLogoff, ev[2].Event.Action)
	require.Equal(t, "olduser", ev[2].User.Name)
	require.Equal(t, "local", ev[2].Session.Type)

	// Rotation: the file is renamed, a record lands in the old one, and
	// the new file gets its own; both are read, the old one first.
	require.NoError(t, os.Rename(cfg.WtmpPath, cfg.WtmpPath+".1"))
	appendRecords(t, cfg.WtmpPath+".1", Record{Type: TypeUserProcess, PID: 5, Line: "pts/5", User: "late", Time: t0.Add(4 * time.Minute)})
	appendRecords(t, cfg.WtmpPath, Record{Type: TypeUserProcess, PID: 6, Line: "pts/6", User: "rotated", Time: t0.Add(5 * time.Minute)})
	ev = rec.waitFor(t, 5)
	require.Equal(t, "late", ev[3].User.Name)
	require.Equal(t, "rotated", ev[4].User.Name)

	// Truncation: the file is emptied and written again from the start.
	require.NoError(t, os.Truncate(cfg.WtmpPath, 0))
	appendRecords(t, cfg.WtmpPath, Record{Type: TypeUserProcess, PID: 7, Line: "pts/7", User: "aftertrunc", Time: t0.Add(6 * time.Minute)})
	ev = rec.waitFor(t, 6)
	require.Equal(t, "aftertrunc", ev[5].User.Name)

	// A reboot ends the sessions still open.
	appendRecords(t, cfg.WtmpPath, Record{Type: TypeBootTime, Line: "~", User: "reboot", Time: t0.Add(7 * time.Minute)})
	ev = rec.waitFor(t, 9)
	users := map[string]string{}
	for _, e := range ev[6:9] {
		users[e.User.Name] = e.Event.Action
	}
	require.Equal(t, map[string]string{"late": "logoff", "rotated": "logoff", "aftertrunc": "logoff"}, users)
	require.Equal(t, uint64(9), s.Health().Events)
}

func TestFollowerPartialRecordWaitsForTheRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wtmp")
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	w := follower{path: path}
	defer w.close()
	recs, err := w.poll()
	require.NoError(t, err)
	require.Empty(t, recs)

	b, _ := Record{Type: TypeUserProcess, PID: 9, Line: "pts/9", User: "split", Time: t0}.MarshalBinary()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Write(b[:100])
	require.NoError(t, err)
	recs, err = w.poll()
	require.NoError(t, err)
	require.Empty(t, recs, "half a record is not read")
	require.Zero(t, w.off)

	_, err = f.Write(b[100:])
	require.NoError(t, err)
	recs, err = w.poll()
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, "split", recs[0].User)
	require.Equal(t, int64(RecordSize), w.off)

	// Removed: the follower finishes and waits for the file to come back,
	// then reads the new file from its start.
	require.NoError(t, os.Remove(path))
	recs, err = w.poll()
	require.NoError(t, err)
	require.Empty(t, recs)
	require.Nil(t, w.f)
	b2, _ := Record{Type: TypeUserProcess, PID: 10, Line: "pts/10", User: "back", Time: t0}.MarshalBinary()
	require.NoError(t, os.WriteFile(path, b2, 0o644))
	recs, err = w.poll()
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, "back", recs[0].User)
}

func TestResumeFromSavedOffset(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	cfg := testConfig(dir)
	appendRecords(t, cfg.WtmpPath, Record{Type: TypeUserProcess, PID: 1, Line: "tty1", User: "first", Time: t0})
	s, rec, stop := start(t, cfg, data)
	require.Eventually(t, func() bool { return s.Health().Mode == ModeWtmp }, 10*time.Second, 5*time.Millisecond)
	appendRecords(t, cfg.WtmpPath, Record{Type: TypeUserProcess, PID: 2, Line: "tty2", User: "second", Time: t0})
	rec.waitFor(t, 1)
	stop()

	// A logon while the agent is down is reported after the restart.
	appendRecords(t, cfg.WtmpPath, Record{Type: TypeUserProcess, PID: 3, Line: "tty3", User: "whiledown", Time: t0})
	_, rec2, stop2 := start(t, cfg, data)
	defer stop2()
	ev := rec2.waitFor(t, 1)
	require.Equal(t, "whiledown", ev[0].User.Name)
	require.Len(t, rec2.snapshot(), 1)
}

func TestUtmpModeWithoutWtmp(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	a := Record{Type: TypeUserProcess, PID: 10, Line: "pts/0", User: "alice", Time: t0}
	appendRecords(t, cfg.UtmpPath, a)
	s, rec, stop := start(t, cfg, "")
	defer stop()
	require.Eventually(t, func() bool { return s.Health().Mode == ModeUtmp }, 10*time.Second, 5*time.Millisecond)

	b := Record{Type: TypeUserProcess, PID: 11, Line: "pts/1", User: "bob", Host: "198.51.100.2", Time: t0.Add(time.Minute)}
	appendRecords(t, cfg.UtmpPath, b)
	ev := rec.waitFor(t, 1)
	require.Equal(t, event.ActionLogon, ev[0].Event.Action)
	require.Equal(t, "bob", ev[0].User.Name)
	require.Equal(t, "198.51.100.2", ev[0].Session.RemoteAddress)

	// utmp rewrites the slot in place when alice logs off.
	dead := Record{Type: TypeDeadProcess, PID: 10, Line: "pts/0", Time: t0.Add(2 * time.Minute)}
	da, _ := dead.MarshalBinary()
	db, _ := b.MarshalBinary()
	require.NoError(t, os.WriteFile(cfg.UtmpPath, append(da, db...), 0o644))
	ev = rec.waitFor(t, 2)
	require.Equal(t, event.ActionLogoff, ev[1].Event.Action)
	require.Equal(t, "alice", ev[1].User.Name)
}

func TestNoAccountingFilesIsDegraded(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s, _, stop := start(t, cfg, "")
	defer stop()
	require.Eventually(t, func() bool { return s.Health().State == sensors.StateDegraded }, 10*time.Second, 5*time.Millisecond)
	require.Contains(t, s.Health().Message, "no login accounting")
}

// TestMachineFiles runs the sensor on this machine's real files for a few
// polls: it must come up without errors whatever they hold.
func TestMachineFiles(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PollInterval = 10 * time.Millisecond
	s, _, stop := start(t, cfg, "")
	defer stop()
	require.Eventually(t, func() bool { return s.Health().State != sensors.StateStarting }, 10*time.Second, 5*time.Millisecond)
	require.Zero(t, s.Health().Errors)
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name, yaml, err string
	}{
		{name: "defaults", yaml: ""},
		{name: "all keys", yaml: "utmp_path: /u\nwtmp_path: /w\npoll_interval: 5s\nresume: false\n"},
		{name: "unknown key", yaml: "bogus: 1\n", err: "field bogus not found"},
		{name: "tiny interval", yaml: "poll_interval: 1ms\n", err: "poll_interval"},
		{name: "no files", yaml: "utmp_path: ''\nwtmp_path: ''\n", err: "utmp_path and wtmp_path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			node := parseYAML(t, tc.yaml)
			_, err := ParseConfig(node)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
	r, ok := sensors.Lookup(Name)
	require.True(t, ok)
	sn, err := r.New(nil, sensors.Env{})
	require.NoError(t, err)
	require.Equal(t, Name, sn.Name())
}
