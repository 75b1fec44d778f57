//go:build linux

package printing

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensorbench"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

// benchCupsd starts a private cupsd like startCupsd, for a benchmark: no
// limit on the jobs it keeps (MaxJobs 0), since the burst queues a
// thousand of them.
func benchCupsd(b testing.TB) *cupsd {
	b.Helper()
	xvfb.NeedCommand(b, "cupsd", "cups")
	xvfb.NeedCommand(b, "lp", "cups-client")
	if os.Geteuid() != 0 {
		if xvfb.Required() {
			b.Fatal("the private cupsd needs root (filters run as lp)")
		}
		b.Skip("the private cupsd needs root")
	}
	const ppd = "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd"
	ppdData, err := os.ReadFile(ppd)
	if err != nil {
		if xvfb.Required() {
			b.Fatalf("%s missing (Debian package printer-driver-cups-pdf)", ppd)
		}
		b.Skipf("%s missing: install printer-driver-cups-pdf", ppd)
	}
	dir := b.TempDir()
	require.NoError(b, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(b, os.Chmod(dir, 0o755))
	c := &cupsd{dir: dir, sock: filepath.Join(dir, "cups.sock"), pageLog: filepath.Join(dir, "log", "page_log"),
		conf: filepath.Join(dir, "cupsd.conf"), printer: "Vigil_Bench"}
	for _, d := range []string{"spool", "tmp", "cache", "state", "log", "ppd", "out"} {
		require.NoError(b, os.Mkdir(filepath.Join(dir, d), 0o755))
	}
	require.NoError(b, os.Chmod(filepath.Join(dir, "tmp"), 0o1777))
	require.NoError(b, os.Chmod(filepath.Join(dir, "out"), 0o777))
	write := func(name, text string) {
		require.NoError(b, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	write(filepath.Join("ppd", c.printer+".ppd"), string(ppdData))
	write("cups-files.conf", fmt.Sprintf(`ServerRoot %[1]s
RequestRoot %[1]s/spool
TempDir %[1]s/tmp
CacheDir %[1]s/cache
StateDir %[1]s/state
AccessLog %[1]s/log/access_log
ErrorLog %[1]s/log/error_log
PageLog %[1]s/log/page_log
FileDevice Yes
Sandboxing relaxed
`, dir))
	write("cupsd.conf", fmt.Sprintf(`Listen %s
LogLevel warn
MaxJobs 0
PreserveJobFiles No
PageLogFormat %s
Browsing No
WebInterface No
<Location />
  Order allow,deny
  Allow all
</Location>
`, c.sock, PageLogFormat))
	write("printers.conf", fmt.Sprintf(`<DefaultPrinter %s>
Info Vigil benchmark printer
DeviceURI file:///dev/null
State Idle
Accepting Yes
Shared No
</DefaultPrinter>
`, c.printer))
	cmd := exec.Command("cupsd", "-f", "-c", c.conf, "-s", filepath.Join(dir, "cups-files.conf"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(b, cmd.Start())
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	require.Eventually(b, func() bool {
		if _, err := os.Stat(c.sock); err != nil {
			return false
		}
		return exec.Command("lpstat", "-h", c.sock, "-p", c.printer).Run() == nil
	}, 30*time.Second, 50*time.Millisecond, "cupsd did not start: %s", &out)
	return c
}

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
		c := benchCupsd(b)
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
