package terminal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/evidence"
	"github.com/vigil-itm/vigil/sensors"
)

// Sensor listens for `vigil shell` sessions on a unix socket.
type Sensor struct {
	cfg      Config
	log      *slog.Logger
	evidence sensors.EvidenceSink
	tracker  sensors.Tracker
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

// New returns a terminal sensor for a validated cfg.
func New(cfg Config, env sensors.Env) *Sensor {
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sensor{cfg: cfg, log: log.With("component", "sensor/terminal"), evidence: env.Evidence}
}

// Name returns "terminal".
func (s *Sensor) Name() string { return Name }

// Health reports the socket and the counters.
func (s *Sensor) Health() sensors.Health { return s.tracker.Health() }

// Run listens on the socket until ctx is done.
func (s *Sensor) Run(ctx context.Context, emit func(event.Event)) error {
	ln, err := s.listen()
	if err != nil {
		s.tracker.Set(sensors.StateFailed, "socket", err.Error())
		return err
	}
	s.tracker.Set(sensors.StateOK, "socket", "listening on "+s.cfg.Socket)

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	stop := make(chan struct{})
	defer func() {
		close(stop)
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
		_ = os.Remove(s.cfg.Socket)
	}()
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		_ = ln.Close()
	}()

	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("terminal: listener on %s closed", s.cfg.Socket)
			}
			s.tracker.Failed(err)
			continue
		}
		mu.Lock()
		if len(conns) >= s.cfg.MaxConnections {
			mu.Unlock()
			s.tracker.Failed(fmt.Errorf("refuse shell connection: %d connections already", s.cfg.MaxConnections))
			_ = c.Close()
			continue
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				_ = c.Close()
			}()
			if err := s.serve(c, emit); err != nil {
				s.tracker.Failed(err)
				s.log.Warn("shell session connection failed", "err", err)
			}
		}()
	}
}

// listen creates the socket, replacing a stale one.
func (s *Sensor) listen() (*net.UnixListener, error) {
	mode, err := s.cfg.mode()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(s.cfg.Socket), 0o755); err != nil {
		return nil, fmt.Errorf("terminal: create socket directory: %w", err)
	}
	if fi, err := os.Lstat(s.cfg.Socket); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("terminal: socket: %s exists and is not a socket", s.cfg.Socket)
		}
		_ = os.Remove(s.cfg.Socket)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: s.cfg.Socket, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("terminal: listen on %s: %w", s.cfg.Socket, err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(s.cfg.Socket, fs.FileMode(mode)); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("terminal: chmod %s: %w", s.cfg.Socket, err)
	}
	return ln, nil
}

// peer is who is at the other end of a connection, from SO_PEERCRED.
type peer struct {
	uid  uint32
	pid  int32
	name string
}

func peerCred(c *net.UnixConn) (peer, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	if cerr != nil {
		return peer{}, fmt.Errorf("peer credentials: %w", cerr)
	}
	p := peer{uid: cred.Uid, pid: cred.Pid}
	if u, err := user.LookupId(strconv.FormatUint(uint64(cred.Uid), 10)); err == nil {
		p.name = u.Username
	}
	return p, nil
}

// session is the server's view of one connected shell.
type session struct {
	id    string
	peer  peer
	hello Message
}

// serve reads one connection's frames until it ends.
func (s *Sensor) serve(c *net.UnixConn, emit func(event.Event)) error {
	p, err := peerCred(c)
	if err != nil {
		return err
	}
	var sess *session
	defer func() {
		if sess != nil {
			s.record(sess, evidence.TerminalRecord{Kind: evidence.TerminalEnd, Time: time.Now()})
		}
	}()
	for {
		m, err := ReadFrame(c, s.cfg.MaxFrameBytes)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("shell session of uid %d: %w", p.uid, err)
		}
		t := clampTime(m.Time)
		if sess == nil {
			if m.Type != MsgHello {
				return fmt.Errorf("shell session of uid %d: first message is %q, not hello: %w", p.uid, m.Type, ErrBadMessage)
			}
			sess = &session{id: sessionID(p.uid, m.Session), peer: p, hello: m}
			s.record(sess, evidence.TerminalRecord{Kind: evidence.TerminalStart, Time: t,
				Width: m.Width, Height: m.Height, Shell: m.Shell, TTY: m.TTY, User: p.name})
			if m.Dropped > 0 {
				s.tracker.Failed(fmt.Errorf("shell session %s: client dropped %d records while the agent was unreachable", sess.id, m.Dropped))
			}
			continue
		}
		switch m.Type {
		case MsgRecord:
			switch m.Kind {
			case evidence.TerminalInput:
				if !s.cfg.RecordInput {
					continue
				}
				s.record(sess, evidence.TerminalRecord{Kind: m.Kind, Time: t, Data: m.Data})
			case evidence.TerminalOutput:
				s.record(sess, evidence.TerminalRecord{Kind: m.Kind, Time: t, Data: m.Data})
			case evidence.TerminalResize:
				s.record(sess, evidence.TerminalRecord{Kind: m.Kind, Time: t, Width: m.Width, Height: m.Height})
			}
		case MsgCommand:
			s.command(sess, m, t, emit)
		case MsgEnd:
			if m.Dropped > 0 {
				s.tracker.Failed(fmt.Errorf("shell session %s: client dropped %d records", sess.id, m.Dropped))
			}
			return nil
		case MsgHello:
			// A second hello on one connection is not expected; ignore it.
		}
	}
}

func (s *Sensor) record(sess *session, r evidence.TerminalRecord) {
	if s.evidence == nil {
		return
	}
	r.Session = sess.id
	s.evidence.RecordTerminal(r)
}

func (s *Sensor) command(sess *session, m Message, t time.Time, emit func(event.Event)) {
	line := m.Line
	if len(line) > s.cfg.MaxCommandBytes {
		line = line[:s.cfg.MaxCommandBytes]
	}
	e := event.Event{
		Timestamp: t,
		Event:     event.Meta{ID: event.NewID(t), Action: event.ActionCommandExecuted, Module: Name, Outcome: "unknown"},
		User:      &event.User{ID: strconv.FormatUint(uint64(sess.peer.uid), 10), Name: sess.peer.name},
		Command:   &event.Command{Line: line, Cwd: m.Cwd, ExitCode: m.ExitCode, Shell: sess.hello.Shell},
		Session:   &event.Session{ID: sess.id, Type: "terminal", TTY: sess.hello.TTY},
	}
	if m.ExitCode != nil {
		e.Event.Outcome = "success"
		if *m.ExitCode != 0 {
			e.Event.Outcome = "failure"
		}
	}
	if sess.hello.Shell != "" {
		e.Process = &event.Process{PID: sess.hello.PID, Name: filepath.Base(sess.hello.Shell), Executable: sess.hello.Shell}
	}
	if m.Approximate {
		e.Labels = map[string]string{"command_approximate": "true"}
	}
	e.Normalize()
	s.tracker.Emitted()
	emit(e)
}

// sessionID scopes the client's id by the peer's uid, so that no user can
// write into another user's recording.
func sessionID(uid uint32, client string) string {
	clean := make([]byte, 0, 32)
	for i := 0; i < len(client) && len(clean) < 32; i++ {
		c := client[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			clean = append(clean, c)
		}
	}
	if len(clean) == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		clean = hex.AppendEncode(clean, b[:])
	}
	return "u" + strconv.FormatUint(uint64(uid), 10) + "-" + string(clean)
}

// clampTime takes the client's timestamp unless it is missing or in the
// future.
func clampTime(t time.Time) time.Time {
	now := time.Now()
	if t.IsZero() || t.After(now.Add(time.Minute)) {
		return now
	}
	return t
}
