package clipboard

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
	"github.com/vigil-itm/vigil/sensors/keyboard"
	"github.com/vigil-itm/vigil/sensors/x11/x11test"
)

const waitFor, tick = 30 * time.Second, 20 * time.Millisecond

func leakCheck(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// runSensor runs s until the test ends and waits until it watches.
func runSensor(t *testing.T, s sensors.Sensor, emit func(event.Event)) {
	t.Helper()
	sensortest.Run(t, s, emit)
	h, ok := s.(sensors.HealthReporter)
	require.True(t, ok)
	sensortest.WaitState(t, h, sensors.StateOK)
}

func started(t *testing.T, cfg Config) (*Sensor, *x11test.Sink, *sensortest.Events) {
	t.Helper()
	sink, evs := &x11test.Sink{}, &sensortest.Events{}
	s, err := New(cfg, sensors.Env{Evidence: sink})
	require.NoError(t, err)
	runSensor(t, s, evs.Emit)
	return s, sink, evs
}

// own makes xclip own selection with content (offered as target, when
// given) until the test ends.
func own(t *testing.T, selection, target string, content []byte) {
	t.Helper()
	args := []string{"-quiet", "-selection", selection}
	if target != "" {
		args = append(args, "-t", target)
	}
	cmd := exec.Command("xclip", args...)
	cmd.Stdin = bytes.NewReader(content)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestClipboardCopies(t *testing.T) {
	leakCheck(t)
	xvfb.Start(t, 1024, 768)
	xvfb.NeedCommand(t, "xclip", "xclip")
	d := x11test.NewDesktop(t)
	d.Window("Report.ods - LibreOffice Calc", "libreoffice", "libreoffice-calc")
	cfg := DefaultConfig()
	cfg.IncludeText = true
	cfg.MaxTextBytes = 10
	s, sink, evs := started(t, cfg)

	large := bytes.Repeat([]byte("0123456789abcdef"), 320<<10) // 5 MiB
	files := []byte("# copied\nfile:///home/jdoe/q3%20report.xlsx\nfile:///home/jdoe/plan.txt\n")
	cases := []struct {
		name, selection, target string
		content                 []byte
		check                   func(t *testing.T, e event.Event)
	}{
		{"text", "clipboard", "", []byte("héllo clipboard\n"), func(t *testing.T, e event.Event) {
			require.Equal(t, "text", e.Clipboard.Format)
			require.Equal(t, "héllo cli", e.Clipboard.Content, "truncated at max_text_bytes without splitting a character")
		}},
		{"large-incr", "clipboard", "", large, func(t *testing.T, e event.Event) {
			require.Equal(t, "text", e.Clipboard.Format)
			require.Equal(t, "0123456789", e.Clipboard.Content)
		}},
		{"files", "clipboard", "text/uri-list", files, func(t *testing.T, e event.Event) {
			require.Equal(t, "files", e.Clipboard.Format)
			require.Equal(t, []string{"/home/jdoe/q3 report.xlsx", "/home/jdoe/plan.txt"}, e.Clipboard.Files)
			require.Empty(t, e.Clipboard.Content)
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			own(t, tc.selection, tc.target, tc.content)
			require.Eventually(t, func() bool { return len(evs.All()) > i }, waitFor, tick)
			e := evs.All()[i]
			require.NoError(t, e.Validate())
			require.Equal(t, event.ActionClipboardCopy, e.Event.Action)
			require.Equal(t, "clipboard", e.Event.Module)
			require.Equal(t, "copy", e.Clipboard.Operation)
			require.Equal(t, int64(len(tc.content)), e.Clipboard.ContentLength)
			require.Equal(t, sha(tc.content), e.Clipboard.ContentSHA256)
			require.Equal(t, "xclip", e.Clipboard.SourceApp, "the owner is xclip, not the focused window")
			require.Nil(t, e.Keys)
			tc.check(t, e)
			entry := sink.Clipboard()[i]
			require.Equal(t, int64(len(tc.content)), entry.Length)
			require.Equal(t, "CLIPBOARD", entry.Selection)
		})
	}
	require.Positive(t, s.incrTransfers.Load(), "the 5 MiB copy went through INCR")

	// PRIMARY goes to evidence only (emit_primary is false).
	own(t, "primary", "", []byte("selected words"))
	require.Eventually(t, func() bool { return len(sink.Clipboard()) == len(cases)+1 }, waitFor, tick)
	p := sink.Clipboard()[len(cases)]
	require.Equal(t, "selection", p.Operation)
	require.Equal(t, "PRIMARY", p.Selection)
	require.Equal(t, "selected w", p.Text)
	require.Len(t, evs.All(), len(cases))
}

func TestClipboardWithKeyboard(t *testing.T) {
	leakCheck(t)
	xvfb.Start(t, 1024, 768)
	xvfb.NeedCommand(t, "xclip", "xclip")
	xvfb.NeedCommand(t, "xdotool", "xdotool")
	d := x11test.NewDesktop(t)
	sink, evs := &x11test.Sink{}, &sensortest.Events{}
	cb, err := New(DefaultConfig(), sensors.Env{Evidence: sink})
	require.NoError(t, err)
	runSensor(t, cb, evs.Emit)
	kcfg := keyboard.DefaultConfig()
	kcfg.ComboWait = waitFor // a loaded machine may take long to start xclip
	kb, err := keyboard.New(kcfg, sensors.Env{Evidence: sink})
	require.NoError(t, err)
	runSensor(t, kb, evs.Emit)

	// ctrl+c in a spreadsheet, then the content lands on the clipboard: one
	// event with both the keys and the content.
	d.Window("Q3 pipeline.ods - LibreOffice Calc", "libreoffice", "libreoffice-calc")
	x11test.Run(t, "xdotool", "key", "ctrl+c")
	rows := []byte(strings.Repeat("ACME Corp;42000;EMEA\n", 1000))
	own(t, "clipboard", "", rows)
	require.Eventually(t, func() bool { return len(evs.All()) == 1 }, waitFor, tick)
	e := evs.All()[0]
	require.Equal(t, event.ActionClipboardCopy, e.Event.Action)
	require.Equal(t, "ctrl+c", e.Keys.Combo)
	require.Equal(t, "LibreOffice Calc", e.Clipboard.SourceApp)
	require.Equal(t, "Q3 pipeline.ods - LibreOffice Calc", e.Window.Title)
	require.Equal(t, int64(len(rows)), e.Clipboard.ContentLength)
	require.Equal(t, sha(rows), e.Clipboard.ContentSHA256)

	// ctrl+v in a browser carries what is being pasted.
	d.Window("ChatBot - https://chat.example.com/new - Chromium", "chromium", "Chromium")
	x11test.Run(t, "xdotool", "key", "ctrl+v")
	require.Eventually(t, func() bool { return len(evs.All()) == 2 }, waitFor, tick)
	e = evs.All()[1]
	require.Equal(t, event.ActionClipboardPaste, e.Event.Action)
	require.Equal(t, "keyboard", e.Event.Module)
	require.Equal(t, "Chromium", e.Window.App)
	require.Equal(t, "https://chat.example.com/new", e.Window.URL)
	require.Equal(t, int64(len(rows)), e.Clipboard.ContentLength)
	require.Equal(t, "LibreOffice Calc", e.Clipboard.SourceApp)
	require.NoError(t, e.Validate())

	// A copy in a password manager is masked: no text, no hash.
	d.Window("Passwords.kdbx - KeePassXC", "keepassxc", "KeePassXC")
	x11test.Run(t, "xdotool", "key", "ctrl+c")
	own(t, "clipboard", "", []byte("correct horse battery staple"))
	require.Eventually(t, func() bool { return len(evs.All()) == 3 }, waitFor, tick)
	e = evs.All()[2]
	require.Equal(t, "KeePassXC", e.Clipboard.SourceApp)
	require.Empty(t, e.Clipboard.ContentSHA256)
	require.Empty(t, e.Clipboard.Content)
	entries := sink.Clipboard()
	last := entries[len(entries)-1]
	require.True(t, last.Masked)
	require.Empty(t, last.Text)
	require.Empty(t, last.SHA256)
	for _, en := range entries {
		require.NotContains(t, en.Text, "battery")
	}
}
