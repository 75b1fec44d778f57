package terminal

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func code(n int64) *int64 { return &n }

func TestTrackerWithoutIntegration(t *testing.T) {
	tr := commandTracker{cwdNow: func() string { return "/srv" }}
	now := time.Unix(100, 0)
	got := tr.input([]byte("ls -l\r\r  \r"), false, 1, now)
	require.Equal(t, []Command{{Time: now, Line: "ls -l", Cwd: "/srv"}}, got)
	require.Empty(t, tr.input([]byte("hunter2\r"), true, 1, now), "masked input is not a command")
}

func TestTrackerWithPrompts(t *testing.T) {
	const readline, cooked = 0x8, 0xb
	tr := commandTracker{}
	now := time.Unix(100, 0)
	require.Empty(t, tr.prompt(Prompt{ExitCode: 0, Cwd: "/home/u"}))

	// A command waits for its exit status.
	require.Empty(t, tr.input([]byte("cd /tmp\r"), false, readline, now))
	require.Equal(t, []Command{{Time: now, Line: "cd /tmp", Cwd: "/home/u", ExitCode: code(0)}},
		tr.prompt(Prompt{ExitCode: 0, Cwd: "/tmp"}))

	// Input to a program the command started is not a command.
	require.Empty(t, tr.input([]byte("vim notes\r"), false, readline, now))
	require.Empty(t, tr.input([]byte(":wq\r"), false, cooked, now))
	require.Equal(t, []Command{{Time: now, Line: "vim notes", Cwd: "/tmp", ExitCode: code(0)}},
		tr.prompt(Prompt{ExitCode: 0, Cwd: "/tmp"}))

	// Continuation lines typed at the shell's secondary prompt belong to
	// the command.
	require.Empty(t, tr.input([]byte("for i in 1 2; do\r"), false, readline, now))
	require.Empty(t, tr.input([]byte("echo $i; done\r"), false, readline, now))
	require.Equal(t, []Command{{Time: now, Line: "for i in 1 2; do\necho $i; done", Cwd: "/tmp", ExitCode: code(0)}},
		tr.prompt(Prompt{ExitCode: 0, Cwd: "/tmp"}))

	// Typeahead: two lines in one read are two commands, each with its
	// status and the directory the previous one left.
	require.Empty(t, tr.input([]byte("cd /\rfalse\r"), false, readline, now))
	require.Equal(t, []Command{{Time: now, Line: "cd /", Cwd: "/tmp", ExitCode: code(0)}}, tr.prompt(Prompt{ExitCode: 0, Cwd: "/"}))
	require.Equal(t, []Command{{Time: now, Line: "false", Cwd: "/", ExitCode: code(1)}}, tr.prompt(Prompt{ExitCode: 1, Cwd: "/"}))

	// An empty Enter or ctrl-c at the prompt is no command.
	require.Empty(t, tr.input([]byte("\r"), false, readline, now))
	require.Empty(t, tr.prompt(Prompt{ExitCode: 130, Cwd: "/"}))

	// At the end, a command still running is reported without status.
	require.Empty(t, tr.input([]byte("sleep 100\r"), false, readline, now))
	require.Equal(t, []Command{{Time: now, Line: "sleep 100", Cwd: "/"}}, tr.finish())
}

func TestTrackerQueueBound(t *testing.T) {
	tr := commandTracker{}
	tr.prompt(Prompt{Cwd: "/"})
	var in []byte
	for range maxQueued + 3 {
		in = append(in, "x\r"...)
	}
	got := tr.input(in, false, 1, time.Now())
	require.Len(t, got, 3)
	require.Nil(t, got[0].ExitCode)
	require.Len(t, tr.finish(), maxQueued)
}
