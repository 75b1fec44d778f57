package clipboard

import (
	"bytes"
	"fmt"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensorbench"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
	"github.com/vigil-itm/vigil/sensors/keyboard"
	"github.com/vigil-itm/vigil/sensors/x11/x11test"
)

// BenchmarkBurstCopyPaste copies to the CLIPBOARD selection at typing speed
// on a private Xvfb and counts the clipboard-copy events by content hash:
//
//   - copies=100/every=200ms: xclip takes the selection with new content
//     (1 KB of text) every 200 ms, the clipboard sensor alone;
//   - cycles=50/with=keyboard: ctrl+c in one window, the content lands on
//     the clipboard (xclip), ctrl+v in another window, with the keyboard
//     sensor running too, as on a desktop; every copy must be reported with
//     its content and every paste as a clipboard-paste.
//
// lost counts the copies (and pastes) that did not become an event. CPU and
// memory are the sensors' (the benchmark process's) from the first copy to
// the last event; xclip, xdotool and Xvfb run in their own processes.
func BenchmarkBurstCopyPaste(b *testing.B) {
	b.Run("copies=100/every=200ms", func(b *testing.B) {
		xvfb.Start(b, 1024, 768)
		xvfb.NeedCommand(b, "xclip", "xclip")
		for b.Loop() {
			d := x11test.NewDesktop(b)
			d.Window("notes.txt - Editor", "editor", "Editor")
			c := copyCounter()
			s, err := New(DefaultConfig(), sensors.Env{Evidence: &x11test.Sink{}})
			require.NoError(b, err)
			sensortest.Run(b, s, c.Emit)
			sensortest.WaitState(b, s, sensors.StateOK)
			const copies = 100
			lost := sensorbench.Measure(b, sensorbench.Burst{
				Want: copies, Got: c.Distinct,
				Load: func() {
					for i := range copies {
						benchOwn(b, copyText(i))
						time.Sleep(200 * time.Millisecond)
					}
				},
			})
			if lost > 0 {
				b.Errorf("%d of %d copies were not reported", lost, copies)
			}
		}
	})
	b.Run("cycles=50/with=keyboard", func(b *testing.B) {
		xvfb.Start(b, 1024, 768)
		xvfb.NeedCommand(b, "xclip", "xclip")
		xvfb.NeedCommand(b, "xdotool", "xdotool")
		for b.Loop() {
			d := x11test.NewDesktop(b)
			editor := d.PlainWindow("notes.txt - Editor", "editor", "Editor")
			browser := d.PlainWindow("Mail - Chromium", "chromium", "Chromium")
			c := copyCounter()
			sink := &x11test.Sink{}
			cb, err := New(DefaultConfig(), sensors.Env{Evidence: sink})
			require.NoError(b, err)
			sensortest.Run(b, cb, c.Emit)
			sensortest.WaitState(b, cb, sensors.StateOK)
			kcfg := keyboard.DefaultConfig()
			kcfg.ComboWait = 30 * time.Second // a loaded machine may be slow to start xclip
			kb, err := keyboard.New(kcfg, sensors.Env{Evidence: sink})
			require.NoError(b, err)
			sensortest.Run(b, kb, c.Emit)
			sensortest.WaitState(b, kb, sensors.StateOK)
			const cycles = 50
			lost := sensorbench.Measure(b, sensorbench.Burst{
				Want: 2 * cycles, Got: c.Distinct,
				Load: func() {
					for i := range cycles {
						d.Activate(editor)
						x11test.Run(b, "xdotool", "key", "ctrl+c")
						benchOwn(b, copyText(i))
						time.Sleep(100 * time.Millisecond)
						d.Activate(browser)
						x11test.Run(b, "xdotool", "key", "ctrl+v")
						time.Sleep(100 * time.Millisecond)
					}
				},
			})
			if lost > 0 {
				b.Errorf("%d of %d copies and pastes were not reported", lost, 2*cycles)
			}
		}
	})
}

// copyCounter counts copies by content hash and pastes by their order.
func copyCounter() *sensorbench.Counter {
	var pastes atomic.Int64
	return &sensorbench.Counter{Key: func(e *event.Event) (string, bool) {
		switch {
		case e.Clipboard == nil:
			return "", false
		case e.Event.Action == event.ActionClipboardCopy && e.Clipboard.ContentSHA256 != "":
			return "copy " + e.Clipboard.ContentSHA256, true
		case e.Event.Action == event.ActionClipboardPaste:
			return fmt.Sprint("paste ", pastes.Add(1)), true
		}
		return "", false
	}}
}

// copyText is the i-th text copied: about 1 KB, different each time.
func copyText(i int) []byte {
	return bytes.Repeat(fmt.Appendf(nil, "row %d;ACME Corp;42000;EMEA\n", i), 36)
}

// benchOwn makes a new xclip own CLIPBOARD with data; the previous owner
// exits when it loses the selection, and the last one when the benchmark
// ends.
func benchOwn(b *testing.B, data []byte) {
	b.Helper()
	cmd := exec.Command("xclip", "-quiet", "-selection", "clipboard")
	cmd.Stdin = bytes.NewReader(data)
	require.NoError(b, cmd.Start())
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}
