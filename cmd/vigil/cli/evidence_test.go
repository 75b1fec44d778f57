package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence"
	"github.com/vigil-itm/vigil/policies"
)

// evidencePackage writes a small package signed with the key in keyPath.
func evidencePackage(t *testing.T, keyPath string) string {
	t.Helper()
	key, err := evidence.LoadPrivateKey(keyPath)
	require.NoError(t, err)
	buf, err := evidence.NewBuffers(evidence.DefaultConfig(), nil)
	require.NoError(t, err)
	rec, err := evidence.NewRecorder(evidence.RecorderOptions{Buffers: buf, Key: key, SpoolDir: t.TempDir()})
	require.NoError(t, err)
	now := time.Now()
	buf.RecordKeystroke(evidence.Keystroke{Time: now.Add(-time.Second), Window: "xterm", Text: "scp q3.xlsx home:"})
	buf.RecordClipboard(evidence.ClipboardEntry{Time: now.Add(-time.Second), Operation: "copy", Text: "q3", Length: 2})
	w := &policies.RollWindow{Before: policies.Duration(time.Minute)}
	res, err := rec.Capture(context.Background(), evidence.Request{AlertID: "cli-1", Time: now, RuleIDs: []string{"r1"},
		Severity: "high", User: "jdoe", Host: "ws-1", Spec: policies.EvidenceSpec{Keystrokes: w, Clipboard: w}})
	require.NoError(t, err)
	return res.Dir
}

func TestEvidenceCommands(t *testing.T) {
	d := t.TempDir()
	agentKey, serverKey := filepath.Join(d, "agent.key"), filepath.Join(d, "server.key")
	code, out, errOut := run(t, "evidence", "keygen", "--out", agentKey)
	require.Equal(t, ExitOK, code, errOut)
	require.Contains(t, out, "ed25519:")
	code, _, _ = run(t, "evidence", "keygen", "--out", agentKey)
	require.Equal(t, ExitError, code, "an existing key is never overwritten")
	code, _, errOut = run(t, "evidence", "keygen", "--out", serverKey)
	require.Equal(t, ExitOK, code, errOut)

	pkg := evidencePackage(t, agentKey)
	code, out, errOut = run(t, "evidence", "verify", "--key", agentKey+".pub", pkg)
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, out, "VERIFIED")
	require.Contains(t, out, "(pinned)")

	// The server verifies and countersigns; verify then checks both.
	code, out, errOut = run(t, "evidence", "countersign", "--key", serverKey, "--agent-key", agentKey+".pub", pkg)
	require.Equal(t, ExitOK, code, out+errOut)
	code, out, errOut = run(t, "evidence", "verify", "--json", "--key", agentKey+".pub", "--server-key", serverKey+".pub", "--require-countersig", pkg)
	require.Equal(t, ExitOK, code, out+errOut)
	var rep evidence.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.True(t, rep.OK)
	require.True(t, rep.Countersigned)

	zipPath := filepath.Join(d, "cli-1.zip")
	code, out, errOut = run(t, "evidence", "zip", pkg, "-o", zipPath)
	require.Equal(t, ExitOK, code, out+errOut)
	code, out, errOut = run(t, "evidence", "verify", "--key", agentKey+".pub", zipPath)
	require.Equal(t, ExitOK, code, out+errOut)

	handover := filepath.Join(d, "handover.zip")
	code, out, errOut = run(t, "evidence", "export", "--ffmpeg", "-", "--key", agentKey+".pub", "-o", handover, zipPath)
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, out, "video      none: the package has no screen frames")
	_, err := os.Stat(handover)
	require.NoError(t, err)

	// Tampering: exit 1 and the file named.
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "keystrokes.jsonl"), []byte(`{"t":"2026-01-01T00:00:00Z","text":"ls"}`+"\n"), 0o600))
	code, out, _ = run(t, "evidence", "verify", pkg)
	require.Equal(t, ExitFailed, code)
	require.Contains(t, out, "FAIL: keystrokes.jsonl: size")
	code, _, _ = run(t, "evidence", "export", "--ffmpeg", "-", "-o", filepath.Join(d, "x.zip"), pkg)
	require.Equal(t, ExitFailed, code)

	// Another agent's key: exit 1.
	code, out, _ = run(t, "evidence", "verify", "--key", serverKey+".pub", zipPath)
	require.Equal(t, ExitFailed, code)
	require.Contains(t, out, "not the trusted agent key")

	// Unreadable: exit 3.
	code, _, _ = run(t, "evidence", "verify", filepath.Join(d, "nope"))
	require.Equal(t, ExitError, code)
	code, _, _ = run(t, "evidence", "verify", "--key", filepath.Join(d, "nope.pub"), pkg)
	require.Equal(t, ExitError, code)
}
