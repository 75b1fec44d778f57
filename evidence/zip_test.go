package evidence

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

type zipEntry struct {
	name string
	mode fs.FileMode
	data string
	// lie, when set, is the uncompressed size the entry declares.
	lie uint64
}

func makeZip(t testing.TB, entries []zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		if e.lie > 0 {
			w, err := zw.CreateRaw(&zip.FileHeader{Name: e.name, Method: zip.Store, CRC32: crc32.ChecksumIEEE([]byte(e.data)),
				CompressedSize64: uint64(len(e.data)), UncompressedSize64: e.lie})
			require.NoError(t, err)
			_, err = w.Write([]byte(e.data))
			require.NoError(t, err)
			continue
		}
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		require.NoError(t, err)
		_, err = w.Write([]byte(e.data))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestUnzipRejectsUnsafeArchives(t *testing.T) {
	manifest := zipEntry{name: "p/manifest.json", data: "{}"}
	tests := []struct {
		name    string
		entries []zipEntry
		lim     ZipLimits
		want    string
	}{
		{"parent traversal", []zipEntry{manifest, {name: "p/../../etc/passwd", data: "x"}}, ZipLimits{}, "not clean"},
		{"leading dotdot", []zipEntry{manifest, {name: "../x", data: "x"}}, ZipLimits{}, "leaves the package"},
		{"absolute", []zipEntry{manifest, {name: "/etc/cron.d/x", data: "x"}}, ZipLimits{}, "absolute"},
		{"backslash", []zipEntry{manifest, {name: `p\..\x`, data: "x"}}, ZipLimits{}, "backslash"},
		{"symlink", []zipEntry{manifest, {name: "p/link", mode: fs.ModeSymlink | 0o777, data: "/etc/passwd"}}, ZipLimits{}, "not a regular file"},
		{"duplicate", []zipEntry{manifest, {name: "p/a", data: "1"}, {name: "p/a", data: "2"}}, ZipLimits{}, "appears twice"},
		{"too many files", []zipEntry{manifest, {name: "p/a"}, {name: "p/b"}}, ZipLimits{MaxFiles: 2}, "3 entries"},
		{"file too big", []zipEntry{manifest, {name: "p/a", data: "0123456789"}}, ZipLimits{MaxFileBytes: 5}, "more than 5"},
		{"total too big", []zipEntry{manifest, {name: "p/a", data: "0123"}, {name: "p/b", data: "0123"}}, ZipLimits{MaxTotalBytes: 8}, "more than 8 bytes"},
		{"outside the package folder", []zipEntry{manifest, {name: "q/a", data: "x"}}, ZipLimits{}, "outside the package folder"},
		{"no manifest", []zipEntry{{name: "p/a", data: "x"}}, ZipLimits{}, "want manifest.json"},
		{"lying size", []zipEntry{manifest, {name: "p/a", data: "0123456789abcdef", lie: 4}}, ZipLimits{}, ": a: zip: not a valid zip file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			zp := filepath.Join(d, "in.zip")
			require.NoError(t, os.WriteFile(zp, makeZip(t, tc.entries), 0o600))
			_, err := Unzip(zp, filepath.Join(d, "out"), tc.lim)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			_, err = os.Stat(filepath.Join(d, "etc"))
			require.ErrorIs(t, err, fs.ErrNotExist)
		})
	}
}

// FuzzOpenZip feeds arbitrary bytes to the zip reader and, when it accepts
// them, reads and verifies every entry as Verify does: nothing may panic or
// escape the package.
func FuzzOpenZip(f *testing.F) {
	f.Add(makeZip(f, []zipEntry{{name: "manifest.json", data: `{"format":"vigil-evidence/1"}`}, {name: "manifest.sig", data: "x"}}))
	f.Add(makeZip(f, []zipEntry{{name: "p/manifest.json", data: "{}"}, {name: "p/frames/frames.json", data: "[]"}}))
	f.Add(makeZip(f, []zipEntry{{name: "../x", data: "x"}}))
	_, dir := samplePackage(f)
	var buf bytes.Buffer
	require.NoError(f, Zip(dir, &buf))
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		zp, err := openZip(bytes.NewReader(data), int64(len(data)), ZipLimits{MaxFiles: 64, MaxFileBytes: 1 << 20, MaxTotalBytes: 4 << 20})
		if err != nil {
			return
		}
		for _, name := range zp.names() {
			if err := checkMemberPath(name); err != nil {
				t.Fatalf("accepted unsafe name %q: %v", name, err)
			}
		}
		var rep Report
		verifySource(zp, VerifyOptions{}, &rep)
	})
}

// FuzzParseManifest checks that the manifest parser never panics and that
// every manifest it accepts names only safe paths.
func FuzzParseManifest(f *testing.F) {
	_, dir := samplePackage(f)
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	require.NoError(f, err)
	f.Add(data)
	f.Add([]byte(`{"format":"vigil-evidence/1","alert_id":"a","files":[{"path":"../x","sha256":"","size":1}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		require.NoError(t, CheckAlertID(m.AlertID))
		for _, fe := range m.Files {
			require.NoError(t, checkMemberPath(fe.Path))
		}
	})
}

// FuzzParseFrameIndex checks that the frame index parser never panics.
func FuzzParseFrameIndex(f *testing.F) {
	_, dir := samplePackage(f)
	data, err := os.ReadFile(filepath.Join(dir, FramesIndexFile))
	require.NoError(f, err)
	f.Add(data)
	f.Add([]byte(`[{"t":"x"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseFrameIndex(data)
		if err != nil {
			return
		}
		for _, e := range entries {
			_ = ChainHash(e.Prev, e)
		}
	})
}
