package keyboard

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensorbench"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
	"github.com/vigil-itm/vigil/sensors/x11/x11test"
)

// benchKeys is how many keys the burst types as fast as xdotool sends them.
const benchKeys = 10000

// benchSensor runs a keyboard sensor on the benchmark's display until the
// benchmark ends.
func benchSensor(b *testing.B, cfg Config, sink sensors.EvidenceSink, emit func(event.Event)) {
	b.Helper()
	s, err := New(cfg, sensors.Env{Evidence: sink})
	require.NoError(b, err)
	sensortest.Run(b, s, emit)
	sensortest.WaitState(b, s, sensors.StateOK)
}

// BenchmarkBurstKeys types through XTEST (xdotool) into a window of a
// private Xvfb and counts what the sensor recorded:
//
//   - keys=10000/delay=0: 10,000 characters as fast as xdotool sends them;
//     lost is how many characters are missing from the keystroke text the
//     evidence buffer received;
//   - keys=200/delay=50ms: 200 characters at typing speed (xdotool waits
//     50 ms between keys), the cost of an ordinary typist;
//   - combos=100/delay=100ms: ctrl+c, ctrl+x and ctrl+v in turn at typing
//     speed (xdotool waits 100 ms between key events, so about one
//     combination every 200 ms), each an event; lost is how many
//     combinations did not become an event.
//
// CPU and memory are the sensor's (the benchmark process's) from the first
// key to the last one recorded; xdotool and Xvfb run in their own processes.
func BenchmarkBurstKeys(b *testing.B) {
	typing := func(b *testing.B, n int, delay string) {
		xvfb.Start(b, 1024, 768)
		xvfb.NeedCommand(b, "xdotool", "xdotool")
		var tb strings.Builder
		for i := 0; tb.Len() < n; i++ {
			tb.WriteString(strconv.Itoa(i))
			tb.WriteByte(' ')
		}
		text := tb.String()[:n]
		for b.Loop() {
			d := x11test.NewDesktop(b)
			sink := &x11test.Sink{}
			benchSensor(b, DefaultConfig(), sink, func(event.Event) {})
			title := fmt.Sprintf("burst %d", b.N)
			d.Window(title, "burst", "Burst")
			lost := sensorbench.Measure(b, sensorbench.Burst{
				Want: len(text),
				Got:  func() int { return len(sink.TypedIn(title)) },
				Load: func() { x11test.Run(b, "xdotool", "type", "--delay", delay, text) },
			})
			if got := sink.TypedIn(title); lost == 0 && got != text {
				b.Errorf("every key arrived but the text differs: %d characters, first difference at %d", len(got), firstDiff(got, text))
			}
			if lost > 0 {
				b.Errorf("%d of %d keys were not recorded", lost, len(text))
			}
		}
	}
	keys := benchKeys
	if testing.Short() {
		keys = 500 // the smoke run of scripts/test: does it work, not how fast
	}
	b.Run(fmt.Sprintf("keys=%d/delay=0", keys), func(b *testing.B) { typing(b, keys, "0") })
	b.Run("keys=200/delay=50ms", func(b *testing.B) { typing(b, 200, "50") })
	b.Run("combos=100/delay=100ms", func(b *testing.B) {
		xvfb.Start(b, 1024, 768)
		xvfb.NeedCommand(b, "xdotool", "xdotool")
		combos := make([]string, 100)
		for i := range combos {
			combos[i] = []string{"ctrl+c", "ctrl+x", "ctrl+v"}[i%3]
		}
		for b.Loop() {
			d := x11test.NewDesktop(b)
			c := &sensorbench.Counter{}
			benchSensor(b, DefaultConfig(), &x11test.Sink{}, c.Emit)
			d.Window("report.odt - Writer", "writer", "Writer")
			lost := sensorbench.Measure(b, sensorbench.Burst{
				Want: len(combos),
				Got:  c.Total,
				Load: func() {
					x11test.Run(b, "xdotool", append([]string{"key", "--delay", "100"}, combos...)...)
				},
			})
			if lost > 0 {
				b.Errorf("%d of %d key combinations were not reported", lost, len(combos))
			}
		}
	})
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
