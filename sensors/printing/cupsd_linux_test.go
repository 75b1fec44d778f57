//go:build linux

package printing

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

// cupsd is a private CUPS scheduler listening on a unix socket in a temp
// dir, with one printer that writes what it prints to a file.
type cupsd struct {
	dir, sock, pageLog, conf, printer string
}

// startCupsd starts the private cupsd. For a benchmark (burst), the queue
// keeps any number of jobs (MaxJobs 0) and prints to /dev/null, since a
// burst queues a thousand of them.
func startCupsd(t testing.TB, burst bool) *cupsd {
	t.Helper()
	xvfb.NeedCommand(t, "cupsd", "cups")
	xvfb.NeedCommand(t, "lp", "cups-client")
	if os.Geteuid() != 0 {
		if xvfb.Required() {
			t.Fatal("the private cupsd needs root (filters run as lp)")
		}
		t.Skip("the private cupsd needs root")
	}
	const ppd = "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd"
	if _, err := os.Stat(ppd); err != nil {
		if xvfb.Required() {
			t.Fatalf("%s missing (Debian package printer-driver-cups-pdf)", ppd)
		}
		t.Skipf("%s missing: install printer-driver-cups-pdf", ppd)
	}
	dir := t.TempDir()
	// Filters run as lp and must reach the spool files.
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	c := &cupsd{dir: dir, sock: filepath.Join(dir, "cups.sock"), pageLog: filepath.Join(dir, "log", "page_log"),
		conf: filepath.Join(dir, "cupsd.conf"), printer: "Vigil_Test"}
	device, limits := "file://"+dir+"/out/printed.ps", ""
	if burst {
		c.printer, device, limits = "Vigil_Bench", "file:///dev/null", "MaxJobs 0\nPreserveJobFiles No\n"
	}
	for _, d := range []string{"spool", "tmp", "cache", "state", "log", "ppd", "out"} {
		require.NoError(t, os.Mkdir(filepath.Join(dir, d), 0o755))
	}
	require.NoError(t, os.Chmod(filepath.Join(dir, "tmp"), 0o1777))
	require.NoError(t, os.Chmod(filepath.Join(dir, "out"), 0o777))
	ppdData, err := os.ReadFile(ppd)
	require.NoError(t, err)
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
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
LogLevel info
%sPageLogFormat %s
Browsing No
WebInterface No
<Location />
  Order allow,deny
  Allow all
</Location>
`, c.sock, limits, PageLogFormat))
	write("printers.conf", fmt.Sprintf(`<DefaultPrinter %s>
Info Vigil test printer
DeviceURI %s
State Idle
Accepting Yes
Shared No
</DefaultPrinter>
`, c.printer, device))
	cmd := exec.Command("cupsd", "-f", "-c", c.conf, "-s", filepath.Join(dir, "cups-files.conf"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			errorLog, _ := os.ReadFile(filepath.Join(dir, "log", "error_log"))
			t.Logf("cupsd output: %s\nerror_log:\n%s", &out, errorLog)
		}
	})
	require.Eventually(t, func() bool {
		// lpstat falls back to the default server while the socket is
		// missing, so wait for the socket and for our printer.
		if _, err := os.Stat(c.sock); err != nil {
			return false
		}
		return exec.Command("lpstat", "-h", c.sock, "-p", c.printer).Run() == nil
	}, 30*time.Second, 50*time.Millisecond, "cupsd did not start: %s", &out)
	return c
}

// print submits a document of pages pages, copies times, and returns the
// job id.
func (c *cupsd) print(t *testing.T, title string, pages, copies int) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%%!PS-Adobe-3.0\n%%%%Pages: %d\n%%%%EndComments\n", pages)
	for i := 1; i <= pages; i++ {
		fmt.Fprintf(&b, "%%%%Page: %d %d\n/Helvetica findfont 24 scalefont setfont 72 720 moveto (Page %d) show showpage\n", i, i, i)
	}
	b.WriteString("%%EOF\n")
	doc := filepath.Join(c.dir, "doc.ps")
	require.NoError(t, os.WriteFile(doc, []byte(b.String()), 0o644))
	out, err := exec.Command("lp", "-h", c.sock, "-d", c.printer, "-n", fmt.Sprint(copies), "-t", title, doc).CombinedOutput()
	require.NoError(t, err, "lp: %s", out)
	// "request id is Vigil_Test-3 (1 file(s))"
	f := strings.Fields(string(out))
	require.GreaterOrEqual(t, len(f), 4, "lp output: %s", out)
	id := f[3][strings.LastIndexByte(f[3], '-')+1:]
	return id
}

func TestRealCupsdPrintJob(t *testing.T) {
	c := startCupsd(t, false)
	cfg := DefaultConfig()
	cfg.PageLog, cfg.CupsdConf, cfg.PollInterval = c.pageLog, c.conf, 20*time.Millisecond
	data := t.TempDir()
	s := New(cfg, sensors.Env{DataDir: data})
	col, stop := sensortest.Start(t, s)

	id := c.print(t, "Quarterly report Q3", 5, 3)
	require.Eventually(t, func() bool { return col.Len() >= 1 }, 60*time.Second, 20*time.Millisecond)
	ev := col.All()[0]
	require.NoError(t, ev.Validate())
	require.Equal(t, event.ActionPrintJob, ev.Event.Action)
	require.Equal(t, Name, ev.Event.Module)
	require.Equal(t, &event.Print{Printer: c.printer, JobID: id, Pages: 15, Copies: 3, DocumentTitle: "Quarterly report Q3"}, ev.Print)
	require.Equal(t, "root", ev.User.Name)
	require.Equal(t, "0", ev.User.ID)
	require.Equal(t, "event", ev.Event.Kind)
	require.Equal(t, sensors.StateOK, s.Health().State)
	require.Equal(t, uint64(1), s.Health().Events)
	stop()
	require.Len(t, col.All(), 1, "one job, one event")

	// While the sensor is down, a job prints; the restarted sensor reports
	// it once and does not report the first job again.
	id2 := c.print(t, "while down", 2, 1)
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(c.pageLog)
		return strings.Contains(string(b), " "+id2+" [")
	}, 60*time.Second, 20*time.Millisecond)
	s2 := New(cfg, sensors.Env{DataDir: data})
	col2, _ := sensortest.Start(t, s2)
	id3 := c.print(t, "after restart", 1, 2)
	require.Eventually(t, func() bool { return col2.Len() >= 2 }, 60*time.Second, 20*time.Millisecond)
	evs := col2.All()
	require.Len(t, evs, 2)
	require.Equal(t, id2, evs[0].Print.JobID)
	require.Equal(t, int64(2), evs[0].Print.Pages)
	require.Equal(t, "while down", evs[0].Print.DocumentTitle)
	require.Equal(t, id3, evs[1].Print.JobID)
	require.Equal(t, int64(2), evs[1].Print.Pages)
	require.Equal(t, int64(2), evs[1].Print.Copies)
}
