package keyboard

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
	"github.com/vigil-itm/vigil/sensors/x11"
	"github.com/vigil-itm/vigil/sensors/x11/x11test"
)

const waitFor, tick = 30 * time.Second, 20 * time.Millisecond

// burstKeys is how many keys the burst test types.
const burstKeys = 10000

// leakCheck checks, after every other cleanup of the test, that no
// goroutine is left behind.
func leakCheck(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// started runs a keyboard sensor on the test's display until the test ends
// and waits until it records keys.
func started(t *testing.T, cfg Config) (*Sensor, *x11test.Sink, *sensortest.Events, <-chan error) {
	t.Helper()
	sink := &x11test.Sink{}
	evs := &sensortest.Events{}
	s, err := New(cfg, sensors.Env{Evidence: sink})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() { done <- s.Run(ctx, evs.Emit); close(finished) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(waitFor):
			t.Error("keyboard sensor did not stop")
		}
	})
	require.Eventually(t, func() bool { return s.Health().State == sensors.StateOK }, waitFor, tick)
	return s, sink, evs, done
}

func TestKeyboardTypedTextAndCombos(t *testing.T) {
	leakCheck(t)
	xvfb.Start(t, 1024, 768)
	xvfb.NeedCommand(t, "xdotool", "xdotool")
	d := x11test.NewDesktop(t)
	_, sink, evs, _ := started(t, DefaultConfig())

	d.Window("notes.txt - Editor", "editor", "Editor")
	x11test.Run(t, "xdotool", "type", "--delay", "5", "Hello, World 42!")
	x11test.Run(t, "xdotool", "key", "Return")
	require.Eventually(t, func() bool { return sink.TypedIn("notes.txt - Editor") == "Hello, World 42!<Enter>" },
		waitFor, tick, "typed: %q", sink.Keystrokes())

	for _, combo := range []string{"ctrl+c", "ctrl+x", "ctrl+v", "ctrl+Insert", "shift+Insert", "shift+Delete", "ctrl+shift+c", "ctrl+shift+v"} {
		x11test.Run(t, "xdotool", "key", combo)
	}
	want := []struct{ action, combo string }{
		{event.ActionClipboardCopy, "ctrl+c"}, {event.ActionClipboardCut, "ctrl+x"}, {event.ActionClipboardPaste, "ctrl+v"},
		{event.ActionClipboardCopy, "ctrl+insert"}, {event.ActionClipboardPaste, "shift+insert"},
		{event.ActionClipboardCut, "shift+delete"}, {event.ActionClipboardCopy, "ctrl+shift+c"},
		{event.ActionClipboardPaste, "ctrl+shift+v"},
	}
	require.Eventually(t, func() bool { return len(evs.All()) >= len(want) }, waitFor, tick)
	got := evs.All()
	require.Len(t, got, len(want))
	for i, w := range want {
		e := got[i]
		require.Equal(t, w.action, e.Event.Action, "event %d", i)
		require.Equal(t, w.combo, e.Keys.Combo, "event %d", i)
		require.Equal(t, strings.TrimPrefix(w.action, "clipboard-"), e.Clipboard.Operation)
		require.Equal(t, "notes.txt - Editor", e.Window.Title)
		require.Equal(t, "Editor", e.Window.Class)
		require.Equal(t, int64(os.Getpid()), e.Window.PID)
		require.Equal(t, "keyboard", e.Event.Module)
		require.NoError(t, e.Validate())
		require.Empty(t, e.Clipboard.Content, "keystroke text never goes into events")
	}
	// The combinations reach the keystroke log as labels, never as text.
	require.Eventually(t, func() bool {
		return strings.Contains(sink.TypedIn("notes.txt - Editor"), "<ctrl+c><ctrl+x><ctrl+v><ctrl+Insert>")
	}, waitFor, tick, "typed: %q", sink.Keystrokes())
}

func TestKeyboardMasksPasswordWindows(t *testing.T) {
	leakCheck(t)
	xvfb.Start(t, 1024, 768)
	xvfb.NeedCommand(t, "xdotool", "xdotool")
	d := x11test.NewDesktop(t)
	cfg := DefaultConfig()
	cfg.MaskApps = []string{"vault*"}
	_, sink, _, _ := started(t, cfg)

	d.Window("Terminal", "xterm", "XTerm")
	x11test.Run(t, "xdotool", "type", "--delay", "5", "sudo ls")
	d.Window("[sudo] password for jdoe", "pinentry", "Pinentry")
	x11test.Run(t, "xdotool", "type", "--delay", "5", "hunter2")
	d.Window("Secrets", "vaultapp", "Vaultapp")
	x11test.Run(t, "xdotool", "type", "--delay", "5", "s3cret")
	d.Window("Terminal", "xterm", "XTerm")
	x11test.Run(t, "xdotool", "type", "--delay", "5", "done")

	require.Eventually(t, func() bool { return strings.HasSuffix(sink.TypedIn("Terminal"), "done") }, waitFor, tick,
		"typed: %q", sink.Keystrokes())
	ks := sink.Keystrokes()
	var masked []string
	for _, k := range ks {
		require.NotContains(t, k.Text, "hunter2")
		require.NotContains(t, k.Text, "s3cret")
		if k.Masked {
			require.Equal(t, MaskedText, k.Text)
			masked = append(masked, k.Window)
		}
	}
	require.Equal(t, []string{"[sudo] password for jdoe", "Secrets"}, masked)
	require.Equal(t, "sudo lsdone", sink.TypedIn("Terminal"))
}

func TestKeyboardFollowsKeymapChanges(t *testing.T) {
	leakCheck(t)
	xvfb.Start(t, 1024, 768)
	xvfb.NeedCommand(t, "xdotool", "xdotool")
	d := x11test.NewDesktop(t)
	_, sink, _, _ := started(t, DefaultConfig())
	d.Window("Letter", "writer", "Writer")
	// xdotool types characters missing from the keymap by remapping a spare
	// keycode for a moment: the sensor must follow the change in order.
	x11test.Run(t, "xdotool", "type", "--delay", "20", "café ünïcødé ✓")
	require.Eventually(t, func() bool { return sink.TypedIn("Letter") == "café ünïcødé ✓" }, waitFor, tick,
		"typed: %q", sink.Keystrokes())
}

func TestKeyboardBurstLosesNoKey(t *testing.T) {
	leakCheck(t)
	display := xvfb.Start(t, 1024, 768)
	xvfb.NeedCommand(t, "xdotool", "xdotool")
	d := x11test.NewDesktop(t)
	cfg := DefaultConfig()
	cfg.MaxChunkBytes = 4096
	_, sink, _, done := started(t, cfg)
	// The window's own connection receives the keys as an application
	// would: what the X server delivered is what the sensor must record.
	delivered := d.Receive(d.Window("burst", "burst", "Burst"))
	var b strings.Builder
	for i := 0; b.Len() < burstKeys; i++ {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(' ')
	}
	text := b.String()[:burstKeys]
	start := time.Now()
	// One key a millisecond: about ten times faster than anyone types. Flat
	// out (--delay 0), xdotool outruns the sensor's reader on a loaded
	// machine, and the X server (xorg-server 21.1) then drops RECORD
	// replies: see docs/sensors-x11.md. BenchmarkBurstKeys measures the
	// flat-out burst on its own.
	x11test.Run(t, "xdotool", "type", "--delay", "1", text)
	t.Logf("xdotool typed %d keys in %v", len(text), time.Since(start).Round(time.Millisecond))
	// A loaded machine (the race detector, other test packages) can take
	// much longer than usual to type and record the burst: wait for as long
	// as the sensor and the window keep receiving keys.
	got := waitSettled(t, func() string { return sink.TypedIn("burst") }, len(text), done)
	want := waitSettled(t, delivered.Text, len(text), done)
	t.Logf("the sensor recorded %d keys, the window received %d, %v after the first key", len(got), len(want),
		time.Since(start).Round(time.Millisecond))
	require.Equal(t, want, got, "the sensor records every key the X server delivered: %s; by window: %s",
		diff(want, got), typedByWindow(sink))
	require.Equal(t, text, want, "the window received every key xdotool typed: %s; X server log: %q", diff(text, want), xvfb.Log(display))
}

// waitSettled polls read until it returns at least want bytes or its
// length stops growing for a while, and returns what it read last. It
// fails the test when the sensor ends.
func waitSettled(t *testing.T, read func() string, want int, done <-chan error) string {
	t.Helper()
	const settled = 15 * time.Second
	last, lastChange := -1, time.Now()
	for {
		got := read()
		if len(got) >= want {
			return got
		}
		if len(got) != last {
			last, lastChange = len(got), time.Now()
		}
		if time.Since(lastChange) > settled {
			return got
		}
		select {
		case err := <-done:
			t.Fatalf("sensor ended after recording %d of %d bytes: %v", len(got), want, err)
		case <-time.After(tick):
		}
	}
}

// diff says where got first differs from want.
func diff(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	return fmt.Sprintf("first difference at byte %d: want %q, got %q", i, want[max(0, i-20):min(len(want), i+20)], got[max(0, i-20):min(len(got), i+20)])
}

// typedByWindow summarises the recorded keystrokes as bytes per window title.
func typedByWindow(sink *x11test.Sink) string {
	var b strings.Builder
	for _, k := range sink.Keystrokes() {
		fmt.Fprintf(&b, "[%q masked=%v %d bytes] ", k.Window, k.Masked, len(k.Text))
	}
	return b.String()
}

func TestKeyboardFailsWhenServerDies(t *testing.T) {
	leakCheck(t)
	xvfb.Start(t, 640, 480)
	_, _, _, done := started(t, DefaultConfig())
	require.NoError(t, syscall.Kill(childXvfb(t), syscall.SIGKILL))

	select {
	case err := <-done:
		require.Error(t, err)
		require.Contains(t, err.Error(), "keyboard")
	case <-time.After(waitFor):
		t.Fatal("keyboard sensor did not notice the X server going away")
	}
}

func TestKeyboardNoDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "wayland-0")
	s, err := New(DefaultConfig(), sensors.Env{})
	require.NoError(t, err)
	err = s.Run(context.Background(), func(event.Event) {})
	require.ErrorIs(t, err, x11.ErrWayland)
	require.Equal(t, sensors.StateFailed, s.Health().State)
}

// childXvfb returns the pid of the Xvfb this test process started.
func childXvfb(t *testing.T) int {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	require.NoError(t, err)
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		open, closeParen := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closeParen < open || s[open+1:closeParen] != "Xvfb" {
			continue
		}
		f := strings.Fields(s[closeParen+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
			require.NoError(t, err)
			return pid
		}
	}
	t.Fatal("no Xvfb child process found")
	return 0
}
