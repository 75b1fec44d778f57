package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/policies"
)

func TestSamplePackageVerifies(t *testing.T) {
	f, dir := samplePackage(t)
	rep, err := Verify(dir, VerifyOptions{AgentKey: publicOf(f.key)})
	require.NoError(t, err)
	require.True(t, rep.OK, "failures: %v", rep.Failures)
	require.True(t, rep.KeyPinned)
	require.Equal(t, "alert-1", rep.AlertID)
	require.Equal(t, KeyID(publicOf(f.key)), rep.SignedBy)
	require.Equal(t, 6, rep.FramesChecked)
	m := rep.Manifest
	require.False(t, m.Partial)
	require.Equal(t, []string{"usb-mass-copy"}, m.RuleIDs)
	require.Equal(t, "r1", m.Bundle.Revision)
	require.Equal(t, 6, m.Frames.Count)
	require.NotEmpty(t, m.Frames.ChainHead)
	paths := map[string]bool{}
	for _, fe := range m.Files {
		paths[fe.Path] = true
	}
	for _, want := range []string{"frames/000001.jpg", "frames/000006.jpg", FramesIndexFile, KeystrokesFile, ClipboardFile, SessionCastFile, ScreenshotFile} {
		require.True(t, paths[want], "package lists %s", want)
	}
	// The retention for "high" is in the manifest for the server to apply.
	require.Equal(t, m.AlertTime.Add(365*24*time.Hour), m.RetainUntil)

	// The keystrokes are there in order, as typed.
	data, err := os.ReadFile(filepath.Join(dir, KeystrokesFile))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 6)
	var k Keystroke
	require.NoError(t, json.Unmarshal([]byte(lines[5]), &k))
	require.Equal(t, "typed f", k.Text)

	// session.cast is asciicast v2 with the session's size.
	cast, err := os.ReadFile(filepath.Join(dir, SessionCastFile))
	require.NoError(t, err)
	castLines := strings.Split(strings.TrimSpace(string(cast)), "\n")
	var hdr map[string]any
	require.NoError(t, json.Unmarshal([]byte(castLines[0]), &hdr))
	require.InDelta(t, 2, hdr["version"], 0)
	require.InDelta(t, 100, hdr["width"], 0)
	require.InDelta(t, 30, hdr["height"], 0)
	require.Equal(t, `[1,"o","$ "]`, castLines[1])
	require.Equal(t, `[1.1,"i","ls\r"]`, castLines[2])

	// Without a pinned key the signature still checks, with a warning.
	rep, err = Verify(dir, VerifyOptions{})
	require.NoError(t, err)
	require.True(t, rep.OK)
	require.False(t, rep.KeyPinned)
	require.Contains(t, strings.Join(rep.Warnings, "\n"), "agent key not pinned")
}

func TestTamperingIsDetected(t *testing.T) {
	f, dir := samplePackage(t)
	other, err := GenerateKey()
	require.NoError(t, err)
	rewrite := func(t *testing.T, p string, fn func([]byte) []byte) {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, fn(data), 0o600))
	}
	editJSON := func(t *testing.T, p string, fn func(v any) any) {
		rewrite(t, p, func(b []byte) []byte {
			var v any
			require.NoError(t, json.Unmarshal(b, &v))
			out, err := json.MarshalIndent(fn(v), "", "  ")
			require.NoError(t, err)
			return out
		})
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, d string)
		opts   VerifyOptions
		want   []string
	}{
		{"one byte of a frame", func(t *testing.T, d string) {
			rewrite(t, filepath.Join(d, "frames", "000003.jpg"), func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
		}, VerifyOptions{}, []string{"frames/000003.jpg: sha256", "content altered"}},
		{"frame removed", func(t *testing.T, d string) {
			require.NoError(t, os.Remove(filepath.Join(d, "frames", "000004.jpg")))
		}, VerifyOptions{}, []string{"frames/000004.jpg: listed in the manifest but missing"}},
		{"frame entries reordered", func(t *testing.T, d string) {
			editJSON(t, filepath.Join(d, FramesIndexFile), func(v any) any {
				a := v.([]any)
				a[1], a[2] = a[2], a[1]
				return a
			})
		}, VerifyOptions{}, []string{"frames/frames.json: size", "frame 2 (frames/000003.jpg): chain broken", "is before the previous frame"}},
		{"frame entry dropped from the chain", func(t *testing.T, d string) {
			editJSON(t, filepath.Join(d, FramesIndexFile), func(v any) any {
				a := v.([]any)
				return append(a[:2:2], a[3:]...)
			})
		}, VerifyOptions{}, []string{"5 frames, manifest says 6", "frame 3 (frames/000004.jpg): chain broken", "frames/000003.jpg: frame image not in the hash chain"}},
		{"keystrokes reordered", func(t *testing.T, d string) {
			rewrite(t, filepath.Join(d, KeystrokesFile), func(b []byte) []byte {
				l := strings.SplitAfter(string(b), "\n")
				l[2], l[3] = l[3], l[2]
				return []byte(strings.Join(l, ""))
			})
		}, VerifyOptions{}, []string{"keystrokes.jsonl: sha256", "keystrokes.jsonl: line 4: time", "records reordered"}},
		{"keystroke text edited", func(t *testing.T, d string) {
			rewrite(t, filepath.Join(d, KeystrokesFile), func(b []byte) []byte { return bytes.Replace(b, []byte("typed c"), []byte("typed x"), 1) })
		}, VerifyOptions{}, []string{"keystrokes.jsonl: sha256"}},
		{"manifest edited", func(t *testing.T, d string) {
			rewrite(t, filepath.Join(d, ManifestFile), func(b []byte) []byte { return bytes.Replace(b, []byte(`"jdoe"`), []byte(`"mallory"`), 1) })
		}, VerifyOptions{}, []string{"manifest.sig: the signature does not match manifest.json"}},
		{"manifest hash rewritten to match a tampered file", func(t *testing.T, d string) {
			p := filepath.Join(d, ClipboardFile)
			rewrite(t, p, func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("hello"), []byte("HELLO")) })
			rewrite(t, filepath.Join(d, ManifestFile), func(b []byte) []byte {
				m, err := ParseManifest(b)
				require.NoError(t, err)
				data, err := os.ReadFile(p)
				require.NoError(t, err)
				for i := range m.Files {
					if m.Files[i].Path == ClipboardFile {
						m.Files[i].SHA256 = sha256Hex(data)
					}
				}
				out, err := json.MarshalIndent(m, "", "  ")
				require.NoError(t, err)
				return append(out, '\n')
			})
		}, VerifyOptions{}, []string{"manifest.sig: the signature does not match"}},
		{"signature altered", func(t *testing.T, d string) {
			rewrite(t, filepath.Join(d, SignatureFile), func(b []byte) []byte { b[0] ^= 0x80; return b })
		}, VerifyOptions{}, []string{"manifest.sig: the signature does not match"}},
		{"signature truncated", func(t *testing.T, d string) {
			rewrite(t, filepath.Join(d, SignatureFile), func(b []byte) []byte { return b[:10] })
		}, VerifyOptions{}, []string{"manifest.sig: 10 bytes"}},
		{"re-signed with another key", func(t *testing.T, d string) {
			data, err := os.ReadFile(filepath.Join(d, ManifestFile))
			require.NoError(t, err)
			m, err := ParseManifest(data)
			require.NoError(t, err)
			m.User = "mallory"
			w := &pkgWriter{dir: d, files: m.Files}
			require.NoError(t, w.seal(m, other))
		}, VerifyOptions{AgentKey: nil}, nil},
		{"re-signed with another key, key pinned", func(t *testing.T, d string) {
			data, err := os.ReadFile(filepath.Join(d, ManifestFile))
			require.NoError(t, err)
			m, err := ParseManifest(data)
			require.NoError(t, err)
			w := &pkgWriter{dir: d, files: m.Files}
			require.NoError(t, w.seal(m, other))
		}, VerifyOptions{AgentKey: publicOf(f.key)}, []string{"manifest.sig: the package names key " + KeyID(publicOf(other)), "not the trusted agent key"}},
		{"file added", func(t *testing.T, d string) {
			require.NoError(t, os.WriteFile(filepath.Join(d, "frames", "000007.jpg"), []byte("x"), 0o600))
		}, VerifyOptions{}, []string{"frames/000007.jpg: file not listed in the manifest"}},
		{"countersignature required", func(*testing.T, string) {}, VerifyOptions{RequireCountersignature: true},
			[]string{"manifest.countersig: missing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t, dir)
			tc.tamper(t, d)
			rep, err := Verify(d, tc.opts)
			require.NoError(t, err)
			if tc.want == nil {
				// Re-signing with another key passes integrity checks: only a
				// pinned key proves origin, which the report says.
				require.True(t, rep.OK, "failures: %v", rep.Failures)
				require.False(t, rep.KeyPinned)
				require.Equal(t, KeyID(publicOf(other)), rep.SignedBy)
				return
			}
			require.False(t, rep.OK)
			all := strings.Join(rep.Failures, "\n")
			for _, w := range tc.want {
				require.Contains(t, all, w)
			}
		})
	}
}

func TestCountersign(t *testing.T) {
	_, src := samplePackage(t)
	dir := copyDir(t, src)
	server, err := GenerateKey()
	require.NoError(t, err)
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	require.NoError(t, countersignAt(dir, server, at))
	require.ErrorIs(t, Countersign(dir, server), ErrCountersigned)

	rep, err := Verify(dir, VerifyOptions{ServerKey: publicOf(server), RequireCountersignature: true})
	require.NoError(t, err)
	require.True(t, rep.OK, "failures: %v", rep.Failures)
	require.True(t, rep.Countersigned)
	require.Equal(t, at, rep.CountersignedAt)
	require.Equal(t, KeyID(publicOf(server)), rep.CountersignedBy)

	other, err := GenerateKey()
	require.NoError(t, err)
	rep, err = Verify(dir, VerifyOptions{ServerKey: publicOf(other)})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Contains(t, strings.Join(rep.Failures, "\n"), "not the trusted server key")

	// A countersignature whose time was moved no longer verifies.
	p := filepath.Join(dir, CountersigFile)
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, bytes.Replace(data, []byte("2026-11-28T10"), []byte("2026-11-27T10"), 1), 0o600))
	rep, err = Verify(dir, VerifyOptions{ServerKey: publicOf(server)})
	require.NoError(t, err)
	require.Contains(t, strings.Join(rep.Failures, "\n"), "manifest.countersig: the countersignature does not verify")
}

func TestZipRoundTrip(t *testing.T) {
	f, dir := samplePackage(t)
	var buf bytes.Buffer
	require.NoError(t, Zip(dir, &buf))
	zipPath := filepath.Join(t.TempDir(), "alert-1.zip")
	require.NoError(t, os.WriteFile(zipPath, buf.Bytes(), 0o600))

	// The same package always gives the same archive.
	var again bytes.Buffer
	require.NoError(t, Zip(dir, &again))
	require.Equal(t, buf.Bytes(), again.Bytes())

	rep, err := Verify(zipPath, VerifyOptions{AgentKey: publicOf(f.key)})
	require.NoError(t, err)
	require.True(t, rep.OK, "failures: %v", rep.Failures)
	require.Equal(t, 6, rep.FramesChecked)

	out, err := Unzip(zipPath, filepath.Join(t.TempDir(), "out"), ZipLimits{})
	require.NoError(t, err)
	rep, err = Verify(out, VerifyOptions{AgentKey: publicOf(f.key)})
	require.NoError(t, err)
	require.True(t, rep.OK, "failures: %v", rep.Failures)
	for _, name := range []string{ManifestFile, SignatureFile, "frames/000001.jpg"} {
		a, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		require.Equal(t, a, b, name)
	}

	// A tampered zip is caught too, naming the file.
	frame, err := os.ReadFile(filepath.Join(dir, "frames", "000002.jpg"))
	require.NoError(t, err)
	data := bytes.Clone(buf.Bytes())
	i := bytes.Index(data, frame)
	require.Positive(t, i, "frames are stored, not deflated")
	data[i+len(frame)/2] ^= 0x55
	require.NoError(t, os.WriteFile(zipPath, data, 0o600))
	rep, err = Verify(zipPath, VerifyOptions{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Contains(t, strings.Join(rep.Failures, "\n"), "frames/000002.jpg: ")
}

func TestOpenSSLVerifiesSignature(t *testing.T) {
	xvfb.NeedCommand(t, "openssl", "openssl")
	f, dir := samplePackage(t)
	pub, err := MarshalPublicKey(publicOf(f.key))
	require.NoError(t, err)
	pubPath := filepath.Join(t.TempDir(), "agent.pub")
	require.NoError(t, os.WriteFile(pubPath, pub, 0o600))
	cmd := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin",
		"-in", filepath.Join(dir, ManifestFile), "-sigfile", filepath.Join(dir, SignatureFile))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "Signature Verified Successfully")
}

func TestKeysRoundTrip(t *testing.T) {
	d := t.TempDir()
	priv := filepath.Join(d, "agent.key")
	k, err := LoadOrCreateKey(priv)
	require.NoError(t, err)
	k2, err := LoadOrCreateKey(priv)
	require.NoError(t, err)
	require.Equal(t, k, k2)
	pub, err := LoadPublicKey(priv + ".pub")
	require.NoError(t, err)
	require.Equal(t, publicOf(k), pub)
	fromPriv, err := LoadPublicKey(priv)
	require.NoError(t, err)
	require.Equal(t, pub, fromPriv)
	st, err := os.Stat(priv)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	require.Error(t, WriteKeyFiles(k, priv, ""), "an existing private key is never overwritten")
	_, err = ParsePrivateKey([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	require.ErrorIs(t, err, ErrBadKey)
	require.True(t, ed25519.Verify(pub, []byte("m"), ed25519.Sign(k, []byte("m"))))
}

func TestPartialOnCancel(t *testing.T) {
	g := &seqGrabber{next: func(n int) *image.RGBA { return testImage(32, 24, n) }}
	f := newFixture(t, testConfig(), g)
	f.run(t)
	require.Eventually(t, func() bool { return f.buf.Stats().Frames >= 3 }, 10*time.Second, 10*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	type out struct {
		res Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := f.rec.Capture(ctx, Request{AlertID: "shutdown-1", RuleIDs: []string{"r"}, Severity: "low",
			Spec: policies.EvidenceSpec{Video: roll(time.Minute, time.Hour), Keystrokes: roll(time.Minute, time.Hour)}})
		done <- out{res, err}
	}()
	// The capture is in its post-roll: the screen goes at the post-roll rate.
	require.Eventually(t, f.buf.videoActive, 10*time.Second, 5*time.Millisecond)
	f.buf.RecordKeystroke(Keystroke{Text: "during post-roll"})
	cancel()
	o := <-done
	require.NoError(t, o.err)
	require.True(t, o.res.Manifest.Partial)
	require.Contains(t, o.res.Manifest.PartialReason, "context canceled")
	require.False(t, f.buf.videoActive(), "the capture's tap is closed")
	rep, err := Verify(o.res.Dir, VerifyOptions{AgentKey: publicOf(f.key)})
	require.NoError(t, err)
	require.True(t, rep.OK, "failures: %v", rep.Failures)
	require.True(t, rep.Partial)
	require.Positive(t, rep.FramesChecked)
	keys, err := os.ReadFile(filepath.Join(o.res.Dir, KeystrokesFile))
	require.NoError(t, err)
	require.Contains(t, string(keys), "during post-roll")
	// No temporary directory is left in the spool.
	entries, err := os.ReadDir(f.spool)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	_, err = f.rec.Capture(context.Background(), Request{AlertID: "shutdown-1"})
	require.ErrorIs(t, err, ErrPackageExists)
}
