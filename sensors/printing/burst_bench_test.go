//go:build linux

package printing

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensorbench"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

// BenchmarkBurstPrint submits print jobs (VIGIL_BENCH_PRINT_JOBS, which
// scripts/bench-sensors sets to 1,000; 100 by default, for the benchmark
// smoke) of a two-page PostScript document, two copies
// each, with lp to a private cupsd whose queue runs the real CUPS filters,
// four lp processes at a time, and counts the print-job events by job id:
// lost is how many jobs were never reported, wrong_pages how many were
// reported with other than 4 pages. CPU and memory are the sensor's (the
// benchmark process's) from the first lp until the last event; cupsd, its
// filters and lp run in their own processes.
func BenchmarkBurstPrint(b *testing.B) {
	jobs := 100
	if n, err := strconv.Atoi(os.Getenv("VIGIL_BENCH_PRINT_JOBS")); err == nil && n > 0 {
		jobs = n
	}
	b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
		c := startCupsd(b, true)
		doc := filepath.Join(c.dir, "doc.ps")
		require.NoError(b, os.WriteFile(doc, []byte("%!PS-Adobe-3.0\n%%Pages: 2\n%%EndComments\n"+
			"%%Page: 1 1\n/Helvetica findfont 24 scalefont setfont 72 720 moveto (Page 1) show showpage\n"+
			"%%Page: 2 2\n/Helvetica findfont 24 scalefont setfont 72 720 moveto (Page 2) show showpage\n%%EOF\n"), 0o644))
		for b.Loop() {
			cfg := DefaultConfig()
			cfg.PageLog, cfg.CupsdConf = c.pageLog, c.conf
			var mu sync.Mutex
			wrongPages := 0
			counter := &sensorbench.Counter{Key: func(e *event.Event) (string, bool) {
				if e.Event.Action != event.ActionPrintJob || e.Print == nil {
					return "", false
				}
				if e.Print.Pages != 4 {
					mu.Lock()
					wrongPages++
					mu.Unlock()
				}
				return e.Print.JobID, true
			}}
			s := New(cfg, sensors.Env{DataDir: b.TempDir()})
			stop := sensortest.Run(b, s, counter.Emit)
			sensortest.WaitState(b, s, sensors.StateOK, sensors.StateDegraded)
			lost := sensorbench.Measure(b, sensorbench.Burst{
				Want:  jobs,
				Got:   counter.Distinct,
				Quiet: time.Minute,
				Load: func() {
					var wg sync.WaitGroup
					next := make(chan int)
					for range 4 {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for i := range next {
								out, err := exec.Command("lp", "-h", c.sock, "-d", c.printer, "-n", "2", "-t", fmt.Sprintf("burst %d", i), doc).CombinedOutput()
								if err != nil {
									b.Errorf("lp: %v: %s", err, out)
								}
							}
						}()
					}
					for i := range jobs {
						next <- i
					}
					close(next)
					wg.Wait()
				},
			})
			b.ReportMetric(float64(counter.Duplicates()), "dup_events")
			b.ReportMetric(float64(wrongPages), "wrong_pages")
			b.Logf("health after the burst: %+v", s.Health())
			if lost > 0 {
				b.Errorf("%d of %d print jobs were not reported", lost, jobs)
			}
			stop()
		}
	})
}
