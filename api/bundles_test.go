package api

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies"
	"github.com/vigil-itm/vigil/store"
)

// buildBundle builds a bundle directory written from files, signed with
// key (unsigned when key is nil).
func buildBundle(t *testing.T, files map[string]string, key []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
	}
	b, err := policies.LoadDir(dir)
	require.NoError(t, err)
	var buf bytes.Buffer
	opts := policies.BuildOptions{}
	if key != nil {
		opts.SigningKey = key
	}
	require.NoError(t, policies.Build(b, &buf, opts))
	return buf.Bytes()
}

func TestBundleUploadRefusesBadBundles(t *testing.T) {
	env := newTestEnv(t)
	otherPriv, _, err := policies.GenerateKey("ES256")
	require.NoError(t, err)
	lib, err := policies.Load(libraryDir)
	require.NoError(t, err)
	var otherSigned, unsigned bytes.Buffer
	require.NoError(t, policies.Build(lib, &otherSigned, policies.BuildOptions{Revision: "evil", SigningKey: otherPriv}))
	require.NoError(t, policies.Build(lib, &unsigned, policies.BuildOptions{Revision: "unsigned"}))
	good := libraryTarball(t, "0.2.0")
	tampered := bytes.Clone(good)
	tampered[len(tampered)/2] ^= 0xff

	for _, tt := range []struct {
		name   string
		body   []byte
		status int
		code   Code
	}{
		{"signed by another key", otherSigned.Bytes(), http.StatusUnprocessableEntity, CodeInvalidSignature},
		{"unsigned", unsigned.Bytes(), http.StatusUnprocessableEntity, CodeInvalidSignature},
		{"not a tarball", []byte("#!/bin/sh\nrm -rf /\n"), http.StatusUnprocessableEntity, CodeInvalidBundle},
		{"damaged in transit", tampered, http.StatusUnprocessableEntity, CodeInvalidBundle},
		{"empty", nil, http.StatusUnprocessableEntity, CodeInvalidBundle},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := env.do(store.RoleAdmin, http.MethodPost, "/api/v1/bundles", tt.body, "Content-Type", "application/gzip")
			require.Equal(t, tt.status, r.status, "%s", r.body)
			require.Equal(t, tt.code, r.errorCode(t), "%s", r.body)
		})
	}
	// Nothing was stored or audited.
	revs, err := env.db.Bundles().List(context.Background(), "")
	require.NoError(t, err)
	require.Empty(t, revs)
	entries, _, err := env.db.Audit().List(context.Background(), store.AuditFilter{})
	require.NoError(t, err)
	require.Empty(t, entries)

	r := env.do(store.RoleAdmin, http.MethodPost, "/api/v1/bundles", good, "Content-Type", "text/plain")
	require.Equal(t, http.StatusUnsupportedMediaType, r.status)
	r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/bundles", good, "Content-Type", "application/gzip", "Content-Encoding", "gzip")
	require.Equal(t, http.StatusUnsupportedMediaType, r.status)

	small := newTestEnv(t, func(c *Config) { c.MaxBundleBytes = 1024 })
	r = small.do(store.RoleAdmin, http.MethodPost, "/api/v1/bundles", good, "Content-Type", "application/gzip")
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	require.Equal(t, CodeBodyTooLarge, r.errorCode(t))

	nokey := newTestEnv(t, func(c *Config) { c.BundleKeyPEM = nil })
	r = nokey.do(store.RoleAdmin, http.MethodPost, "/api/v1/bundles", good, "Content-Type", "application/gzip")
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	require.Equal(t, CodeUnavailable, r.errorCode(t))
}

func TestBundleLifecycle(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	tarball := libraryTarball(t, "0.2.0")

	r := env.do(store.RoleAgent, http.MethodGet, "/api/v1/bundles/active", nil)
	require.Equal(t, http.StatusNotFound, r.status)

	r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/bundles", tarball, "Content-Type", "application/gzip")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var rev store.BundleRevision
	r.json(t, &rev)
	require.Equal(t, "vigil-library", rev.Name)
	require.Equal(t, "0.2.0", rev.Revision)
	require.Equal(t, "test-admin", rev.UploadedBy)
	require.False(t, rev.Active)

	// The same bytes again are harmless; other bytes under the same
	// revision are a conflict (ES256 signatures differ on every build).
	r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/bundles", tarball, "Content-Type", "application/gzip")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	keys, err := signingKeys()
	require.NoError(t, err)
	lib, err := policies.Load(libraryDir)
	require.NoError(t, err)
	var rebuilt bytes.Buffer
	require.NoError(t, policies.Build(lib, &rebuilt, policies.BuildOptions{Revision: "0.2.0", SigningKey: keys[0]}))
	r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/bundles", rebuilt.Bytes(), "Content-Type", "application/gzip")
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
	require.Equal(t, CodeConflict, r.errorCode(t))

	r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/bundles?name=vigil-library", nil)
	require.Equal(t, http.StatusOK, r.status)
	var list bundleList
	r.json(t, &list)
	require.Len(t, list.Bundles, 1)

	// Activation swaps the engine's program and is recorded.
	require.Equal(t, "0.1.0", env.live.Program().Revision())
	r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/bundles/vigil-library/0.2.0/activate", `{"reason": "quarterly update"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r.json(t, &rev)
	require.True(t, rev.Active)
	require.Equal(t, "0.2.0", env.live.Program().Revision())
	r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/bundles/vigil-library/9.9.9/activate", nil)
	require.Equal(t, http.StatusNotFound, r.status, "%s", r.body)

	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/bundles/activations", nil)
	require.Equal(t, http.StatusOK, r.status)
	var acts activationList
	r.json(t, &acts)
	require.Len(t, acts.Activations, 1)
	require.Equal(t, "quarterly update", acts.Activations[0].Reason)
	require.Equal(t, "test-admin", acts.Activations[0].ActivatedBy)

	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/audit", nil)
	var audit auditList
	r.json(t, &audit)
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Action+" "+e.Target+" "+e.Reason)
	}
	require.Equal(t, []string{
		"bundle.activate vigil-library@0.2.0 quarterly update",
		"bundle.upload vigil-library@0.2.0 ",
		"bundle.upload vigil-library@0.2.0 ",
	}, actions)

	// Agents fetch the active bundle, then only when it changes.
	r = env.do(store.RoleAgent, http.MethodGet, "/api/v1/bundles/active", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, tarball, r.body)
	etag := r.header.Get("ETag")
	require.Equal(t, rev.ETag(), etag)
	require.Equal(t, "application/gzip", r.header.Get("Content-Type"))
	require.Equal(t, "0.2.0", r.header.Get("X-Vigil-Bundle-Revision"))
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		r = env.do(store.RoleAgent, http.MethodGet, "/api/v1/bundles/active", nil, "If-None-Match", inm)
		require.Equal(t, http.StatusNotModified, r.status, inm)
		require.Empty(t, r.body)
		require.Equal(t, etag, r.header.Get("ETag"))
	}
	r = env.do(store.RoleAgent, http.MethodGet, "/api/v1/bundles/active", nil, "If-None-Match", `"stale"`)
	require.Equal(t, http.StatusOK, r.status)

	// A server (re)starting on the store follows the store's active bundle.
	ref, err := env.srv.LoadActiveBundle(ctx)
	require.NoError(t, err)
	require.Equal(t, "0.2.0", ref.Revision)
}

func TestBundleActivationThatDoesNotCompile(t *testing.T) {
	env := newTestEnv(t)
	keys, err := signingKeys()
	require.NoError(t, err)
	broken := buildBundle(t, map[string]string{
		".manifest":            `{"revision": "broken-1", "roots": ["vigil"], "metadata": {"name": "broken"}}`,
		"rules/r.yaml":         "- id: r1\n  title: t\n  severity: low\n  when: event.action == \"logon\"\n",
		"policy/decision.rego": "package vigil.decision\n\ndecision := {\"alert\": no_such_function(input)}\n",
	}, keys[0])
	r := env.do(store.RoleAdmin, http.MethodPost, "/api/v1/bundles", broken, "Content-Type", "application/gzip")
	// It loads (the signature and the files are fine) but does not compile.
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/bundles/broken/broken-1/activate", nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.body)
	require.Equal(t, CodeInvalidBundle, r.errorCode(t))
	require.Equal(t, "0.1.0", env.live.Program().Revision())
	_, err = env.db.Bundles().Active(context.Background())
	require.ErrorIs(t, err, store.ErrNotFound)
}
