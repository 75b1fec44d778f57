package policies

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/stretchr/testify/require"
)

func buildBytes(t *testing.T, b *Bundle, opts BuildOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Build(b, &buf, opts))
	return buf.Bytes()
}

func loadTarballBytes(t *testing.T, data []byte, opts ...LoadOption) *Bundle {
	t.Helper()
	b, err := LoadTarball(bytes.NewReader(data), opts...)
	require.NoError(t, err)
	return b
}

// tarEntry is one entry of a hand-made tarball.
type tarEntry struct {
	hdr  tar.Header
	data string
}

func file(name, data string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}, data: data}
}

// rawTarGz writes entries exactly as given, for tarballs Build would never
// make.
func rawTarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := e.hdr
		require.NoError(t, tw.WriteHeader(&hdr))
		if e.data != "" {
			_, err := io.WriteString(tw, e.data)
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

// entries lists a tarball's files in order.
func entries(t *testing.T, data []byte) []archiveFile {
	t.Helper()
	arc, err := readArchive(bytes.NewReader(data), newLoadConfig(nil))
	require.NoError(t, err)
	return arc.files
}

// rewrite changes the files of a tarball and writes it out again.
func rewrite(t *testing.T, data []byte, change func([]archiveFile) []archiveFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, writeArchive(&buf, change(entries(t, data))))
	return buf.Bytes()
}

const minimalManifest = `{"revision": "1", "roots": ["vigil"]}`

func TestBuildLayout(t *testing.T) {
	b := loadGood(t)
	data := buildBytes(t, b, BuildOptions{})

	// A plain gzip header: no file name, no time, OS "unknown".
	require.Equal(t, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, data[:10])
	tr := tar.NewReader(mustGunzip(t, data))
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, hdr.Name)
		require.Equal(t, byte(tar.TypeReg), hdr.Typeflag)
		require.Equal(t, int64(0o644), hdr.Mode)
		require.True(t, hdr.ModTime.Equal(time.Unix(0, 0)), hdr.ModTime)
		require.Zero(t, hdr.Uid)
		require.Empty(t, hdr.Uname)
	}
	require.Equal(t, []string{
		"/.manifest",
		"/policy/decision.rego",
		"/policy/decision_test.rego",
		"/vigil/_rules/data.json",
		"/vigil/personal_mail_domains/data.json",
		"/vigil/sensitive_paths/data.json",
		"/vigil/settings/data.json",
		"/vigil/usb_allowed_users/data.json",
	}, names)

	files := map[string][]byte{}
	for _, f := range entries(t, data) {
		files[f.name] = f.data
	}
	require.JSONEq(t, `{"revision":"2026.11.1","roots":["vigil"],"metadata":{"min_vigil":"0.1","name":"acme-itm"}}`, string(files[".manifest"]))
	require.Equal(t, b.Modules[0].Source, files["policy/decision.rego"])
	require.JSONEq(t, `["gmail.com","outlook.com","proton.me"]`, string(files["vigil/personal_mail_domains/data.json"]))

	// The rules keep where they were written.
	var rules []map[string]any
	require.NoError(t, json.Unmarshal(files["vigil/_rules/data.json"], &rules))
	require.Len(t, rules, len(b.Rules))
	require.Equal(t, "usb-then-cloud", rules[0]["id"])
	require.Equal(t, map[string]any{"file": "rules/exfil.yaml", "line": float64(2), "column": float64(3)}, rules[0]["source"])
	require.Contains(t, rules[0]["field_pos"], "sequence.steps.1.when")
}

func mustGunzip(t *testing.T, data []byte) io.Reader {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	return gz
}

func TestBuildLoadRoundTrip(t *testing.T) {
	dir := loadGood(t)
	data := buildBytes(t, dir, BuildOptions{Revision: "abc123"})
	tb := loadTarballBytes(t, data)

	require.Equal(t, "abc123", tb.Revision())
	require.Equal(t, "2026.11.1", dir.Revision(), "building does not change the loaded bundle")
	wantManifest := dir.Manifest
	wantManifest.Revision = "abc123"
	require.Equal(t, wantManifest, tb.Manifest)
	require.Equal(t, dir.Rules, tb.Rules)
	require.Equal(t, dir.Modules, tb.Modules)
	require.Equal(t, dir.Data, tb.Data)
	require.NotContains(t, tb.Data["vigil"], "_rules")
	require.Nil(t, tb.Scenarios)
	require.Empty(t, tb.Dir)
	require.False(t, tb.Signed)
	require.Equal(t, Lint(dir).Error(), Lint(tb).Error())

	// Building the reloaded bundle gives the same bytes again.
	require.Equal(t, data, buildBytes(t, tb, BuildOptions{}))
}

func TestBuildIsDeterministic(t *testing.T) {
	first := buildBytes(t, loadGood(t), BuildOptions{})
	for range 5 {
		require.Equal(t, first, buildBytes(t, loadGood(t), BuildOptions{}))
	}
	// RSA PKCS #1 v1.5 signatures are deterministic, so signed builds are
	// reproducible too.
	priv, _, err := GenerateKey("RS256")
	require.NoError(t, err)
	signed := buildBytes(t, loadGood(t), BuildOptions{SigningKey: priv})
	require.Equal(t, signed, buildBytes(t, loadGood(t), BuildOptions{SigningKey: priv}))
}

func TestBuildRejectsInvalidBundles(t *testing.T) {
	b := loadGood(t)
	b.Rules[0].Severity = "severe"
	err := Build(b, io.Discard, BuildOptions{})
	require.ErrorIs(t, err, ErrInvalidBundle)
	require.ErrorContains(t, err, `rules/exfil.yaml:6:13: rule "usb-then-cloud": severity: "severe" is not one of info, low, medium, high, critical`)

	b = loadGood(t)
	b.Manifest.Roots = []string{"acme"}
	require.ErrorContains(t, Build(b, io.Discard, BuildOptions{}), `manifest: roots.0: "acme" is outside vigil`)

	b = loadGood(t)
	b.Modules = append(b.Modules, Module{Path: "../evil.rego", Source: []byte("package vigil.x\n")})
	require.ErrorContains(t, Build(b, io.Discard, BuildOptions{}), `module path "../evil.rego" is not a clean relative path`)

	b = loadGood(t)
	b.Data["other"] = map[string]any{}
	require.ErrorContains(t, Build(b, io.Discard, BuildOptions{}), `.manifest: data.other is outside the bundle roots ["vigil"] in .manifest`)

	// A bundle made in code, with no positions, still validates.
	code := &Bundle{Rules: []*Rule{{ID: "x", Title: "X", Severity: SeverityLow, When: "true", Threshold: &Threshold{Count: 1}}}}
	require.EqualError(t, code.Validate(), `rule "x": threshold.window: required`)
	code.Rules[0].Threshold.Window = mustDuration(t, "1m")
	require.NoError(t, code.Validate())
	reloaded := loadTarballBytes(t, buildBytes(t, code, BuildOptions{Revision: "r1"}))
	require.Equal(t, []string{"vigil"}, reloaded.Manifest.Roots)
	require.Equal(t, code.Rules[0].Hash(), reloaded.Rules[0].Hash())
}

func TestLoadTarballLimits(t *testing.T) {
	manifest := file("/.manifest", minimalManifest)

	t.Run("gzip bomb stops at the total limit", func(t *testing.T) {
		bomb := rawTarGz(t, manifest, file("/vigil/big/data.json", `"`+strings.Repeat("A", 4<<20)+`"`))
		require.Less(t, len(bomb), 64<<10, "4 MiB compresses to a few KiB")
		_, err := LoadTarball(bytes.NewReader(bomb), WithMaxSize(1<<20, 8<<20))
		require.ErrorIs(t, err, ErrTooLarge)
		require.ErrorContains(t, err, "more than 1048576 bytes uncompressed")

		arc, err := readArchive(bytes.NewReader(bomb), newLoadConfig([]LoadOption{WithMaxSize(1<<20, 8<<20)}))
		require.Error(t, err)
		require.Nil(t, arc)
	})
	t.Run("per-file limit names the entry", func(t *testing.T) {
		data := rawTarGz(t, manifest, file("/vigil/big/data.json", `"`+strings.Repeat("A", 5000)+`"`))
		_, err := LoadTarball(bytes.NewReader(data), WithMaxSize(0, 4096))
		require.ErrorIs(t, err, ErrTooLarge)
		require.ErrorContains(t, err, `entry "/vigil/big/data.json" is larger than 4096 bytes`)
	})
	t.Run("file count", func(t *testing.T) {
		var es []tarEntry
		es = append(es, manifest)
		for i := range 20 {
			es = append(es, file("/policy/p"+strings.Repeat("x", i)+".rego", "package vigil.p\n"))
		}
		_, err := LoadTarball(bytes.NewReader(rawTarGz(t, es...)), WithMaxFiles(10))
		require.ErrorIs(t, err, ErrTooLarge)
		require.ErrorContains(t, err, "more than 10 entries")
	})
	t.Run("exactly at the limits", func(t *testing.T) {
		data := buildBytes(t, loadGood(t), BuildOptions{})
		arc, err := readArchive(bytes.NewReader(data), newLoadConfig(nil))
		require.NoError(t, err)
		biggest := 0
		for _, f := range arc.files {
			biggest = max(biggest, len(f.data))
		}
		_, err = LoadTarball(bytes.NewReader(data), WithMaxSize(arc.uncompressed, int64(biggest)), WithMaxFiles(len(arc.files)))
		require.NoError(t, err)
		_, err = LoadTarball(bytes.NewReader(data), WithMaxSize(arc.uncompressed-1, 0))
		require.ErrorIs(t, err, ErrTooLarge)
		_, err = LoadTarball(bytes.NewReader(data), WithMaxSize(0, int64(biggest-1)))
		require.ErrorIs(t, err, ErrTooLarge)
		_, err = LoadTarball(bytes.NewReader(data), WithMaxFiles(len(arc.files)-1))
		require.ErrorIs(t, err, ErrTooLarge)
	})
	t.Run("defaults", func(t *testing.T) {
		cfg := newLoadConfig(nil)
		require.Equal(t, int64(256<<20), cfg.maxTotal)
		require.Equal(t, int64(64<<20), cfg.maxFile)
		require.Equal(t, 10000, cfg.maxFiles)
	})
}

// TestLoadTarballTruncatedEntry checks that an entry whose header claims
// far more bytes than follow fails without allocating for the claim.
func TestLoadTarballTruncatedEntry(t *testing.T) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "/vigil/x/data.json", Typeflag: tar.TypeReg, Size: 1 << 40}))
	_, err := tw.Write([]byte("[]"))
	require.NoError(t, err)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	_, err = gz.Write(tarBuf.Bytes())
	require.NoError(t, err)
	require.NoError(t, gz.Close())

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = LoadTarball(bytes.NewReader(buf.Bytes()))
	runtime.ReadMemStats(&after)
	require.ErrorContains(t, err, `entry "/vigil/x/data.json": unexpected EOF`)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "nothing is allocated for the claimed size")
}

func TestLoadTarballUnsafeEntries(t *testing.T) {
	manifest := file("/.manifest", minimalManifest)
	link := func(name, target string, typ byte) tarEntry {
		return tarEntry{hdr: tar.Header{Name: name, Linkname: target, Typeflag: typ, Mode: 0o644}}
	}
	dev := func(name string, typ byte) tarEntry {
		return tarEntry{hdr: tar.Header{Name: name, Typeflag: typ, Mode: 0o644}}
	}
	cases := []struct {
		name  string
		entry tarEntry
		want  string
	}{
		{"parent", file("../evil.rego", "x"), `entry "../evil.rego": path traversal`},
		{"rooted parent", file("/../evil.rego", "x"), `entry "/../evil.rego": path traversal`},
		{"inner parent", file("/policy/../../evil.rego", "x"), `entry "/policy/../../evil.rego": path traversal`},
		{"absolute", file("//etc/passwd", "x"), `entry "//etc/passwd": absolute path`},
		{"drive", file("C:/evil.rego", "x"), `entry "C:/evil.rego": absolute path`},
		{"backslash", file("/policy\\..\\evil.rego", "x"), `entry "/policy\\..\\evil.rego": backslash or NUL in name`},
		{"dot segment", file("/policy/./x.rego", "x"), `entry "/policy/./x.rego": not a clean path`},
		{"empty segment", file("/policy//x.rego", "x"), `entry "/policy//x.rego": not a clean path`},
		{"directory traversal", tarEntry{hdr: tar.Header{Name: "../up/", Typeflag: tar.TypeDir, Mode: 0o755}}, `entry "../up/": path traversal`},
		{"symlink", link("/policy/x.rego", "/etc/passwd", tar.TypeSymlink), `entry "/policy/x.rego" is a symbolic link, not a regular file`},
		{"hard link", link("/policy/x.rego", "/.manifest", tar.TypeLink), `entry "/policy/x.rego" is a hard link, not a regular file`},
		{"char device", dev("/dev/null", tar.TypeChar), `entry "/dev/null" is a character device, not a regular file`},
		{"block device", dev("/dev/sda", tar.TypeBlock), `entry "/dev/sda" is a block device, not a regular file`},
		{"fifo", dev("/fifo", tar.TypeFifo), `entry "/fifo" is a named pipe, not a regular file`},
		{"duplicate", file("/.manifest", minimalManifest), `entry "/.manifest" appears twice`},
		{"duplicate by spelling", file("./.manifest", minimalManifest), `entry "./.manifest" appears twice`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadTarball(bytes.NewReader(rawTarGz(t, manifest, c.entry)))
			require.ErrorIs(t, err, ErrUnsafeEntry)
			require.ErrorContains(t, err, c.want)
		})
	}

	// Directories, pax global headers and "./" names are harmless.
	ok := rawTarGz(t,
		tarEntry{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}},
		tarEntry{hdr: tar.Header{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "x"}}},
		file("./.manifest", minimalManifest),
		tarEntry{hdr: tar.Header{Name: "policy/", Typeflag: tar.TypeDir, Mode: 0o755}},
		file("policy/p.rego", "package vigil.p\n\nx := 1\n"),
	)
	b := loadTarballBytes(t, ok)
	require.Equal(t, []Module{{Path: "policy/p.rego", Source: []byte("package vigil.p\n\nx := 1\n")}}, b.Modules)
}

func TestLoadTarballContent(t *testing.T) {
	manifest := file("/.manifest", minimalManifest)
	cases := []struct {
		name    string
		entries []tarEntry
		want    string
	}{
		{
			name:    "rules as YAML are not part of a built bundle",
			entries: []tarEntry{manifest, file("/rules/x.yaml", "- id: x\n")},
			want:    "rules/x.yaml: unexpected file in a bundle tarball (a Vigil bundle holds .manifest, .signatures.json, *.rego and …/data.json files)",
		},
		{
			name:    "no manifest",
			entries: []tarEntry{file("/policy/p.rego", "package vigil.p\n")},
			want:    ".manifest: missing: a Vigil bundle tarball has a /.manifest",
		},
		{
			name:    "data outside vigil",
			entries: []tarEntry{manifest, file("/acme/data.json", "{}")},
			want:    "acme/data.json: data.acme is outside data.vigil",
		},
		{
			name:    "root data outside vigil",
			entries: []tarEntry{manifest, file("/data.json", `{"vigil": {}, "acme": 1}`)},
			want:    "data.json: data.acme is outside data.vigil",
		},
		{
			name:    "scalar at data.vigil",
			entries: []tarEntry{manifest, file("/vigil/data.json", `[1]`)},
			want:    "vigil/data.json: data at data.vigil must be an object, got a list",
		},
		{
			name:    "conflicting data",
			entries: []tarEntry{manifest, file("/vigil/data.json", `{"x": 1}`), file("/vigil/x/data.json", `[1]`)},
			want:    "vigil/x/data.json: conflicts with other data at data.vigil.x",
		},
		{
			name:    "reserved data name",
			entries: []tarEntry{manifest, file("/vigil/_secret/data.json", `[1]`)},
			want:    `vigil/_secret/data.json: data name "_secret": use letters, digits and '_', not starting with '_'`,
		},
		{
			name:    "rules twice",
			entries: []tarEntry{manifest, file("/data.json", `{"vigil": {"_rules": []}}`), file("/vigil/_rules/data.json", `[]`)},
			want:    "data.json: data.vigil._rules is defined twice (also by vigil/_rules/data.json)",
		},
		{
			name:    "broken rules JSON",
			entries: []tarEntry{manifest, file("/vigil/_rules/data.json", "[\n  {\"id\": \"x\",}\n]")},
			want:    "vigil/_rules/data.json:2:14: JSON syntax: invalid character '}' looking for beginning of object key string",
		},
		{
			name:    "unknown rule field",
			entries: []tarEntry{manifest, file("/vigil/_rules/data.json", `[{"id": "x", "treshold": {}}]`)},
			want:    `vigil/_rules/data.json:1:14: JSON syntax: unknown field "treshold"`,
		},
		{
			name: "invalid rule keeps its source position",
			entries: []tarEntry{manifest, file("/vigil/_rules/data.json",
				`[{"id": "x", "title": "X", "severity": "loud", "when": "true", "source": {"file": "rules/x.yaml", "line": 3, "column": 3}, "field_pos": {"severity": {"file": "rules/x.yaml", "line": 5, "column": 13}}}]`)},
			want: `rules/x.yaml:5:13: rule "x": severity: "loud" is not one of info, low, medium, high, critical`,
		},
		{
			name:    "bad Rego",
			entries: []tarEntry{manifest, file("/policy/p.rego", "package vigil.p\n\nx := \n")},
			want:    "policy/p.rego:4:1: unexpected eof token: expected rule value term (e.g., x := <VALUE> { ... })",
		},
		{
			name:    "bad manifest",
			entries: []tarEntry{file("/.manifest", `{"roots": ["acme"]}`)},
			want:    `.manifest:1:12: manifest: roots.0: "acme" is outside vigil`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadTarball(bytes.NewReader(rawTarGz(t, c.entries...)))
			require.ErrorIs(t, err, ErrInvalidBundle)
			require.ErrorContains(t, err, c.want)
		})
	}
}

func TestLoadTarballContainer(t *testing.T) {
	good := buildBytes(t, loadGood(t), BuildOptions{})

	_, err := LoadTarball(bytes.NewReader(append(append([]byte{}, good...), "junk"...)))
	require.ErrorContains(t, err, "unexpected data after the gzip stream")

	_, err = LoadTarball(strings.NewReader("not gzip at all"))
	require.ErrorContains(t, err, "not a gzip stream")

	_, err = LoadTarball(bytes.NewReader(good[:len(good)-10]))
	require.ErrorContains(t, err, "unexpected EOF")

	// Data hidden after the end-of-archive marker is refused.
	var tarBuf bytes.Buffer
	_, err = io.Copy(&tarBuf, mustGunzip(t, good))
	require.NoError(t, err)
	hidden := append(tarBuf.Bytes(), "hidden payload"...)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	_, err = gz.Write(hidden)
	require.NoError(t, err)
	require.NoError(t, gz.Close())
	_, err = LoadTarball(bytes.NewReader(buf.Bytes()))
	require.ErrorContains(t, err, "unexpected data after the end of the tar archive")
}

// TestLoadTarballFromOPAWriter reads a bundle written by OPA's own bundle
// writer, which keeps all data (rules included) in one /data.json.
func TestLoadTarballFromOPAWriter(t *testing.T) {
	dir := loadGood(t)
	ours := buildBytes(t, dir, BuildOptions{})
	var data map[string]any
	rulesJSON := func() []byte {
		for _, f := range entries(t, ours) {
			if f.name == rulesDataFile {
				return f.data
			}
		}
		return nil
	}()
	var rules any
	require.NoError(t, json.Unmarshal(rulesJSON, &rules))
	vigil := map[string]any{"_rules": rules}
	for k, v := range dir.Data["vigil"].(map[string]any) {
		vigil[k] = v
	}
	data = map[string]any{"vigil": vigil}
	roots := []string{"vigil"}
	ob := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: "opa-1", Roots: &roots, Metadata: map[string]any{"name": "acme-itm"}},
		Data:     data,
	}
	for _, m := range dir.Modules {
		ob.Modules = append(ob.Modules, bundle.ModuleFile{URL: "/" + m.Path, Path: "/" + m.Path, Raw: m.Source})
	}
	var buf bytes.Buffer
	require.NoError(t, bundle.NewWriter(&buf).UseModulePath(true).DisableFormat(true).Write(ob))

	b := loadTarballBytes(t, buf.Bytes())
	require.Equal(t, "opa-1", b.Revision())
	require.Equal(t, dir.Rules, b.Rules)
	require.Equal(t, dir.Modules, b.Modules)
	require.Equal(t, dir.Data, b.Data)
}
