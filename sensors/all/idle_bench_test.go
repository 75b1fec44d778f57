package all_test

import (
	"log/slog"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
	_ "github.com/vigil-itm/vigil/sensors/all"
	"github.com/vigil-itm/vigil/sensors/internal/sensorbench"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

// build makes the named sensors as the agent does, from the YAML section
// in sections (an empty section when there is none): defaults, the
// endpoint's evidence buffers, a state directory.
func build(b *testing.B, names []string, sections map[string]string) []sensors.Sensor {
	b.Helper()
	buf, err := evidence.NewBuffers(evidence.DefaultConfig(), nil)
	require.NoError(b, err)
	var out []sensors.Sensor
	for _, name := range names {
		reg, ok := sensors.Lookup(name)
		require.True(b, ok, name)
		env := sensors.Env{Logger: slog.New(slog.DiscardHandler), Evidence: buf, DataDir: b.TempDir()}
		s, err := reg.New(sensortest.YAML(b, sections[name]), env)
		require.NoError(b, err, "build sensor %s", name)
		out = append(out, s)
	}
	return out
}

// BenchmarkIdle measures each sensor alone, then every sensor together,
// with its default configuration on this machine while nobody works at it:
// process CPU time over VIGIL_BENCH_IDLE (3 s by default; scripts/bench-sensors
// sets 30 s) as a percentage
// of one core, resident set and Go heap. The X11 sensors watch a private
// 1920x1080 Xvfb. Run each sub-benchmark in a process of its own (as
// scripts/bench-sensors does) for resident-set figures of that sensor
// alone; the CPU figures do not depend on it.
func BenchmarkIdle(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("the sensors are measured on Linux")
	}
	xvfb.Start(b, 1920, 1080)
	var names []string
	for _, r := range sensors.Registered() {
		names = append(names, r.Name)
	}
	d := sensorbench.IdlePeriod()
	run := func(b *testing.B, names []string, sections map[string]string) {
		c := &sensorbench.Counter{}
		sensorbench.Run(b, c.Emit, build(b, names, sections)...)
		sensorbench.Idle(b, d, c.Total)
	}
	for _, name := range names {
		b.Run("sensor="+name, func(b *testing.B) { run(b, []string{name}, nil) })
	}
	b.Run("sensor=all", func(b *testing.B) { run(b, names, nil) })
	// netconn tuned for a desktop: it reads the socket tables every 5 s
	// instead of every second (connections shorter than that are missed).
	b.Run("sensor=all_netconn.poll_interval=5s", func(b *testing.B) {
		run(b, names, map[string]string{"netconn": "poll_interval: 5s"})
	})
	b.Run("sensor=none", func(b *testing.B) {
		// The floor: the benchmark process with no sensor running.
		sensorbench.Idle(b, d, func() int { return 0 })
	})
}
