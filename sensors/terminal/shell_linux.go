package terminal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Wrapper timings.
const (
	// finishTimeout bounds how long a logout waits for the agent.
	finishTimeout = 2 * time.Second
	// drainAfterExit bounds how long output is read after the shell exits
	// (a background job may keep the terminal open).
	drainAfterExit = 500 * time.Millisecond
)

// RunShell runs the real shell for the user and returns its exit status.
// On a terminal it runs the shell in a pty, passes window size changes and
// the exit status through, records input and output and sends them and the
// reconstructed commands to the agent's socket. Without a terminal (ssh
// commands, scp) it runs the shell directly and reports only the command.
//
// Vigil never stands between a user and their shell: when the pty cannot be
// set up the shell runs directly, and when the agent is unreachable the
// recording is buffered (up to BufferBytes) and then dropped.
func RunShell(ctx context.Context, o ShellOptions) (int, error) {
	o = shellDefaults(o)
	args := []string{filepath.Base(o.Shell)}
	if o.Login {
		args[0] = "-" + args[0]
	}
	if o.HasCommand {
		args = append(args, "-c", o.Command)
		args = append(args, o.CommandArgs...)
	}
	if envValue(o.Env, EnvSession) != "" {
		// Already inside a recorded session.
		return runDirect(o, args, o.Env)
	}
	id := newSessionID()
	env := setEnv(o.Env, EnvSession, id)
	env = setEnv(env, "SHELL", o.Shell)
	if o.ShellIntegration && filepath.Base(o.Shell) == "bash" {
		pc := bashPromptCommand
		if prev := envValue(env, "PROMPT_COMMAND"); prev != "" {
			pc += "; " + prev
		}
		env = setEnv(env, "PROMPT_COMMAND", pc)
	}
	hello := Message{Session: id, Shell: o.Shell, TTY: ttyName(o.Stdin)}
	if !term.IsTerminal(int(o.Stdin.Fd())) {
		return runReported(ctx, o, args, env, hello)
	}
	return runPTY(ctx, o, args, env, hello)
}

func shellDefaults(o ShellOptions) ShellOptions {
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Socket == "" {
		o.Socket = DefaultSocket
	}
	if o.BufferBytes <= 0 {
		o.BufferBytes = DefaultShellConfig().BufferBytes
	}
	return o
}

func shellCmd(o ShellOptions, args, env []string) *exec.Cmd {
	cmd := &exec.Cmd{Path: o.Shell, Args: args, Env: env, Dir: o.Dir}
	return cmd
}

// runDirect runs the shell on the wrapper's own stdio.
func runDirect(o ShellOptions, args, env []string) (int, error) {
	cmd := shellCmd(o, args, env)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	if err := cmd.Start(); err != nil {
		return 127, fmt.Errorf("start %s: %w", o.Shell, err)
	}
	return waitStatus(cmd.Wait()), nil
}

// runReported runs the shell without a terminal and reports the command.
func runReported(ctx context.Context, o ShellOptions, args, env []string, hello Message) (int, error) {
	cmd := shellCmd(o, args, env)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	if err := cmd.Start(); err != nil {
		return 127, fmt.Errorf("start %s: %w", o.Shell, err)
	}
	hello.PID = int64(cmd.Process.Pid)
	client := NewClient(o.Socket, hello, o.BufferBytes, o.Logger)
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { client.Run(cctx) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	start := time.Now()
	code := waitStatus(cmd.Wait())
	c := int64(code)
	if o.HasCommand {
		cwd := o.Dir
		if cwd == "" {
			cwd, _ = os.Getwd()
		}
		client.Send(Message{Type: MsgCommand, Time: start, Line: o.Command, Cwd: cwd, ExitCode: &c})
	}
	client.Finish(&c, finishTimeout)
	return code, nil
}

// session state shared by the pty loops.
type ptySession struct {
	o       ShellOptions
	ptmx    *os.File
	client  *Client
	pid     int
	mu      sync.Mutex // guards tracker
	tracker commandTracker
}

func runPTY(ctx context.Context, o ShellOptions, args, env []string, hello Message) (int, error) {
	wakeR, wakeW, err := os.Pipe()
	if err != nil {
		o.Logger.Warn("cannot create a pipe, running the shell unrecorded", "err", err)
		return runDirect(o, args, env)
	}
	defer func() {
		_ = wakeR.Close()
		_ = wakeW.Close()
	}()
	cmd := shellCmd(o, args, env)
	size, err := pty.GetsizeFull(o.Stdin)
	if err != nil {
		size = &pty.Winsize{Cols: 80, Rows: 24}
	}
	ptmx, err := pty.StartWithSize(cmd, size)
	if err != nil {
		o.Logger.Warn("cannot start the shell in a pty, running it unrecorded", "shell", o.Shell, "err", err)
		return runDirect(o, args, env)
	}
	defer func() { _ = ptmx.Close() }()
	// pty's helpers leave the master in blocking mode; make it pollable
	// again so that a read deadline can end the output loop.
	if rc, err := ptmx.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _ = unix.SetNonblock(int(fd), true) })
	}

	hello.PID = int64(cmd.Process.Pid)
	hello.Width, hello.Height = int(size.Cols), int(size.Rows)
	s := &ptySession{o: o, ptmx: ptmx, pid: cmd.Process.Pid,
		client: NewClient(o.Socket, hello, o.BufferBytes, o.Logger)}
	s.tracker.cwdNow = s.shellCwd
	s.tracker.cwd = s.shellCwd()

	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.client.Run(cctx) })

	if st, err := term.MakeRaw(int(o.Stdin.Fd())); err == nil {
		defer func() { _ = term.Restore(int(o.Stdin.Fd()), st) }()
	} else {
		o.Logger.Warn("cannot put the terminal in raw mode", "err", err)
	}

	exited := make(chan struct{})
	var waitErr error
	wg.Go(func() {
		waitErr = cmd.Wait()
		close(exited)
	})

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGWINCH, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	stopSignals := make(chan struct{})
	wg.Go(func() { s.signals(sigs, stopSignals, cmd.Process) })

	wg.Go(func() { s.inputLoop(wakeR) })
	wg.Go(func() {
		select {
		case <-exited:
		case <-ctx.Done():
			// The caller gives up on the session: hang up on the shell.
			_ = cmd.Process.Signal(syscall.SIGHUP)
			<-exited
		}
		_ = ptmx.SetReadDeadline(time.Now().Add(drainAfterExit))
	})

	s.outputLoop()
	<-exited

	// Stop the helpers, then report the end.
	_ = wakeW.Close()
	signal.Stop(sigs)
	close(stopSignals)
	s.mu.Lock()
	cmds := s.tracker.finish()
	s.mu.Unlock()
	s.sendCommands(cmds)
	code := waitStatus(waitErr)
	c := int64(code)
	s.client.Finish(&c, finishTimeout)
	cancel()
	wg.Wait()
	return code, nil
}

// signals passes window size changes to the pty, forwards hangups and
// terminations to the shell and keeps terminal signals from killing the
// wrapper.
func (s *ptySession) signals(sigs <-chan os.Signal, stop <-chan struct{}, p *os.Process) {
	for {
		select {
		case <-stop:
			return
		case sig := <-sigs:
			switch sig {
			case syscall.SIGWINCH:
				if ws, err := s.resize(); err == nil {
					s.client.Send(Message{Type: MsgRecord, Kind: "r", Width: int(ws.Col), Height: int(ws.Row)})
				}
			case syscall.SIGHUP, syscall.SIGTERM:
				_ = p.Signal(sig)
			}
		}
	}
}

// resize copies the user's terminal size to the pty without touching the
// pty's blocking mode.
func (s *ptySession) resize() (*unix.Winsize, error) {
	ws, err := unix.IoctlGetWinsize(int(s.o.Stdin.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return nil, fmt.Errorf("get terminal size: %w", err)
	}
	rc, err := s.ptmx.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("set pty size: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) }); err != nil {
		return nil, fmt.Errorf("set pty size: %w", err)
	}
	if serr != nil {
		return nil, fmt.Errorf("set pty size: %w", serr)
	}
	return ws, nil
}

// inputLoop copies the user's keys to the shell until wake is closed.
func (s *ptySession) inputLoop(wake *os.File) {
	in := int(s.o.Stdin.Fd())
	wfd := int(wake.Fd())
	buf := make([]byte, 32<<10)
	var chunker utf8Chunker
	for {
		fds := []unix.PollFd{{Fd: int32(in), Events: unix.POLLIN}, {Fd: int32(wfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		if fds[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) == 0 {
			continue
		}
		n, err := unix.Read(in, buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n <= 0 {
			return
		}
		p := buf[:n]
		// Track and record the keys before the shell can see them: its
		// prompt marker for a command must not overtake the command.
		masked, mode := s.lineMode()
		rec := chunker.cut(p)
		if masked {
			rec = maskInput(rec)
		}
		if len(rec) > 0 {
			s.client.Send(Message{Type: MsgRecord, Kind: "i", Data: string(rec)})
		}
		s.mu.Lock()
		cmds := s.tracker.input(p, masked, mode, time.Now())
		s.mu.Unlock()
		s.sendCommands(cmds)
		if _, err := s.ptmx.Write(p); err != nil {
			return
		}
	}
}

// outputLoop copies the shell's output to the user until the pty closes.
func (s *ptySession) outputLoop() {
	buf := make([]byte, 32<<10)
	var (
		markers markerScanner
		chunker utf8Chunker
		clean   []byte
	)
	for {
		n, err := s.ptmx.Read(buf)
		if n > 0 {
			var prompts []Prompt
			clean, prompts = markers.scan(clean[:0], buf[:n])
			s.output(clean, &chunker)
			for _, pr := range prompts {
				s.mu.Lock()
				cmds := s.tracker.prompt(pr)
				s.mu.Unlock()
				s.sendCommands(cmds)
			}
		}
		if err != nil {
			break
		}
	}
	s.output(markers.flush(), &chunker)
	if rest := chunker.flush(); len(rest) > 0 {
		s.client.Send(Message{Type: MsgRecord, Kind: "o", Data: string(rest)})
	}
}

func (s *ptySession) output(p []byte, chunker *utf8Chunker) {
	if len(p) == 0 {
		return
	}
	_, _ = s.o.Stdout.Write(p)
	if rec := chunker.cut(p); len(rec) > 0 {
		s.client.Send(Message{Type: MsgRecord, Kind: "o", Data: string(rec)})
	}
}

func (s *ptySession) sendCommands(cmds []Command) {
	for _, c := range cmds {
		s.client.Send(Message{Type: MsgCommand, Time: c.Time, Line: c.Line, Cwd: c.Cwd, ExitCode: c.ExitCode, Approximate: c.Approximate})
	}
}

// lineMode reads the pty's line discipline: masked when it does not echo
// in canonical mode (a password prompt), and the mode bits that tell the
// shell's line editor from other programs.
func (s *ptySession) lineMode() (masked bool, mode uint32) {
	rc, err := s.ptmx.SyscallConn()
	if err != nil {
		return false, 0
	}
	var t *unix.Termios
	_ = rc.Control(func(fd uintptr) {
		t, _ = unix.IoctlGetTermios(int(fd), unix.TCGETS)
	})
	if t == nil {
		return false, 0
	}
	mode = t.Lflag & (unix.ICANON | unix.ECHO | unix.ISIG | unix.IEXTEN)
	masked = t.Lflag&unix.ICANON != 0 && t.Lflag&unix.ECHO == 0
	return masked, mode
}

func (s *ptySession) shellCwd() string {
	cwd, err := os.Readlink("/proc/" + strconv.Itoa(s.pid) + "/cwd")
	if err != nil {
		return ""
	}
	return cwd
}

// maskInput hides typed secrets, keeping line ends.
func maskInput(p []byte) []byte {
	out := make([]byte, 0, len(p))
	for _, r := range string(p) {
		if r == '\r' || r == '\n' {
			out = append(out, byte(r))
		} else {
			out = append(out, '*')
		}
	}
	return out
}

func waitStatus(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 1
}

func ttyName(f *os.File) string {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil || !strings.HasPrefix(p, "/dev/") {
		return ""
	}
	return strings.TrimPrefix(p, "/dev/")
}

func newSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}
