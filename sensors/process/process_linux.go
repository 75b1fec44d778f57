package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
)

// Sensor reports process starts and exits.
type Sensor struct {
	cfg     Config
	log     *slog.Logger
	proc    procfs
	tracker sensors.Tracker

	mu      sync.Mutex // guards dropped
	dropped uint64

	// The fields below are owned by the Run goroutine.
	live   map[int]procInfo
	hashes *hashCache
	users  map[int]string
	bucket tokenBucket
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

// New returns a process sensor for a validated cfg.
func New(cfg Config, env sensors.Env) *Sensor {
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sensor{cfg: cfg, log: log.With("component", "sensor/process"), proc: procfs{root: "/proc"}}
}

// Name returns "process".
func (s *Sensor) Name() string { return Name }

// Health reports the mode ("netlink" or "procscan"), the counters and how
// many events the rate limit dropped.
func (s *Sensor) Health() sensors.Health {
	h := s.tracker.Health()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped > 0 {
		msg := fmt.Sprintf("rate limit dropped %d events", s.dropped)
		if h.Message != "" {
			msg = h.Message + "; " + msg
		}
		h.Message = msg
	}
	return h
}

// Run emits events until ctx is done. In auto mode it uses the process
// connector when it can subscribe to it and falls back to scanning /proc.
func (s *Sensor) Run(ctx context.Context, emit func(event.Event)) error {
	s.live = map[int]procInfo{}
	s.users = map[int]string{}
	s.hashes = newHashCache(s.cfg.HashCacheEntries, s.cfg.HashMaxBytes)
	s.bucket = tokenBucket{rate: float64(s.cfg.MaxEventsPerSecond)}

	state, msg := sensors.StateOK, fmt.Sprintf("scanning /proc every %v by configuration", s.cfg.ScanInterval)
	if s.cfg.Mode != ModeProcScan {
		conn, err := openConnector()
		if err == nil {
			s.tracker.Set(sensors.StateOK, ModeNetlink, "")
			return s.runNetlink(ctx, conn, emit)
		}
		if s.cfg.Mode == ModeNetlink {
			s.tracker.Set(sensors.StateFailed, ModeNetlink, err.Error())
			return err
		}
		s.log.Info("process connector unavailable, scanning /proc", "err", err)
		state = sensors.StateDegraded
		msg = fmt.Sprintf("process connector unavailable (%v): scanning /proc every %v, shorter-lived processes are missed", err, s.cfg.ScanInterval)
	}
	// The processes alive now are the baseline, reported only when they
	// end. The health says the sensor scans once it has them, so that
	// every process started after that is reported.
	s.seed()
	s.tracker.Set(state, ModeProcScan, msg)
	return s.runScan(ctx, emit)
}

// seed remembers every process alive now, without events, so that the
// exit of a process older than the sensor still carries its details.
func (s *Sensor) seed() {
	pids, err := s.proc.pids(nil)
	if err != nil {
		s.tracker.Failed(err)
		return
	}
	for _, pid := range pids {
		if len(s.live) >= s.cfg.MaxTracked {
			return
		}
		if info, err := s.proc.read(pid); err == nil {
			s.live[pid] = info
		}
	}
}

func (s *Sensor) runNetlink(ctx context.Context, c *connector, emit func(event.Event)) error {
	defer c.close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		c.interrupt()
	}()
	s.seed()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, unix.ENOBUFS) {
				// The kernel dropped events: the socket buffer overflowed.
				s.tracker.Failed(fmt.Errorf("process connector: %w (events lost)", err))
				continue
			}
			return fmt.Errorf("process connector: read: %w", err)
		}
		evs, err := parseMessages(buf[:n])
		if err != nil {
			s.tracker.Failed(err)
		}
		for _, ev := range evs {
			s.handle(ev, emit)
		}
	}
}

func (s *Sensor) handle(ev procEvent, emit func(event.Event)) {
	switch ev.What {
	case procEventExec:
		pid := int(ev.TGID)
		info, err := s.proc.read(pid)
		if err != nil {
			// Gone already: report what the kernel told us.
			info = procInfo{PID: pid, UID: -1, EUID: -1}
		}
		s.started(info, time.Now(), emit)
	case procEventExit:
		if ev.PID != ev.TGID {
			return // a thread, not the process
		}
		pid := int(ev.TGID)
		info, ok := s.live[pid]
		if !ok {
			return // never exec'd while we watched: a fork of a known process
		}
		delete(s.live, pid)
		code := exitStatus(ev.ExitCode)
		s.ended(info, &code, time.Now(), emit)
	}
}

// runScan scans /proc every ScanInterval; seed has taken the baseline.
func (s *Sensor) runScan(ctx context.Context, emit func(event.Event)) error {
	seen := map[int]bool{}
	var pids []int
	t := time.NewTicker(s.cfg.ScanInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var err error
		pids, err = s.scan(pids[:0], seen, emit)
		if err != nil {
			s.tracker.Failed(err)
		}
	}
}

// scan compares /proc with the live set and emits what changed.
func (s *Sensor) scan(pids []int, seen map[int]bool, emit func(event.Event)) ([]int, error) {
	pids, err := s.proc.pids(pids)
	if err != nil {
		return pids, err
	}
	clear(seen)
	now := time.Now()
	for _, pid := range pids {
		seen[pid] = true
		if _, ok := s.live[pid]; ok {
			continue
		}
		info, err := s.proc.read(pid)
		if err != nil {
			continue
		}
		s.started(info, now, emit)
	}
	for pid, info := range s.live {
		if !seen[pid] {
			delete(s.live, pid)
			s.ended(info, nil, now, emit)
		}
	}
	return pids, nil
}

// started records a new process and emits process-started for it.
func (s *Sensor) started(info procInfo, t time.Time, emit func(event.Event)) {
	if s.skip(info) {
		return
	}
	if len(s.live) < s.cfg.MaxTracked {
		s.live[info.PID] = info
	}
	e := s.newEvent(event.ActionProcessStarted, info, t)
	if s.cfg.Hash && info.Exe != "" {
		sum, err := s.hashes.sum(s.proc.path(info.PID, "exe"))
		switch {
		case err != nil && !errors.Is(err, os.ErrNotExist):
			s.tracker.Failed(err)
		case sum != "":
			e.Process.Hash = &event.Hash{SHA256: sum}
		}
	}
	s.send(e, emit)
}

// ended emits process-ended for a process the sensor knew.
func (s *Sensor) ended(info procInfo, code *int64, t time.Time, emit func(event.Event)) {
	if !s.cfg.EmitEnded || s.skip(info) {
		return
	}
	e := s.newEvent(event.ActionProcessEnded, info, t)
	e.Process.ExitCode = code
	s.send(e, emit)
}

func (s *Sensor) send(e event.Event, emit func(event.Event)) {
	if !s.bucket.allow(time.Now()) {
		s.mu.Lock()
		s.dropped++
		s.mu.Unlock()
		return
	}
	e.Normalize()
	s.tracker.Emitted()
	emit(e)
}

// skip applies the noise controls.
func (s *Sensor) skip(info procInfo) bool {
	if info.Exe != "" && excluded(s.cfg.ExcludeExecutables, info.Exe) {
		return true
	}
	if len(s.cfg.ExcludeUsers) > 0 && info.UID >= 0 {
		if slices.Contains(s.cfg.ExcludeUsers, strconv.Itoa(info.UID)) ||
			slices.Contains(s.cfg.ExcludeUsers, s.userName(info.UID)) {
			return true
		}
	}
	return false
}

func (s *Sensor) newEvent(action string, info procInfo, t time.Time) event.Event {
	p := &event.Process{
		PID:              int64(info.PID),
		Name:             info.Name,
		Executable:       info.Exe,
		Args:             info.Args,
		CommandLine:      strings.Join(info.Args, " "),
		WorkingDirectory: info.Cwd,
	}
	if info.Exe != "" {
		p.Name = filepath.Base(info.Exe)
	}
	if info.PPID > 0 {
		p.Parent = s.parent(info.PPID)
	}
	e := event.Event{
		Timestamp: t,
		Event:     event.Meta{ID: event.NewID(t), Action: action, Module: Name, Outcome: "success"},
		Process:   p,
	}
	if info.UID >= 0 {
		e.User = &event.User{ID: strconv.Itoa(info.UID), Name: s.userName(info.UID)}
		if info.EUID >= 0 && info.EUID != info.UID {
			e.User.EffectiveID = strconv.Itoa(info.EUID)
		}
	}
	return e
}

func (s *Sensor) parent(ppid int) *event.ProcessParent {
	pp := &event.ProcessParent{PID: int64(ppid)}
	info, ok := s.live[ppid]
	if !ok {
		var err error
		if info, err = s.proc.read(ppid); err != nil {
			return pp
		}
	}
	pp.Name, pp.Executable = info.Name, info.Exe
	if info.Exe != "" {
		pp.Name = filepath.Base(info.Exe)
	}
	pp.CommandLine = strings.Join(info.Args, " ")
	return pp
}

func (s *Sensor) userName(uid int) string {
	if n, ok := s.users[uid]; ok {
		return n
	}
	n := ""
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		n = u.Username
	}
	if len(s.users) > 4096 {
		clear(s.users)
	}
	s.users[uid] = n
	return n
}

// tokenBucket limits the event rate; a zero rate allows everything.
type tokenBucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func (b *tokenBucket) allow(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	if b.last.IsZero() {
		b.tokens, b.last = b.rate, now
	}
	b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// connector is a subscribed process connector socket.
type connector struct {
	f *os.File
}

// openConnector opens a NETLINK_CONNECTOR socket, joins the CN_IDX_PROC
// group and subscribes to process events. It needs CAP_NET_ADMIN and the
// host's initial network namespace.
func openConnector() (*connector, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("open netlink connector socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("bind netlink connector to the process group: %w", err)
	}
	// A large buffer rides out bursts of forks (root may force it).
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	}
	if err := unix.Sendto(fd, listenMessage(procCnMcastListen), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("subscribe to process events: %w", err)
	}
	// The non-blocking descriptor joins the runtime poller, so a Close
	// from another goroutine ends a pending read.
	return &connector{f: os.NewFile(uintptr(fd), "netlink-proc-connector")}, nil
}

func (c *connector) read(buf []byte) (int, error) {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("netlink socket: %w", err)
	}
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), buf, 0)
		return !errors.Is(rerr, unix.EAGAIN)
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}

// interrupt wakes a pending read, which then fails.
func (c *connector) interrupt() { _ = c.f.SetReadDeadline(time.Now()) }

func (c *connector) close() {
	if rc, err := c.f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.Sendto(int(fd), listenMessage(procCnMcastIgnore), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		})
	}
	_ = c.f.Close()
}
