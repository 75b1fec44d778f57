package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/syncbuf"
	"github.com/vigil-itm/vigil/internal/testrun"
)

// runningServer is `vigil run` on a data directory, serving until stop.
type runningServer struct {
	base, token string
	// out is what the command printed.
	out  *syncbuf.Buffer
	stop func()
}

// startRun runs `vigil run` on dir (listening on a free port) with the
// local agent local, waits for it to serve and reads its admin token. The
// test's cleanup stops it, if the test did not, and checks that it stopped
// cleanly.
func startRun(t *testing.T, dir string, local *localAgent) runningServer {
	t.Helper()
	out := &syncbuf.Buffer{}
	e := &env{stdin: strings.NewReader(""), stdout: out, stderr: io.Discard, logger: slog.New(slog.DiscardHandler)}
	var c ServerConfig
	c.DataDir = dir
	c.API.ListenAddr = "127.0.0.1:0"
	require.NoError(t, c.Validate())
	stop := testrun.Start(t, "vigil run", time.Minute, func(ctx context.Context) error { return e.serve(ctx, &c, local) })
	addr := regexp.MustCompile(`API (http://[0-9.:]+)/api/v1`)
	var base string
	require.Eventually(t, func() bool {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		return base != ""
	}, 20*time.Second, 50*time.Millisecond, out.String())
	raw, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	require.NoError(t, err)
	return runningServer{base: base, token: strings.TrimSpace(string(raw)), out: out, stop: stop}
}

// serverOnly is the local agent of `vigil run --no-agent`.
func serverOnly(dir string) *localAgent {
	return &localAgent{dataDir: filepath.Join(dir, "agent"), noAgent: true, version: "test"}
}

func (s runningServer) do(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	require.Equal(t, http.StatusOK, resp.StatusCode, m)
	return m
}

// usbPhotos is an ingest batch of n copies of an unremarkable file to a USB
// drive by one user, a second apart from at.
func usbPhotos(seq int, at time.Time, n int) string {
	events := make([]string, n)
	for i := range n {
		ts := at.Add(time.Duration(i) * time.Second)
		events[i] = fmt.Sprintf(`{"@timestamp": %q, "event": {"id": %q, "action": "file-copied-to-removable"},
			"user": {"name": "mlee"}, "host": {"name": "ws-7"},
			"file": {"path": "/media/mlee/KINGSTON/beach-%d.jpg", "size": 5000},
			"volume": {"removable": true, "bus_type": "usb"}}`,
			ts.Format(time.RFC3339Nano), event.NewID(ts), seq*1000+i)
	}
	return fmt.Sprintf(`{"seq": %d, "events": [%s]}`, seq, strings.Join(events, ","))
}

// TestRunKeepsRuleStateAcrossRestarts: the server's rule windows survive a
// restart of `vigil run`: 30 USB copies before it and 20 after reach the
// library's usb-mass-copy bound (50 in 10 minutes).
func TestRunKeepsRuleStateAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	at := time.Now().UTC().Add(-5 * time.Minute)
	s := startRun(t, dir, serverOnly(dir))
	res := s.do(t, http.MethodPost, "/api/v1/events", usbPhotos(1, at, 30))
	require.EqualValues(t, 30, res["stored"])
	s.stop()
	fi, err := os.Stat(filepath.Join(dir, "state", "rules.state"))
	require.NoError(t, err, "saved at stop")
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	s = startRun(t, dir, serverOnly(dir))
	res = s.do(t, http.MethodPost, "/api/v1/events", usbPhotos(2, at.Add(30*time.Second), 20))
	require.EqualValues(t, 20, res["stored"])
	list := s.do(t, http.MethodGet, "/api/v1/alerts?rule=usb-mass-copy", "")
	alerts, ok := list["alerts"].([]any)
	require.True(t, ok, list)
	require.Len(t, alerts, 1, "the 50th copy fires: the restarted server remembered the first 30")
}
