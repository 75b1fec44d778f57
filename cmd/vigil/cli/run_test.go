package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/store/sqlite"
)

func TestRunServesTheLibraryAndRaisesAlerts(t *testing.T) {
	dir := t.TempDir()
	run := startRun(t, dir, &localAgent{dataDir: filepath.Join(dir, "agent"), sensors: []string{"cloudsync"}, version: "test"})
	base, token, out := run.base, run.token, run.out

	tokenFile := filepath.Join(dir, "admin-token")
	st, err := os.Stat(tokenFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	require.Contains(t, out.String(), token, "the first start prints the token")

	do := func(method, path, body string) (int, map[string]any) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	code, res := do("POST", "/api/v1/events", `{"seq": 1, "events": [{"@timestamp": "2026-11-02T10:01:00Z",
		"event": {"id": "01JD8X3Q6P8M4B2V7K9T0R1S2B", "action": "file-copied-to-removable"},
		"user": {"name": "jdoe"}, "host": {"name": "ws-042"},
		"file": {"path": "/media/jdoe/KINGSTON/2026-10.xlsx", "source_path": "/srv/hr/payroll/2026-10.xlsx", "size": 48213},
		"volume": {"removable": true, "bus_type": "usb"}}]}`)
	require.Equal(t, http.StatusOK, code, res)
	require.EqualValues(t, 1, res["stored"])
	require.EqualValues(t, 1, res["alerts"])

	code, res = do("GET", "/api/v1/alerts", "")
	require.Equal(t, http.StatusOK, code, res)
	alerts, ok := res["alerts"].([]any)
	require.True(t, ok, res)
	require.Len(t, alerts, 1)
	a, ok := alerts[0].(map[string]any)
	require.True(t, ok)
	require.Equal(t, "jdoe", a["user"])
	require.Contains(t, a["rule_ids"], "usb-sensitive-file")

	// The local agent enrolled over the API and reports.
	require.Eventually(t, func() bool {
		code, res := do("GET", "/api/v1/agents", "")
		agents, _ := res["agents"].([]any)
		return code == http.StatusOK && len(agents) == 1
	}, 30*time.Second, 100*time.Millisecond)

	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestServerConfigIsStrict(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	require.NoError(t, os.WriteFile(good, []byte("data_dir: /var/lib/vigil\napi:\n  listen_addr: 127.0.0.1:8470\nretention:\n  events_days: 30\n"), 0o644))
	c, err := loadServerConfig(good)
	require.NoError(t, err)
	require.Equal(t, 30, c.Retention.EventsDays)
	require.Empty(t, c.storeOptions(nil, nil).Synchronous, "the store's default: normal")

	full := filepath.Join(dir, "full.yml")
	require.NoError(t, os.WriteFile(full, []byte("data_dir: /x\nstore:\n  synchronous: full\n"), 0o644))
	c, err = loadServerConfig(full)
	require.NoError(t, err)
	require.Equal(t, sqlite.SyncFull, c.storeOptions(nil, nil).Synchronous)

	for name, body := range map[string]string{
		"unknown-key.yml": "data_dir: /x\nlisten: 1\n",
		"no-dir.yml":      "api:\n  listen_addr: 127.0.0.1:8470\n",
		"negative.yml":    "data_dir: /x\nretention:\n  events_days: -1\n",
		"sync.yml":        "data_dir: /x\nstore:\n  synchronous: always\n",
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		_, err := loadServerConfig(p)
		require.Error(t, err, name)
		require.Contains(t, err.Error(), p)
	}
}
