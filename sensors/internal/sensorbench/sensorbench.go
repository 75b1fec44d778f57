// Package sensorbench runs sensors under benchmarks and measures what they
// cost: CPU time and memory of the process while they sit idle for a fixed
// period, and through a burst of real activity whose events are counted,
// so that a lost event shows as a number rather than as a slow test. It is
// used only from benchmarks and must not be imported by sensor code.
package sensorbench

import (
	"context"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/procstat"
	"github.com/vigil-itm/vigil/sensors"
)

// Period returns the duration set in the environment variable env (a Go
// duration such as "30s"), or def when it is unset or invalid. The
// benchmarks read their idle periods and burst sizes this way so that
// scripts/bench-sensors can lengthen or shorten them.
func Period(env string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(env)); err == nil && d > 0 {
		return d
	}
	return def
}

// IdlePeriod is how long an idle measurement lasts: VIGIL_BENCH_IDLE, or
// 3 s, enough for the benchmark smoke of scripts/test but not for figures
// to publish (scripts/bench-sensors sets 30 s).
func IdlePeriod() time.Duration { return Period("VIGIL_BENCH_IDLE", 3*time.Second) }

// Counter counts emitted events by key. It is safe for concurrent use.
type Counter struct {
	// Key returns the key an event is counted under and whether it counts
	// at all; nil counts every event under "".
	Key func(*event.Event) (string, bool)

	mu    sync.Mutex
	total int
	keys  map[string]int
}

// Emit is the emit function to give a sensor.
func (c *Counter) Emit(e event.Event) {
	k, ok := "", true
	if c.Key != nil {
		k, ok = c.Key(&e)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	if !ok {
		return
	}
	if c.keys == nil {
		c.keys = map[string]int{}
	}
	c.keys[k]++
}

// Total is how many events were emitted, counted or not.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Distinct is how many different keys were counted.
func (c *Counter) Distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keys)
}

// Duplicates is how many counted events repeated a key already seen.
func (c *Counter) Duplicates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.keys {
		n += v - 1
	}
	return n
}

// Reset forgets everything counted so far.
func (c *Counter) Reset() {
	c.mu.Lock()
	c.total, c.keys = 0, nil
	c.mu.Unlock()
}

// Run runs every sensor with emit until the benchmark ends, and waits until
// each has left the starting state (or a minute has passed). It logs each
// sensor's health, so the report says in which mode each one ran.
func Run(b testing.TB, emit func(event.Event), ss ...sensors.Sensor) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx, emit); err != nil {
				b.Errorf("%s sensor: %v", s.Name(), err)
			}
		}()
	}
	b.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	deadline := time.Now().Add(time.Minute)
	for _, s := range ss {
		h, ok := s.(sensors.HealthReporter)
		if !ok {
			continue
		}
		for h.Health().State == sensors.StateStarting && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		st := h.Health()
		b.Logf("%s: state %s, mode %q: %s", s.Name(), st.State, st.Mode, st.Message)
	}
}

// Idle measures the process for d while the sensors already running sit
// idle, after a settling pause and a garbage collection, and reports
// cpu_pct (percent of one core), cpu_ms, rss_MB, peak_rss_MB, heap_MB, the
// events emitted meanwhile (events) and the machine's load average (load1).
// events may be nil.
func Idle(b *testing.B, d time.Duration, events func() int) {
	b.Helper()
	time.Sleep(2 * time.Second) // start-up work (first scans) is not idle
	for b.Loop() {
		runtime.GC()
		n0 := 0
		if events != nil {
			n0 = events()
		}
		start := procstat.Take()
		time.Sleep(d)
		u := procstat.Since(start)
		procstat.Report(b, u)
		if events != nil {
			b.ReportMetric(float64(events()-n0), "events")
		}
	}
	b.ReportMetric(procstat.LoadAverage(), "load1")
}

// Burst describes a burst of activity whose events are counted.
type Burst struct {
	// Want is how many distinct events the burst must produce.
	Want int
	// Got returns how many distinct events have arrived so far.
	Got func() int
	// Load does the activity; it runs in the benchmark's goroutine and may
	// fail the benchmark.
	Load func()
	// Quiet is how long the count may stay still, after Load returned,
	// before the missing events are declared lost (default 20 s).
	Quiet time.Duration
}

// Measure runs one burst and reports cpu_pct, cpu_ms, rss_MB, peak_rss_MB
// (peak of the process during the burst), heap_MB, the events counted
// (events), those missing (lost), CPU per event (cpu_us/event), the wall
// time until the last event (burst_s) and the load average (load1). The
// measured span runs from the start of Load until the last event arrived.
func Measure(b *testing.B, burst Burst) (lost int) {
	b.Helper()
	quiet := burst.Quiet
	if quiet <= 0 {
		quiet = 20 * time.Second
	}
	runtime.GC()
	_ = procstat.ResetPeak()
	start := procstat.Take()
	burst.Load()
	last, lastAt := burst.Got(), procstat.Take()
	for last < burst.Want && time.Since(lastAt.At) < quiet {
		time.Sleep(10 * time.Millisecond)
		if n := burst.Got(); n != last {
			last, lastAt = n, procstat.Take()
		}
	}
	if last >= burst.Want {
		lastAt = procstat.Take()
	}
	u := procstat.Between(start, lastAt)
	procstat.Report(b, u)
	lost = max(burst.Want-last, 0)
	b.ReportMetric(float64(last), "events")
	b.ReportMetric(float64(lost), "lost")
	if last > 0 {
		b.ReportMetric(float64(u.CPU.Microseconds())/float64(last), "cpu_us/event")
	}
	b.ReportMetric(u.Wall.Seconds(), "burst_s")
	b.ReportMetric(procstat.LoadAverage(), "load1")
	return lost
}
