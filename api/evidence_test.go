package api

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/store"
)

// refusingArchive is an EvidenceArchive for the tests of what the server
// refuses before any package is read: every method fails the test. The
// real archive (cmd/vigil/cli wiring over the evidence package) is tested
// end to end in cmd/vigil/cli and console.
type refusingArchive struct{ t *testing.T }

func (a refusingArchive) Unpack(string, string) error {
	a.t.Error("Unpack called")
	return os.ErrInvalid
}

func (a refusingArchive) Manifest(string) (EvidenceManifest, error) {
	a.t.Error("Manifest called")
	return EvidenceManifest{}, os.ErrInvalid
}

func (a refusingArchive) Verify(string, ed25519.PublicKey) (EvidenceVerdict, error) {
	a.t.Error("Verify called")
	return EvidenceVerdict{}, os.ErrInvalid
}

func (a refusingArchive) Countersign(string) error {
	a.t.Error("Countersign called")
	return os.ErrInvalid
}

func (a refusingArchive) Zip(string, io.Writer) error {
	a.t.Error("Zip called")
	return os.ErrInvalid
}

func (refusingArchive) SealKey() string { return "" }

func (a refusingArchive) Unseal(path string) (string, bool, error) { return path, false, nil }

func (refusingArchive) ServerKey() ed25519.PublicKey {
	return make(ed25519.PublicKey, ed25519.PublicKeySize)
}

func withEvidence(t *testing.T, env *testEnv, dir string) {
	t.Helper()
	env.srv.cfg.EvidenceDir = dir
	env.srv.deps.EvidenceArchive = refusingArchive{t}
}

// TestEvidenceRefusesBadIDsAndPaths: ids and file paths that could leave
// the evidence directory are refused before anything touches the disk, and
// every view needs a reason.
func TestEvidenceRefusesBadIDsAndPaths(t *testing.T) {
	env := newTestEnv(t)
	withEvidence(t, env, t.TempDir())
	for _, path := range []string{
		// Encoded slashes: no such endpoint at all.
		"/api/v1/evidence/..%2F..%2Fetc%2Fpasswd?reason=x",
		"/api/v1/evidence/..%2F..%2Fetc/file?path=passwd&reason=x",
		// One segment that is not a package id.
		"/api/v1/evidence/..?reason=x",
		"/api/v1/evidence/ABCDEF0123456789ABCDEF0123456789?reason=x",
		"/api/v1/evidence/..%5C..%5Csecret/file?path=manifest.json&reason=x",
	} {
		r := env.do(store.RoleAnalyst, http.MethodGet, path, nil)
		require.Contains(t, []Code{CodeInvalidArgument, CodeNotFound}, r.errorCode(t), "%s: %s", path, r.body)
		require.Contains(t, []int{http.StatusBadRequest, http.StatusNotFound}, r.status, path)
	}
	id := "0123456789abcdef0123456789abcdef"
	r := env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/evidence/"+id, nil)
	require.Equal(t, CodeReasonRequired, r.errorCode(t))
	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/evidence/"+id+"?reason=x", nil)
	require.Equal(t, http.StatusNotFound, r.status, "%s", r.body)
	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/evidence/"+id+"?reason=x", nil)
	require.Equal(t, http.StatusForbidden, r.status)
	r = env.do(store.RoleAnalyst, http.MethodPost, "/api/v1/evidence/"+id+"/verify", `{}`)
	require.Equal(t, CodeReasonRequired, r.errorCode(t))

	// A stored package: file paths must stay inside it.
	dir := filepath.Join(env.srv.cfg.EvidenceDir, id)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "frames"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(env.srv.cfg.EvidenceDir, "secret"), []byte("TOP-SECRET"), 0o600))
	require.NoError(t, env.db.Evidence().Add(t.Context(), store.EvidenceRecord{PackageID: id, AlertID: "A1", Path: id}))
	for _, p := range []string{"../secret", "/etc/passwd", "frames/../../secret", "frames", `..\secret`, ""} {
		r := env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/evidence/"+id+"/file?reason=x&path="+urlQueryEscape(p), nil)
		require.Contains(t, []int{http.StatusBadRequest, http.StatusNotFound}, r.status, "%q: %s", p, r.body)
		require.NotContains(t, string(r.body), "TOP-SECRET", "%q leaked a file", p)
	}
	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/evidence/"+id+"/file?reason=case+1&path=manifest.json", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, "{}", string(r.body))
	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/evidence/"+id+"/file?reason=case+1&path=manifest.json", nil)
	require.Equal(t, http.StatusOK, r.status)
	entries, _, err := env.db.Audit().List(t.Context(), store.AuditFilter{Action: "evidence.view"})
	require.NoError(t, err)
	require.Len(t, entries, 1, "one viewing, one audit entry")
	require.Equal(t, "case 1", entries[0].Reason)
}

func urlQueryEscape(s string) string {
	var b bytes.Buffer
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%")
		b.WriteString(string("0123456789ABCDEF"[c>>4]))
		b.WriteString(string("0123456789ABCDEF"[c&15]))
	}
	return b.String()
}

// TestEvidenceUploadFullDisk: an upload that does not fit on the evidence
// disk is 507 storage_full, and nothing of it is left behind.
func TestEvidenceUploadFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		if xvfb.Required() {
			t.Fatal("mounting a small tmpfs needs root; scripts/test runs as root in CI")
		}
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	env := newTestEnv(t)
	withEvidence(t, env, dir)

	// The agent token's agent, enrolled with an evidence key.
	pub, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	require.NoError(t, env.db.Agents().Add(t.Context(), store.Agent{ID: env.tokens[store.RoleAgent].ID, Name: "ws",
		EvidenceKey: base64.StdEncoding.EncodeToString(pub)}))

	big := make([]byte, 2<<20)
	_, _ = rand.Read(big)
	r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/evidence", big, "Content-Type", "application/zip")
	require.Equal(t, http.StatusInsufficientStorage, r.status, "%s", r.body)
	require.Equal(t, CodeStorageFull, r.errorCode(t))
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left, "nothing of the upload is kept")
}
