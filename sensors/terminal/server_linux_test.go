package terminal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/evidence"
	"github.com/vigil-itm/vigil/sensors"
)

// helperEnv makes the test binary act as a hostile client (see helperClient).
const helperEnv = "VIGIL_TERMINAL_TEST_HELPER"

func TestMain(m *testing.M) {
	if sock := os.Getenv(helperEnv); sock != "" {
		os.Exit(helperClient(sock))
	}
	goleak.VerifyTestMain(m)
}

// helperClient connects to sock and claims to be root in every field it
// can; the sensor must ignore all of it.
func helperClient(sock string) int {
	c, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	code := int64(0)
	for _, m := range []Message{
		{Type: MsgHello, Session: "../u0-evil session!", Shell: "/bin/bash", TTY: "pts/99"},
		{Type: MsgCommand, Line: "claim to be root", Cwd: "/root", ExitCode: &code},
		{Type: MsgEnd},
	} {
		if err := WriteFrame(c, &m); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// memSink is an in-memory evidence sink.
type memSink struct {
	mu   sync.Mutex
	recs []evidence.TerminalRecord
}

func (m *memSink) RecordKeystroke(evidence.Keystroke)      {}
func (m *memSink) RecordClipboard(evidence.ClipboardEntry) {}
func (m *memSink) RecordTerminal(r evidence.TerminalRecord) {
	m.mu.Lock()
	m.recs = append(m.recs, r)
	m.mu.Unlock()
}

func (m *memSink) records() []evidence.TerminalRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]evidence.TerminalRecord(nil), m.recs...)
}

// output is everything the sessions printed, in order.
func (m *memSink) output() string {
	var sb strings.Builder
	for _, r := range m.records() {
		if r.Kind == evidence.TerminalOutput {
			sb.WriteString(r.Data)
		}
	}
	return sb.String()
}

type events struct {
	mu sync.Mutex
	ev []event.Event
}

func (e *events) emit(ev event.Event) {
	e.mu.Lock()
	e.ev = append(e.ev, ev)
	e.mu.Unlock()
}

func (e *events) all() []event.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]event.Event(nil), e.ev...)
}

func (e *events) wait(t *testing.T, n int) []event.Event {
	t.Helper()
	require.Eventually(t, func() bool { return len(e.all()) >= n }, 30*time.Second, 10*time.Millisecond, "want %d events", n)
	return e.all()
}

// socketDir makes a directory every user can reach.
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vigil-term-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func startSensor(t *testing.T, sock string) (*Sensor, *memSink, *events) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Socket = sock
	require.NoError(t, cfg.Validate())
	sink := &memSink{}
	s := New(cfg, sensors.Env{Evidence: sink})
	ev := &events{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ev.emit) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool { return s.Health().State == sensors.StateOK }, 10*time.Second, 5*time.Millisecond)
	return s, sink, ev
}

// terminal is a test terminal: the pty the wrapper runs on.
type terminal struct {
	ptmx, tty *os.File
	mu        sync.Mutex
	screen    bytes.Buffer
	done      chan struct{}
}

func newTerminal(t *testing.T, cols, rows uint16) *terminal {
	t.Helper()
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	term := &terminal{ptmx: ptmx, tty: tty, done: make(chan struct{})}
	term.setSize(t, cols, rows)
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.screen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = tty.Close()
		_ = ptmx.Close()
		<-term.done
	})
	return term
}

// setSize sets the terminal size and leaves the master non-blocking, so
// that closing it ends the reader.
func (term *terminal) setSize(t *testing.T, cols, rows uint16) {
	t.Helper()
	rc, err := term.ptmx.SyscallConn()
	require.NoError(t, err)
	var serr error
	require.NoError(t, rc.Control(func(fd uintptr) {
		serr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows})
		_ = unix.SetNonblock(int(fd), true)
	}))
	require.NoError(t, serr)
}

func (term *terminal) shown() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.screen.String()
}

func (term *terminal) typeKeys(t *testing.T, s string) {
	t.Helper()
	_, err := term.ptmx.Write([]byte(s))
	require.NoError(t, err)
}

type shellResult struct {
	code int
	err  error
}

// runShell runs the wrapper; a shell still running when the test ends is
// hung up on.
func runShell(t *testing.T, o ShellOptions) <-chan shellResult {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan shellResult, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		code, err := RunShell(ctx, o)
		res <- shellResult{code, err}
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return res
}

func bashHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(home, ".bash_profile"), []byte("PS1='TESTPROMPT$ '\n"), 0o644))
	return home
}

func TestShellSessionRecordsCommandsAndOutput(t *testing.T) {
	sock := filepath.Join(socketDir(t), "shell.sock")
	_, sink, ev := startSensor(t, sock)
	term := newTerminal(t, 100, 30)
	start := t.TempDir()
	res := runShell(t, ShellOptions{
		Shell: "/bin/bash", Login: true, Dir: start, Socket: sock, ShellIntegration: true,
		Env:   []string{"HOME=" + bashHome(t), "PATH=/usr/bin:/bin", "TERM=xterm", "LANG=C.UTF-8"},
		Stdin: term.tty, Stdout: term.tty, Stderr: term.tty,
	})
	t.Cleanup(func() {
		if t.Failed() {
			var cast strings.Builder
			_ = WriteAsciicast(&cast, sink.records())
			t.Logf("recording:\n%s", cast.String())
			for _, e := range ev.all() {
				t.Logf("event: %q cwd=%q exit=%v", e.Command.Line, e.Command.Cwd, e.Command.ExitCode)
			}
		}
	})
	prompts := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool { return strings.Count(sink.output(), "TESTPROMPT$ ") >= n },
			30*time.Second, 10*time.Millisecond, "want %d prompts; output so far: %q", n, sink.output())
	}
	prompts(1)

	// A window size change reaches the recording.
	term.setSize(t, 120, 40)
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGWINCH))
	require.Eventually(t, func() bool {
		for _, r := range sink.records() {
			if r.Kind == evidence.TerminalResize && r.Width == 120 && r.Height == 40 {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)

	steps := []string{
		"echo hello\r",
		"cd /tmp\r",
		"false\r",
		"\x1b[200~echo pasted-one\necho pasted-two\x1b[201~\r",
		"stty -echo; echo READY; read SECRET; stty echo\r",
	}
	for i, keys := range steps {
		term.typeKeys(t, keys)
		if strings.HasPrefix(keys, "stty") {
			require.Eventually(t, func() bool { return strings.Contains(sink.output(), "READY\r\n") }, 30*time.Second, 10*time.Millisecond)
			term.typeKeys(t, "hunter2\r")
		}
		prompts(i + 2)
		ev.wait(t, i+1)
	}
	term.typeKeys(t, "exit 7\r")
	r := <-res
	require.NoError(t, r.err)
	require.Equal(t, 7, r.code, "the shell's exit status passes through")

	got := ev.wait(t, len(steps)+1)
	require.Len(t, got, len(steps)+1)
	want := []struct {
		line, cwd string
		code      *int64
	}{
		{"echo hello", start, code(0)},
		{"cd /tmp", start, code(0)},
		{"false", "/tmp", code(1)},
		{"echo pasted-one\necho pasted-two", "/tmp", code(0)},
		{"stty -echo; echo READY; read SECRET; stty echo", "/tmp", code(0)},
		{"exit 7", "/tmp", nil},
	}
	var sessionID string
	for i, w := range want {
		e := got[i]
		require.Equal(t, event.ActionCommandExecuted, e.Event.Action)
		require.Equal(t, "terminal", e.Event.Module)
		require.Equal(t, w.line, e.Command.Line, "command %d", i)
		require.Equal(t, w.cwd, e.Command.Cwd, "command %q", w.line)
		require.Equal(t, w.code, e.Command.ExitCode, "command %q", w.line)
		require.Equal(t, "/bin/bash", e.Command.Shell)
		require.Equal(t, "0", e.User.ID, "user from SO_PEERCRED")
		require.Equal(t, "root", e.User.Name)
		require.Equal(t, "terminal", e.Session.Type)
		require.True(t, strings.HasPrefix(e.Session.TTY, "pts/"), e.Session.TTY)
		require.NotEmpty(t, e.Event.ID)
		sessionID = e.Session.ID
	}
	require.Equal(t, "failure", got[2].Event.Outcome)

	// The recording: one session, from start to end, as asciicast v2.
	require.Eventually(t, func() bool {
		r := sink.records()
		return r[len(r)-1].Kind == evidence.TerminalEnd
	}, 10*time.Second, 10*time.Millisecond)
	recs := sink.records()
	require.Equal(t, evidence.TerminalStart, recs[0].Kind)
	require.Equal(t, evidence.TerminalEnd, recs[len(recs)-1].Kind)
	require.Equal(t, 100, recs[0].Width)
	require.Equal(t, "root", recs[0].User)
	var input strings.Builder
	for _, r := range recs {
		require.Equal(t, sessionID, r.Session)
		if r.Kind == evidence.TerminalInput {
			input.WriteString(r.Data)
		}
	}
	require.Contains(t, input.String(), "echo hello\r")
	require.Contains(t, input.String(), "*******\r", "the password typed without echo is masked")
	require.NotContains(t, input.String(), "hunter2")
	out := sink.output()
	require.Contains(t, out, "hello\r\n")
	require.Contains(t, out, "pasted-two\r\n")
	require.NotContains(t, out, "\x1b]7717", "prompt markers are not recorded")
	require.NotContains(t, term.shown(), "\x1b]7717", "prompt markers do not reach the terminal")
	require.Eventually(t, func() bool { return strings.Contains(term.shown(), "pasted-two\r\n") }, 10*time.Second, 10*time.Millisecond,
		"the user sees the output")

	var cast strings.Builder
	require.NoError(t, WriteAsciicast(&cast, recs))
	lines := strings.Split(strings.TrimSpace(cast.String()), "\n")
	require.True(t, strings.HasPrefix(lines[0], `{"version":2,"width":100,"height":30`), lines[0])
	var castOut strings.Builder
	var resized bool
	for _, l := range lines[1:] {
		var ev []any
		require.NoError(t, json.Unmarshal([]byte(l), &ev), l)
		require.Len(t, ev, 3)
		switch ev[1] {
		case "o":
			castOut.WriteString(ev[2].(string))
		case "r":
			resized = resized || ev[2] == "120x40"
		}
	}
	require.Contains(t, castOut.String(), "hello\r\n")
	require.Contains(t, castOut.String(), "pasted-one\r\npasted-two\r\n")
	require.True(t, resized)
}

func TestShellWorksWithoutAgent(t *testing.T) {
	term := newTerminal(t, 80, 24)
	res := runShell(t, ShellOptions{
		Shell: "/bin/bash", Login: true, Socket: filepath.Join(t.TempDir(), "absent.sock"), ShellIntegration: true,
		Env:   []string{"HOME=" + bashHome(t), "PATH=/usr/bin:/bin", "TERM=xterm"},
		Stdin: term.tty, Stdout: term.tty, Stderr: term.tty,
	})
	require.Eventually(t, func() bool { return strings.Contains(term.shown(), "TESTPROMPT$ ") }, 30*time.Second, 10*time.Millisecond)
	term.typeKeys(t, "echo still-works; exit 3\r")
	r := <-res
	require.NoError(t, r.err)
	require.Equal(t, 3, r.code)
	require.Eventually(t, func() bool { return strings.Contains(term.shown(), "still-works") }, 10*time.Second, 10*time.Millisecond)
}

func TestShellCommandWithoutTerminal(t *testing.T) {
	sock := filepath.Join(socketDir(t), "shell.sock")
	_, _, ev := startSensor(t, sock)
	stdin, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer stdin.Close()
	outR, outW, err := os.Pipe()
	require.NoError(t, err)
	dir := t.TempDir()
	code, err := RunShell(context.Background(), ShellOptions{
		Shell: "/bin/sh", Command: "echo from-ssh; exit 4", HasCommand: true, Dir: dir, Socket: sock,
		Env: []string{"PATH=/usr/bin:/bin", "SSH_ORIGINAL_COMMAND=echo from-ssh; exit 4"}, Stdin: stdin, Stdout: outW, Stderr: outW,
	})
	require.NoError(t, outW.Close())
	require.NoError(t, err)
	require.Equal(t, 4, code)
	b, err := io.ReadAll(outR)
	require.NoError(t, err)
	require.Equal(t, "from-ssh\n", string(b))
	got := ev.wait(t, 1)
	require.Equal(t, "echo from-ssh; exit 4", got[0].Command.Line)
	require.Equal(t, dir, got[0].Command.Cwd)
	require.Equal(t, code64(4), got[0].Command.ExitCode)
}

func code64(n int64) *int64 { return &n }

func TestNestedShellIsNotRecordedTwice(t *testing.T) {
	outR, outW, err := os.Pipe()
	require.NoError(t, err)
	stdin, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer stdin.Close()
	code, err := RunShell(context.Background(), ShellOptions{
		Shell: "/bin/sh", Command: `echo "$VIGIL_SHELL_SESSION"`, HasCommand: true, Socket: "/nonexistent/sock",
		Env: []string{"PATH=/usr/bin:/bin", EnvSession + "=outer"}, Stdin: stdin, Stdout: outW, Stderr: outW,
	})
	require.NoError(t, outW.Close())
	require.NoError(t, err)
	require.Zero(t, code)
	b, _ := io.ReadAll(outR)
	require.Equal(t, "outer\n", string(b), "the outer session id is kept")
}

func TestPeerCredentialsDecideTheUser(t *testing.T) {
	dir := socketDir(t)
	sock := filepath.Join(dir, "shell.sock")
	_, sink, ev := startSensor(t, sock)
	self, err := os.Executable()
	require.NoError(t, err)
	// The test binary's directory may be private: copy it where nobody can run it.
	helper := filepath.Join(dir, "helper")
	b, err := os.ReadFile(self)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(helper, b, 0o755))
	if os.Geteuid() != 0 {
		t.Skip("switching to another uid needs root")
	}
	cmd := exec.Command(helper)
	cmd.Env = []string{helperEnv + "=" + sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	got := ev.wait(t, 1)
	require.Equal(t, "65534", got[0].User.ID)
	require.Equal(t, "nobody", got[0].User.Name)
	require.Equal(t, "claim to be root", got[0].Command.Line)
	require.Equal(t, "u65534-u0-evilsession", got[0].Session.ID, "the client's id is scoped by its uid and cleaned")
	recs := sink.records()
	require.Equal(t, "nobody", recs[0].User)
}

func TestSensorSurvivesBadClients(t *testing.T) {
	sock := filepath.Join(socketDir(t), "shell.sock")
	s, _, ev := startSensor(t, sock)
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.0\r\n\r\n"),
		frame(`{"type":"command","line":"before hello"}`),
		{0xff, 0xff, 0xff, 0xff},
	} {
		c, err := net.Dial("unix", sock)
		require.NoError(t, err)
		_, err = c.Write(junk)
		require.NoError(t, err)
		// The sensor hangs up on a bad client (EOF or a reset).
		_, _ = io.Copy(io.Discard, c)
		require.NoError(t, c.Close())
	}
	require.Eventually(t, func() bool { return s.Health().Errors >= 2 }, 10*time.Second, 5*time.Millisecond)

	c, err := net.Dial("unix", sock)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, WriteFrame(c, &Message{Type: MsgHello, Session: "ok"}))
	require.NoError(t, WriteFrame(c, &Message{Type: MsgCommand, Line: "whoami"}))
	got := ev.wait(t, 1)
	require.Equal(t, "whoami", got[0].Command.Line)
	require.Len(t, got, 1, "no event from the bad clients")
	require.Nil(t, got[0].Command.ExitCode)
	require.Equal(t, "unknown", got[0].Event.Outcome)
}

func TestSensorRefusesToReplaceAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-a-socket")
	require.NoError(t, os.WriteFile(path, []byte("keep me"), 0o644))
	cfg := DefaultConfig()
	cfg.Socket = path
	s := New(cfg, sensors.Env{})
	err := s.Run(context.Background(), func(event.Event) {})
	require.ErrorContains(t, err, "is not a socket")
	b, _ := os.ReadFile(path)
	require.Equal(t, "keep me", string(b))
}
