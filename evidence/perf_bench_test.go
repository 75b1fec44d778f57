package evidence

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence/screen"
	"github.com/vigil-itm/vigil/internal/procstat"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/policies"
)

// The benchmarks in this file measure evidence against its targets: capture
// cost per 1080p frame, ring-buffer memory for five minutes at one frame a
// second, package write time and size per minute of screen, and the CPU of
// buffering. Each reports CPU time (getrusage), never only wall time, and
// the X server's CPU beside it where there is one. docs/performance-sensors.md
// has the figures; scripts/bench-sensors runs them.

// Screen activities, from least to most change.
const (
	screenIdle     = "idle"     // nothing changes
	screenClock    = "clock"    // a mostly static screen: the task bar clock changes every second
	screenScrolled = "scrolled" // a changing screen: the largest window scrolls every second
)

// change applies activity a for second s to the desktop and returns the
// rectangle that changed (empty for idle).
func (d *desktop) change(a string, s int) image.Rectangle {
	b := d.img.Bounds()
	switch a {
	case screenClock:
		d.tick(s)
		return image.Rect(b.Max.X-110, b.Max.Y-26, b.Max.X-10, b.Max.Y-6)
	case screenScrolled:
		d.tick(s)
		d.scroll(s)
		return image.Rect(0, 0, b.Dx(), b.Dy())
	}
	return image.Rectangle{}
}

// xvfbCPU returns the CPU time of the benchmark's Xvfb, or 0.
func xvfbCPU() time.Duration {
	pid := procstat.Child("Xvfb")
	if pid == 0 {
		return 0
	}
	d, _ := procstat.ProcessCPU(pid)
	return d
}

// BenchmarkCaptureFrame grabs a 1920x1080 screen from a private Xvfb with
// each backend and records the frame into the buffers (default settings:
// width 1920, quality 60), on an idle screen and on one whose clock
// changes before every frame. Per frame it reports the process's CPU time
// to grab (grab_cpu_ms), to hash, compare and, when the screen changed,
// encode (record_cpu_ms), their sum (cpu_ms/frame) and the X server's CPU
// time (xvfb_cpu_ms, from /proc, 10 ms resolution, averaged); ns/op is
// wall time.
func BenchmarkCaptureFrame(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("X11 only")
	}
	xvfb.Start(b, 1920, 1080)
	d := newDesktop(1920, 1080)
	x := newXScreen(b)
	x.paint(b, d.img, d.img.Bounds())
	for _, backend := range []string{"screenshot", "x11"} {
		for _, activity := range []string{screenIdle, screenClock} {
			b.Run("backend="+backend+"/screen="+activity+"/size=1920x1080", func(b *testing.B) {
				g, err := screen.New(backend)
				require.NoError(b, err)
				defer g.Close()
				buf, err := NewBuffers(DefaultConfig(), nil)
				require.NoError(b, err)
				var grabCPU, recordCPU time.Duration
				x0 := xvfbCPU()
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					i++
					if r := d.change(activity, i); !r.Empty() {
						x.paint(b, d.img, r)
					}
					c0 := procstat.Take().CPU
					px, err := g.Grab()
					if err != nil {
						b.Fatal(err)
					}
					c1 := procstat.Take().CPU
					if _, err := buf.RecordPixels(time.Now(), px); err != nil {
						b.Fatal(err)
					}
					c2 := procstat.Take().CPU
					grabCPU += c1 - c0
					recordCPU += c2 - c1
				}
				n := float64(b.N)
				ms := float64(time.Millisecond)
				b.ReportMetric(float64(grabCPU)/ms/n, "grab_cpu_ms")
				b.ReportMetric(float64(recordCPU)/ms/n, "record_cpu_ms")
				b.ReportMetric(float64(grabCPU+recordCPU)/ms/n, "cpu_ms/frame")
				b.ReportMetric(float64(xvfbCPU()-x0)/ms/n, "xvfb_cpu_ms")
				b.Logf("grabber in use: %s", g.Name())
			})
		}
	}
}

// fiveMinutes records five minutes at one frame a second of the synthetic
// desktop doing activity into buf, with the buffers' clock at the end of
// the five minutes, and returns the process CPU time spent recording.
func fiveMinutes(b *testing.B, buf *Buffers, d *desktop, activity string, start time.Time, frames int) time.Duration {
	b.Helper()
	buf.now = func() time.Time { return start.Add(time.Duration(frames) * time.Second) }
	c0 := procstat.Take().CPU
	for i := range frames {
		d.change(activity, i)
		if _, err := buf.RecordFrame(start.Add(time.Duration(i)*time.Second), d.img); err != nil {
			b.Fatal(err)
		}
	}
	return procstat.Take().CPU - c0
}

// BenchmarkBufferFiveMinutesDesktop fills the screen ring buffer with five
// minutes at one frame a second (300 frames) of a synthetic 1920x1080
// desktop with text, with the default settings (48 MiB bound, width 1920,
// quality 60), for an idle screen, a mostly static one (the clock changes
// every second) and a changing one (a large window scrolls every second).
// It reports the bytes the frames take (MiB), the frames kept, the
// seconds of pre-roll the buffer still reaches back (reach_s), and the CPU
// time per recorded frame. The changing screen is also measured with
// frames scaled to 1280 pixels wide (screen.max_width: 1280).
func BenchmarkBufferFiveMinutesDesktop(b *testing.B) {
	frames := 300
	if testing.Short() {
		frames = 20 // the smoke run of scripts/test: does it work, not how fast
	}
	cases := []struct {
		activity string
		maxWidth int
	}{{screenIdle, 1920}, {screenClock, 1920}, {screenScrolled, 1920}, {screenScrolled, 1280}}
	for _, tc := range cases {
		activity := tc.activity
		b.Run(fmt.Sprintf("screen=%s/size=1920x1080/max_width=%d/fps=1", activity, tc.maxWidth), func(b *testing.B) {
			d := newDesktop(1920, 1080)
			cfg := DefaultConfig()
			cfg.Screen.MaxWidth = tc.maxWidth
			for b.Loop() {
				buf, err := NewBuffers(cfg, nil)
				require.NoError(b, err)
				start := time.Now()
				cpu := fiveMinutes(b, buf, d, activity, start, frames)
				st := buf.Stats()
				b.ReportMetric(float64(st.ScreenBytes)/(1<<20), "MiB")
				b.ReportMetric(float64(st.Frames), "frames")
				buf.mu.Lock()
				reach := buf.now().Sub(buf.frames.items[0].Time).Seconds()
				buf.mu.Unlock()
				b.ReportMetric(min(reach, float64(frames)), "reach_s")
				b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(frames), "cpu_ms/frame")
			}
		})
	}
}

// BenchmarkPackageMinute writes the evidence package of one minute of
// screen (60 frames at one frame a second, already in the buffers) plus
// keystrokes, with and without the full-resolution alert screenshot, and
// reports the write time (ns/op is wall time; cpu_ms the process's CPU
// time), the package's size on disk in MB (package_MB) and the frames in
// it.
func BenchmarkPackageMinute(b *testing.B) {
	for _, activity := range []string{screenClock, screenScrolled} {
		for _, shot := range []bool{false, true} {
			b.Run(fmt.Sprintf("screen=%s/screenshot=%v/minutes=1", activity, shot), func(b *testing.B) {
				d := newDesktop(1920, 1080)
				g := &seqGrabber{next: func(int) *image.RGBA { return d.img }}
				f := newFixture(b, DefaultConfig(), g)
				end := time.Now()
				start := end.Add(-time.Minute)
				fiveMinutes(b, f.buf, d, activity, start, 60)
				f.buf.now = time.Now
				for i := range 600 {
					f.buf.RecordKeystroke(Keystroke{Time: start.Add(time.Duration(i) * 100 * time.Millisecond), Window: "report.odt - Writer", App: "soffice", Text: "word "})
				}
				spec := policies.EvidenceSpec{Screenshot: shot, Video: roll(time.Minute, 0), Keystrokes: roll(time.Minute, 0)}
				var cpu time.Duration
				var size int64
				frames, n := 0, 0
				for b.Loop() {
					n++
					c0 := procstat.Take().CPU
					res, err := f.rec.Capture(context.Background(), Request{AlertID: fmt.Sprintf("bench-%d", n), Time: end,
						RuleIDs: []string{"usb-mass-copy"}, Severity: "high", Host: "ws-042", User: "jdoe", Spec: spec})
					if err != nil {
						b.Fatal(err)
					}
					cpu += procstat.Take().CPU - c0
					b.StopTimer()
					size = dirSize(b, res.Dir)
					frames = res.Manifest.Frames.Count
					require.NoError(b, os.RemoveAll(res.Dir))
					b.StartTimer()
				}
				b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(n), "cpu_ms")
				b.ReportMetric(float64(size)/1e6, "package_MB")
				b.ReportMetric(float64(frames), "frames")
			})
		}
	}
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	require.NoError(b, filepath.WalkDir(dir, func(_ string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		fi, err := e.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	}))
	return n
}

// BenchmarkBuffering runs the recorder as the agent does (x11 backend, one
// frame a second, default settings) on a private 1920x1080 Xvfb showing the
// synthetic desktop for VIGIL_BENCH_IDLE (3 s by default, for the benchmark
// smoke; scripts/bench-sensors sets 30 s), with the
// screen idle, its clock changing every second, or a large window
// scrolling every second (the changes are painted by a child process, see
// startPainter). It reports the recording process's CPU as a percentage
// of one core (cpu_pct), the X server's (xvfb_cpu_pct), the painter's
// (painter_cpu_pct, 0 when it paints in process), memory, and what the
// buffer holds at the end (buffer_MiB).
func BenchmarkBuffering(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("X11 only")
	}
	period := 3 * time.Second
	if p, err := time.ParseDuration(os.Getenv("VIGIL_BENCH_IDLE")); err == nil && p > 0 {
		period = p
	}
	xvfb.Start(b, 1920, 1080)
	for _, activity := range []string{screenIdle, screenClock, screenScrolled} {
		b.Run("screen="+activity+"/size=1920x1080/fps=1", func(b *testing.B) {
			p := startPainter(b, activity)
			defer p.stop()
			g, err := screen.New("x11")
			require.NoError(b, err)
			defer g.Close()
			f := newFixture(b, DefaultConfig(), g)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { _ = f.rec.Run(ctx) })
			defer func() { cancel(); wg.Wait() }()
			time.Sleep(3 * time.Second) // the first frames are encoded whatever the screen does
			for b.Loop() {
				runtime.GC()
				_ = procstat.ResetPeak()
				x0, p0 := xvfbCPU(), p.cpu()
				start := procstat.Take()
				time.Sleep(period)
				u := procstat.Since(start)
				procstat.Report(b, u)
				b.ReportMetric(100*float64(xvfbCPU()-x0)/float64(u.Wall), "xvfb_cpu_pct")
				b.ReportMetric(100*float64(p.cpu()-p0)/float64(u.Wall), "painter_cpu_pct")
				b.ReportMetric(float64(f.buf.Stats().ScreenBytes)/(1<<20), "buffer_MiB")
			}
			b.ReportMetric(procstat.LoadAverage(), "load1")
		})
	}
}
