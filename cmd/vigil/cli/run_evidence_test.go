package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence"
)

// TestRunCapturesVerifiableEvidence: in `vigil run`, a file copied into a
// personal Dropbox folder breaks a library rule that asks for evidence; the
// local agent captures a package, the server verifies and countersigns it,
// and a third party verifies the downloaded package with nothing but the
// vigil binary and the two public keys.
func TestRunCapturesVerifiableEvidence(t *testing.T) {
	dir := t.TempDir()
	sync := filepath.Join(dir, "home", "Dropbox")
	require.NoError(t, os.MkdirAll(sync, 0o700))
	agentDir := filepath.Join(dir, "agent")
	require.NoError(t, os.MkdirAll(agentDir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(agentDir, "agent.yml"), fmt.Appendf(nil, `flush_interval: 50ms
heartbeat_interval: 200ms
sensors:
  cloudsync: {homes: [], default_folders: false, settle: 100ms, folders: [{path: %s, provider: dropbox}]}
`, sync), 0o600))

	run := startRun(t, dir, &localAgent{dataDir: agentDir, sensors: []string{"cloudsync"}, version: "test"})
	base, token, out := run.base, run.token, run.out
	get := func(path string, v any) int {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		if v != nil {
			if b, ok := v.(*[]byte); ok {
				*b = body
			} else {
				require.NoError(t, json.Unmarshal(body, v), "%s", body)
			}
		}
		return resp.StatusCode
	}

	// Wait for the agent, then copy a file into the personal Dropbox.
	require.Eventually(t, func() bool {
		var l struct {
			Agents []struct {
				Sensors json.RawMessage `json:"sensors"`
			} `json:"agents"`
		}
		// The sensor reports ok once its watches are in place.
		return get("/api/v1/agents", &l) == http.StatusOK && len(l.Agents) == 1 &&
			strings.Contains(string(l.Agents[0].Sensors), `"cloudsync":{"state":"ok"`)
	}, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, os.WriteFile(filepath.Join(sync, "q3-forecast.xlsx"), []byte("numbers"), 0o600))

	var alerts struct {
		Alerts []struct {
			ID string `json:"id"`
		} `json:"alerts"`
	}
	require.Eventually(t, func() bool {
		return get("/api/v1/alerts?rule=cloud-sync-personal", &alerts) == http.StatusOK && len(alerts.Alerts) == 1
	}, 30*time.Second, 100*time.Millisecond, out.String())
	var ev struct {
		Evidence []struct {
			PackageID string `json:"package_id"`
			Verified  bool   `json:"verified"`
		} `json:"evidence"`
	}
	require.Eventually(t, func() bool {
		return get("/api/v1/alerts/"+alerts.Alerts[0].ID+"/evidence", &ev) == http.StatusOK && len(ev.Evidence) == 1
	}, 30*time.Second, 100*time.Millisecond)
	require.True(t, ev.Evidence[0].Verified, "the server verified the package on receipt")

	// The package travelled sealed: the agent had the server's seal key
	// from enrollment, and the receipt's hash is that of a sealed file.
	creds, err := os.ReadFile(filepath.Join(agentDir, "agent.json"))
	require.NoError(t, err)
	sealKey, err := os.ReadFile(filepath.Join(dir, "server-evidence-seal-key.pem"))
	require.NoError(t, err)
	seal, err := evidence.LoadOrCreateSealKey(filepath.Join(dir, "server-evidence-seal-key.pem"))
	require.NoError(t, err)
	require.NotEmpty(t, sealKey)
	require.Contains(t, string(creds), `"server_seal_key": "`+evidence.MarshalSealPublicKey(seal.PublicKey())+`"`)
	receipts, err := filepath.Glob(filepath.Join(dir, "evidence", "*.json"))
	require.NoError(t, err)
	require.Len(t, receipts, 1)
	receipt, err := os.ReadFile(receipts[0])
	require.NoError(t, err)
	require.Contains(t, string(receipt), `"sealed":true`, "the upload was sealed")

	// A third party: the zip, the agent's public key and the server's.
	var zip []byte
	require.Equal(t, http.StatusOK, get("/api/v1/evidence/"+ev.Evidence[0].PackageID+"?reason=test+hand-over", &zip))
	pkg := filepath.Join(t.TempDir(), "evidence.zip")
	require.NoError(t, os.WriteFile(pkg, zip, 0o600))
	var agents struct {
		Agents []struct {
			EvidenceKey string `json:"evidence_key"`
		} `json:"agents"`
	}
	require.Equal(t, http.StatusOK, get("/api/v1/agents", &agents))
	rawKey, err := base64.StdEncoding.DecodeString(agents.Agents[0].EvidenceKey)
	require.NoError(t, err)
	agentPEM, err := evidence.MarshalPublicKey(rawKey)
	require.NoError(t, err)
	agentKey := filepath.Join(t.TempDir(), "agent.pub")
	require.NoError(t, os.WriteFile(agentKey, agentPEM, 0o600))

	var stdout, stderr bytes.Buffer
	code := Main([]string{"evidence", "verify", pkg, "--key", agentKey, "--server-key", filepath.Join(dir, "server-evidence-key.pub"),
		"--require-countersig"}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, ExitOK, code, "%s%s", stdout.String(), stderr.String())

	// The view was audited with its reason.
	var audit struct {
		Entries []struct {
			Action string `json:"action"`
			Reason string `json:"reason"`
		} `json:"entries"`
	}
	require.Equal(t, http.StatusOK, get("/api/v1/audit?action=evidence.download", &audit))
	require.Len(t, audit.Entries, 1)
	require.Equal(t, "test hand-over", audit.Entries[0].Reason)
}
