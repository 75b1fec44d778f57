package process

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type recorder struct {
	mu     sync.Mutex
	events []event.Event
}

func (r *recorder) emit(e event.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// find returns the first event with action for pid.
func (r *recorder) find(action string, pid int) (event.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Event.Action == action && e.Process != nil && e.Process.PID == int64(pid) {
			return e, true
		}
	}
	return event.Event{}, false
}

func (r *recorder) waitFor(t *testing.T, action string, pid int) event.Event {
	t.Helper()
	var e event.Event
	require.Eventually(t, func() bool {
		var ok bool
		e, ok = r.find(action, pid)
		return ok
	}, 20*time.Second, 5*time.Millisecond, "no %s for pid %d", action, pid)
	return e
}

func run(t *testing.T, cfg Config) (*Sensor, *recorder, func()) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	s := New(cfg, sensors.Env{})
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, rec.emit) }()
	return s, rec, func() {
		cancel()
		require.NoError(t, <-done)
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if xvfb.Required() {
			t.Fatal("the process connector test needs root")
		}
		t.Skip("the process connector needs root")
	}
}

func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sleep", "300")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func checkSleepStarted(t *testing.T, e event.Event, cmd *exec.Cmd) {
	t.Helper()
	sleepExe, err := filepath.EvalSymlinks("/bin/sleep")
	require.NoError(t, err)
	self, err := os.Executable()
	require.NoError(t, err)
	require.Equal(t, sleepExe, e.Process.Executable)
	require.Equal(t, "sleep", e.Process.Name)
	require.Equal(t, []string{"/bin/sleep", "300"}, e.Process.Args)
	require.Equal(t, "/bin/sleep 300", e.Process.CommandLine)
	require.NotNil(t, e.Process.Parent)
	require.Equal(t, int64(os.Getpid()), e.Process.Parent.PID)
	require.Equal(t, self, e.Process.Parent.Executable)
	require.Equal(t, strconv.Itoa(os.Getuid()), e.User.ID)
	require.Equal(t, "root", e.User.Name)
	require.NotNil(t, e.Process.Hash)
	require.Equal(t, sha256File(t, sleepExe), e.Process.Hash.SHA256)
	require.Equal(t, "process", e.Event.Module)
	require.Equal(t, []string{"process"}, e.Event.Category)
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.Equal(t, wd, e.Process.WorkingDirectory)
	_ = cmd
}

func TestNetlinkExecAndExit(t *testing.T) {
	needRoot(t)
	cfg := DefaultConfig()
	cfg.Mode = ModeNetlink
	cfg.MaxEventsPerSecond = 0
	s, rec, stop := run(t, cfg)
	defer stop()
	require.Eventually(t, func() bool { return s.Health().Mode == ModeNetlink }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, sensors.StateOK, s.Health().State)

	cmd := startSleep(t)
	pid := cmd.Process.Pid
	started := rec.waitFor(t, event.ActionProcessStarted, pid)
	checkSleepStarted(t, started, cmd)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	_ = cmd.Wait()
	ended := rec.waitFor(t, event.ActionProcessEnded, pid)
	require.NotNil(t, ended.Process.ExitCode)
	require.Equal(t, int64(128+int(syscall.SIGTERM)), *ended.Process.ExitCode)
	require.Equal(t, started.Process.Executable, ended.Process.Executable)
	require.Equal(t, started.Process.Args, ended.Process.Args)

	// A normal exit carries its status.
	sh := exec.Command("/bin/sh", "-c", "read x; exit 3")
	stdin, err := sh.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, sh.Start())
	rec.waitFor(t, event.ActionProcessStarted, sh.Process.Pid)
	require.NoError(t, stdin.Close())
	_ = sh.Wait()
	ended = rec.waitFor(t, event.ActionProcessEnded, sh.Process.Pid)
	require.Equal(t, int64(3), *ended.Process.ExitCode)
}

func TestNetlinkExcludeExecutables(t *testing.T) {
	needRoot(t)
	cfg := DefaultConfig()
	cfg.Mode = ModeNetlink
	cfg.ExcludeExecutables = []string{"sleep"}
	s, rec, stop := run(t, cfg)
	defer stop()
	require.Eventually(t, func() bool { return s.Health().Mode == ModeNetlink }, 10*time.Second, 5*time.Millisecond)

	sleep := startSleep(t)
	cat := exec.Command("/bin/cat")
	stdin, err := cat.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cat.Start())
	rec.waitFor(t, event.ActionProcessStarted, cat.Process.Pid)
	// Events arrive in order: had sleep been reported, it would be there.
	_, found := rec.find(event.ActionProcessStarted, sleep.Process.Pid)
	require.False(t, found, "excluded executable was reported")
	require.NoError(t, stdin.Close())
	require.NoError(t, cat.Wait())
	e := rec.waitFor(t, event.ActionProcessEnded, cat.Process.Pid)
	require.Equal(t, int64(0), *e.Process.ExitCode)
}

func TestProcScanFallback(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode = ModeProcScan
	cfg.ScanInterval = 20 * time.Millisecond
	cfg.MaxEventsPerSecond = 0
	s, rec, stop := run(t, cfg)
	defer stop()
	require.Eventually(t, func() bool { return s.Health().Mode == ModeProcScan }, 10*time.Second, 5*time.Millisecond)
	require.Contains(t, s.Health().Message, "scanning /proc")

	cmd := startSleep(t)
	started := rec.waitFor(t, event.ActionProcessStarted, cmd.Process.Pid)
	checkSleepStarted(t, started, cmd)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	ended := rec.waitFor(t, event.ActionProcessEnded, cmd.Process.Pid)
	require.Nil(t, ended.Process.ExitCode, "a scan cannot know the exit status")
	require.Equal(t, started.Process.Executable, ended.Process.Executable)
}

func TestHashCache(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.WriteFile(a, []byte("first"), 0o755))
	require.NoError(t, os.WriteFile(b, []byte("second"), 0o755))
	c := newHashCache(1, 1<<20)

	sum, err := c.sum(a)
	require.NoError(t, err)
	require.Equal(t, sha256File(t, a), sum)
	_, err = c.sum(a)
	require.NoError(t, err)
	require.Equal(t, uint64(1), c.hits)

	// A new version of the file (other size and mtime) is hashed again.
	require.NoError(t, os.WriteFile(a, []byte("first, changed"), 0o755))
	sum, err = c.sum(a)
	require.NoError(t, err)
	require.Equal(t, sha256File(t, a), sum)
	require.Equal(t, uint64(2), c.misses)

	// The cache holds one entry: b evicts a.
	_, err = c.sum(b)
	require.NoError(t, err)
	require.Equal(t, 1, c.lru.Len())
	_, err = c.sum(a)
	require.NoError(t, err)
	require.Equal(t, uint64(4), c.misses)

	// Files over the size limit are not hashed.
	small := newHashCache(4, 3)
	sum, err = small.sum(b)
	require.NoError(t, err)
	require.Empty(t, sum)

	_, err = c.sum(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestProcfsReadSelf(t *testing.T) {
	p := procfs{root: "/proc"}
	info, err := p.read(os.Getpid())
	require.NoError(t, err)
	self, err := os.Executable()
	require.NoError(t, err)
	require.Equal(t, self, info.Exe)
	require.Equal(t, os.Getppid(), info.PPID)
	require.Equal(t, os.Getuid(), info.UID)
	require.Equal(t, os.Args, info.Args)
	require.NotZero(t, info.StartTicks)
	_, err = p.read(1 << 30)
	require.Error(t, err)
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, in string
		comm     string
		ppid     int
		err      bool
	}{
		{name: "plain", in: "42 (bash) S 1 42 42 34816 42 4194560 1 2 3 4 5 6 7 8 20 0 1 0 12345 0 0", comm: "bash", ppid: 1},
		{name: "comm with spaces and parens", in: "7 (a (b) c) R 3 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0", comm: "a (b) c", ppid: 3},
		{name: "no parens", in: "7 bash R 3", err: true},
		{name: "too few fields", in: "7 (x) R 3 4", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var info procInfo
			err := parseStat([]byte(tc.in), &info)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.comm, info.Name)
			require.Equal(t, tc.ppid, info.PPID)
		})
	}
}

func BenchmarkProcScan(b *testing.B) {
	s := New(DefaultConfig(), sensors.Env{})
	s.live, s.users = map[int]procInfo{}, map[int]string{}
	s.hashes = newHashCache(16, 1<<20)
	s.seed()
	seen := map[int]bool{}
	var pids []int
	emit := func(event.Event) {}
	b.Run("steady", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pids, _ = s.scan(pids[:0], seen, emit)
		}
	})
	b.Run("read-all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pids, _ = s.proc.pids(pids[:0])
			for _, pid := range pids {
				_, _ = s.proc.read(pid)
			}
		}
	})
}
