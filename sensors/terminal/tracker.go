package terminal

import (
	"strings"
	"time"
)

// Command is a command line the user ran in a recorded terminal.
type Command struct {
	Time        time.Time
	Line        string
	Cwd         string
	ExitCode    *int64
	Approximate bool
}

// Limits of the command tracker.
const (
	maxQueued        = 16 // commands waiting for their exit status
	maxContinuations = 64 // lines appended to one command
)

// commandTracker turns terminal input and prompt markers into commands.
//
// Without shell integration (no marker seen) every line entered is a
// command, reported at once without an exit status. With it (bash, through
// PROMPT_COMMAND), a line entered at the prompt waits for the next marker,
// which carries its exit status; input while a command runs goes to that
// command's program and is not a command, except further lines typed in the
// same terminal mode (the shell's continuation prompt), which are appended.
// Lines completed in one read (typeahead, a paste without brackets) are
// separate commands, each matched to its own marker.
type commandTracker struct {
	ed         LineEditor
	integrated bool
	queue      []*Command
	queueMode  uint32
	cont       int
	cwd        string
	// cwdNow returns the shell's working directory when no marker told it.
	cwdNow func() string
}

// input feeds typed bytes. masked means a secret is being typed (the
// terminal does not echo in canonical mode) and the bytes are not fed;
// mode identifies the terminal's current line discipline.
func (t *commandTracker) input(p []byte, masked bool, mode uint32, now time.Time) []Command {
	if masked {
		return nil
	}
	if t.integrated && len(t.queue) > 0 && mode != t.queueMode {
		return nil // a program other than the shell is reading
	}
	var out []Command
	lines := t.ed.Feed(p)
	for i, l := range lines {
		if strings.TrimSpace(l.Text) == "" {
			continue
		}
		if !t.integrated {
			cwd := t.cwd
			if t.cwdNow != nil {
				if c := t.cwdNow(); c != "" {
					cwd = c
				}
			}
			out = append(out, Command{Time: now, Line: l.Text, Cwd: cwd, Approximate: l.Approximate})
			continue
		}
		if i == 0 && len(t.queue) > 0 && t.cont < maxContinuations {
			// A continuation line of the command still waiting.
			last := t.queue[len(t.queue)-1]
			last.Line += "\n" + l.Text
			last.Approximate = last.Approximate || l.Approximate
			t.cont++
			continue
		}
		c := &Command{Time: now, Line: l.Text, Approximate: l.Approximate}
		if len(t.queue) == 0 {
			c.Cwd = t.cwd
		}
		t.queue = append(t.queue, c)
		t.queueMode, t.cont = mode, 0
		if len(t.queue) > maxQueued {
			// Markers stopped coming (PROMPT_COMMAND unset?): let go.
			out = append(out, *t.queue[0])
			t.queue = t.queue[1:]
		}
	}
	return out
}

// prompt handles a prompt marker: the oldest waiting command finished with
// the reported status.
func (t *commandTracker) prompt(pr Prompt) []Command {
	t.integrated = true
	t.cwd = pr.Cwd
	var out []Command
	if len(t.queue) > 0 {
		c := t.queue[0]
		code := pr.ExitCode
		c.ExitCode = &code
		out = append(out, *c)
		t.queue = t.queue[1:]
		if len(t.queue) > 0 && t.queue[0].Cwd == "" {
			t.queue[0].Cwd = pr.Cwd
		}
	}
	if len(t.queue) == 0 {
		t.ed.Reset()
		t.cont = 0
	}
	return out
}

// finish returns the commands still waiting, without exit status.
func (t *commandTracker) finish() []Command {
	out := make([]Command, 0, len(t.queue))
	for _, c := range t.queue {
		if c.Cwd == "" {
			c.Cwd = t.cwd
		}
		out = append(out, *c)
	}
	t.queue = nil
	return out
}
