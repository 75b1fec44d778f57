package browser

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
)

// TestRealChromium has the real Chromium visit a page and download a file
// while the sensor runs. Chromium resolves www.dropbox.com and
// dl.dropboxusercontent.com to a local TLS test server, saves the file in
// the home's Downloads, and writes the visit and the download to a History
// database it creates and keeps locked. The sensor reports both, classified
// by the shipped list, with the query strings removed.
func TestRealChromium(t *testing.T) {
	xvfb.NeedCommand(t, "chromium", "chromium")
	payload := strings.Repeat("q3 figures\n", 500)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == "dl.dropboxusercontent.com" {
			w.Header().Set("Content-Type", "application/vnd.ms-excel")
			w.Header().Set("Content-Disposition", `attachment; filename="q3.xlsx"`)
			fmt.Fprint(w, payload)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>q3.xlsx - Dropbox</title>
<a id="dl" href="https://dl.dropboxusercontent.com/s/abc/q3.xlsx?dl=1&rlkey=secret">download</a>
<script>document.getElementById("dl").click()</script>`)
	}))
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)

	root := t.TempDir()
	home := filepath.Join(root, "home", "carol")
	userData := filepath.Join(home, ".config", "chromium")
	require.NoError(t, os.MkdirAll(userData, 0o700))
	_, c, _ := runSensor(t, testConfig(root), t.TempDir())

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "chromium",
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
		// Both names are on the HSTS preload list: the pages must come over
		// TLS, from the test server's own certificate.
		"--ignore-certificate-errors",
		"--host-resolver-rules=MAP www.dropbox.com 127.0.0.1:"+port+", MAP dl.dropboxusercontent.com 127.0.0.1:"+port,
		"--user-data-dir="+userData,
		"https://www.dropbox.com/s/abc/q3.xlsx?dl=0&rlkey=secret")
	cmd.Env = append(os.Environ(), "HOME="+home)
	stderr, err := os.Create(filepath.Join(root, "chromium.log"))
	require.NoError(t, err)
	defer stderr.Close()
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 10 * time.Second
	require.NoError(t, cmd.Start())
	pgid := cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }) // Chromium's helpers, if any outlive it

	saved := filepath.Join(home, "Downloads", "q3.xlsx")
	require.Eventually(t, func() bool {
		fi, err := os.Stat(saved)
		return err == nil && fi.Size() == int64(len(payload))
	}, 30*time.Second, 20*time.Millisecond, "chromium saved no download: %s", logTail(root))

	// Chromium commits its history database every 10 seconds (not on a
	// signal): the sensor reads it while Chromium runs and holds its lock.
	visit := c.waitForWithin(t, 40*time.Second, event.ActionWebVisit, "https://www.dropbox.com/s/abc/q3.xlsx")
	require.Equal(t, "dropbox", visit.Destination.CloudProvider)
	require.Equal(t, "cloud-storage", visit.URL.Category)
	require.Equal(t, "chromium", visit.Process.Name)
	require.Equal(t, "chromium", visit.Labels["browser"])
	require.Equal(t, "Default", visit.Labels["profile"])
	require.Equal(t, "q3.xlsx - Dropbox", visit.Labels["title"])
	require.WithinDuration(t, time.Now(), visit.Timestamp, 5*time.Minute)

	dl := c.waitForWithin(t, 40*time.Second, event.ActionWebDownload, "https://dl.dropboxusercontent.com/s/abc/q3.xlsx")
	require.Equal(t, "success", dl.Event.Outcome)
	require.Equal(t, saved, dl.File.Path)
	require.Equal(t, int64(len(payload)), dl.File.Size)
	require.Equal(t, "dropbox", dl.Destination.CloudProvider)
	require.Equal(t, "https://www.dropbox.com/s/abc/q3.xlsx", dl.Labels["page_url"])
	for _, ev := range c.events() {
		require.NotContains(t, ev.URL.Full, "secret")
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	_ = cmd.Wait() // exits with the signal's status
}

// logTail returns the last lines Chromium wrote to its log, for failures.
func logTail(root string) string {
	data, _ := os.ReadFile(filepath.Join(root, "chromium.log"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}
