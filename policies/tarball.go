package policies

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// Paths inside a built bundle.
const (
	signaturesFile = ".signatures.json"
	rulesDataFile  = RootVigil + "/" + reservedDataName + "/data.json"
)

// buildTime is the modification time of every entry of a built tarball, so
// that the same bundle always gives the same bytes.
var buildTime = time.Unix(0, 0).UTC()

// archiveFile is one regular file of a bundle tarball.
type archiveFile struct {
	name string // clean, slash-separated, without a leading "/"
	data []byte
}

// archive is the content of a bundle tarball, read within limits.
type archive struct {
	files []archiveFile
	index map[string]int
	// uncompressed counts the decompressed bytes read, for tests of limits.
	uncompressed int64
}

func (a *archive) get(name string) ([]byte, bool) {
	i, ok := a.index[name]
	if !ok {
		return nil, false
	}
	return a.files[i].data, true
}

// countingReader fails once more than limit bytes have been read.
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		// Probe for one more byte so that a stream of exactly limit bytes
		// still reads to its end.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes uncompressed", ErrTooLarge, c.limit)
		}
		return 0, err
	}
	if rest := c.limit - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readArchive reads a bundle .tar.gz into memory. It counts decompressed
// bytes as it goes (never trusting sizes in headers), limits each file and
// the number of entries, rejects links, devices, traversal and duplicate
// entries, and requires the gzip stream to end cleanly, with nothing after
// it: reading to the end makes the gzip reader check its CRC-32 and length,
// so any change to the tar stream (headers and padding included, which no
// signature covers) is caught.
func readArchive(r io.Reader, cfg *loadConfig) (*archive, error) {
	br := bufio.NewReader(r)
	gz, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("read bundle tarball: not a gzip stream: %w", err)
	}
	gz.Multistream(false)
	cr := &countingReader{r: gz, limit: cfg.maxTotal}
	tr := tar.NewReader(cr)
	arc := &archive{index: map[string]int{}}
	entries := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read bundle tarball: %w", err)
		}
		entries++
		if entries > cfg.maxFiles {
			return nil, fmt.Errorf("read bundle tarball: %w: more than %d entries", ErrTooLarge, cfg.maxFiles)
		}
		switch hdr.Typeflag {
		case tar.TypeReg: // The reader reports old-style '\x00' entries as TypeReg too.
		case tar.TypeDir:
			if _, err := cleanEntryName(hdr.Name, true); err != nil {
				return nil, err
			}
			continue
		case tar.TypeXGlobalHeader:
			continue
		default:
			return nil, fmt.Errorf("read bundle tarball: %w: entry %q is a %s, not a regular file", ErrUnsafeEntry, hdr.Name, typeName(hdr.Typeflag))
		}
		name, err := cleanEntryName(hdr.Name, false)
		if err != nil {
			return nil, err
		}
		if _, dup := arc.index[name]; dup {
			return nil, fmt.Errorf("read bundle tarball: %w: entry %q appears twice", ErrUnsafeEntry, hdr.Name)
		}
		data, err := io.ReadAll(io.LimitReader(tr, cfg.maxFile+1))
		if err != nil {
			return nil, fmt.Errorf("read bundle tarball: entry %q: %w", hdr.Name, err)
		}
		if int64(len(data)) > cfg.maxFile {
			return nil, fmt.Errorf("read bundle tarball: %w: entry %q is larger than %d bytes", ErrTooLarge, hdr.Name, cfg.maxFile)
		}
		arc.index[name] = len(arc.files)
		arc.files = append(arc.files, archiveFile{name: name, data: data})
	}
	// Read what follows the end-of-archive marker to the end of the gzip
	// member, which makes the gzip reader check its CRC and length.
	_, err = io.Copy(zeroChecker{}, cr)
	arc.uncompressed = cr.n
	if err != nil {
		return nil, fmt.Errorf("read bundle tarball: %w", err)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		return nil, errors.New("read bundle tarball: unexpected data after the gzip stream")
	}
	return arc, nil
}

// zeroChecker accepts only zero bytes: the padding after a tar archive.
type zeroChecker struct{}

func (zeroChecker) Write(p []byte) (int, error) {
	for _, b := range p {
		if b != 0 {
			return 0, errors.New("unexpected data after the end of the tar archive")
		}
	}
	return len(p), nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "named pipe"
	}
	return fmt.Sprintf("entry of type %q", t)
}

// cleanEntryName checks a tarball entry name and returns it relative to the
// bundle root. OPA writes names with a leading "/" meaning the bundle root,
// so one leading "/" (or "./") is accepted; anything else that is not a
// clean relative path is rejected.
func cleanEntryName(name string, dir bool) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("read bundle tarball: %w: entry %q: %s", ErrUnsafeEntry, name, why)
	}
	n := name
	if strings.HasPrefix(n, "./") {
		n = n[2:]
	} else if strings.HasPrefix(n, "/") {
		n = n[1:]
	}
	if dir {
		n = strings.TrimSuffix(n, "/")
		if n == "" || n == "." {
			return "", nil
		}
	}
	switch {
	case n == "":
		return bad("empty name")
	case strings.HasPrefix(n, "/"):
		return bad("absolute path")
	case strings.ContainsAny(n, "\\\x00"):
		return bad("backslash or NUL in name")
	case len(n) >= 2 && n[1] == ':':
		return bad("absolute path")
	}
	for _, seg := range strings.Split(n, "/") {
		switch seg {
		case "..":
			return bad("path traversal")
		case "", ".":
			return bad("not a clean path")
		}
	}
	return n, nil
}

// writeArchive writes files as a deterministic bundle .tar.gz: sorted by
// name, every entry a regular file with the same mode and time, and a gzip
// header without name or time.
func writeArchive(w io.Writer, files []archiveFile) error {
	sorted := append([]archiveFile(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, f := range sorted {
		hdr := &tar.Header{
			Name:     "/" + f.name,
			Mode:     0o644,
			Size:     int64(len(f.data)),
			ModTime:  buildTime,
			Typeflag: tar.TypeReg,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write bundle tarball: %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return fmt.Errorf("write bundle tarball: %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write bundle tarball: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("write bundle tarball: %w", err)
	}
	return nil
}

// BuildOptions configures Build.
type BuildOptions struct {
	// Revision, when set, replaces the manifest's revision (such as a git
	// commit or a semantic version set by CI).
	Revision string
	// SigningKey, when set, signs the bundle. It is a crypto.Signer (an
	// *ecdsa.PrivateKey, an *rsa.PrivateKey or a key held in an HSM or KMS)
	// or a PEM-encoded private key as []byte or string (PKCS #8, PKCS #1 or
	// SEC 1).
	SigningKey any
	// SigningAlg is the JWS algorithm: ES256 (the default for EC keys),
	// ES384, ES512, RS256 (the default for RSA keys), RS384, RS512, PS256,
	// PS384 or PS512.
	SigningAlg string
	// KeyID names the key in the signature ("kid"); it defaults to
	// "default", the key id OPA's --verification-key flag uses.
	KeyID string
}

// DefaultKeyID is the key id of signatures made without BuildOptions.KeyID.
const DefaultKeyID = "default"

// Build writes the bundle as an OPA bundle .tar.gz: /.manifest, the Rego
// modules at their paths (/policy/…), each data.vigil.NAME at
// /vigil/NAME/data.json, the rules compiled into data at
// /vigil/_rules/data.json (with their source positions), and
// /.signatures.json when signing. Scenario tests stay in the directory.
//
// The rules travel as data because OPA's bundle reader, writer and signer
// only know Rego, data, manifest and signature files: a rules/*.yaml would
// be silently left out of the tarball and of its signature.
//
// The output is deterministic: the same bundle and options give the same
// bytes (except the signature itself with ES* keys, whose signatures are
// randomised).
func Build(b *Bundle, w io.Writer, opts BuildOptions) error {
	if err := b.Validate(); err != nil {
		return err
	}
	files, err := bundleFiles(b, opts.Revision)
	if err != nil {
		return err
	}
	if opts.SigningKey != nil {
		sig, err := signFiles(files, opts.SigningKey, opts.SigningAlg, opts.KeyID)
		if err != nil {
			return fmt.Errorf("build bundle %q: %w", b.Name(), err)
		}
		files = append(files, archiveFile{name: signaturesFile, data: sig})
	}
	return writeArchive(w, files)
}

// bundleFiles lays the bundle out as tarball files.
func bundleFiles(b *Bundle, revision string) ([]archiveFile, error) {
	m := b.Manifest
	if revision != "" {
		m.Revision = revision
	}
	if m.Roots == nil {
		m.Roots = []string{RootVigil}
	}
	mj, err := manifestJSON(m)
	if err != nil {
		return nil, err
	}
	files := []archiveFile{{name: ManifestFile, data: mj}}
	for _, mod := range b.Modules {
		name, err := cleanEntryName(mod.Path, false)
		if err != nil || !strings.HasSuffix(name, ".rego") {
			return nil, fmt.Errorf("build bundle: module path %q is not a clean relative path ending in .rego", mod.Path)
		}
		files = append(files, archiveFile{name: name, data: mod.Source})
	}
	for key, v := range b.Data {
		vigil, ok := v.(map[string]any)
		if key != RootVigil || !ok {
			return nil, fmt.Errorf("build bundle: data.%s is outside data.vigil", key)
		}
		for name, value := range vigil {
			if !identRe.MatchString(name) || strings.HasPrefix(name, "_") {
				return nil, fmt.Errorf("build bundle: data.vigil.%s: not a valid data name", name)
			}
			raw, err := json.Marshal(value)
			if err != nil {
				return nil, fmt.Errorf("build bundle: data.vigil.%s: %w", name, err)
			}
			files = append(files, archiveFile{name: path.Join(RootVigil, name, "data.json"), data: append(raw, '\n')})
		}
	}
	if len(b.Rules) > 0 {
		raw, err := json.Marshal(b.Rules)
		if err != nil {
			return nil, fmt.Errorf("build bundle: encode rules: %w", err)
		}
		files = append(files, archiveFile{name: rulesDataFile, data: append(raw, '\n')})
	}
	return files, nil
}

// LoadTarball loads a bundle .tar.gz as written by Build (or by OPA, for a
// bundle without rules). The rules come back from data.vigil._rules, which
// is then removed from Data. With WithVerificationKey the signature and
// every file's hash are verified before anything else is read.
//
// Errors about the container (limits, unsafe entries, signatures) wrap
// ErrTooLarge, ErrUnsafeEntry or ErrSignature; problems in the content are
// reported as Diagnostics, with rule positions pointing at their original
// rules/*.yaml.
func LoadTarball(r io.Reader, opts ...LoadOption) (*Bundle, error) {
	cfg := newLoadConfig(opts)
	arc, err := readArchive(r, cfg)
	if err != nil {
		return nil, err
	}
	signed := false
	if cfg.verifyKey != nil {
		if _, err := verifyArchive(arc, cfg.verifyKey, cfg.verifyAlg, cfg); err != nil {
			return nil, err
		}
		signed = true
	}
	ds := &diags{}
	b := assembleArchive(arc, ds)
	b.Signed = signed
	validateBundle(b, ds)
	if err := checkMinVigil(b, cfg, ds); err != nil {
		return nil, err
	}
	if err := ds.list.Err(); err != nil {
		return nil, err
	}
	return b, nil
}

// assembleArchive turns tarball files into a Bundle, reporting entries that
// have no place in a Vigil bundle.
func assembleArchive(arc *archive, ds *diags) *Bundle {
	b := &Bundle{Data: map[string]any{RootVigil: map[string]any{}}}
	if raw, ok := arc.get(ManifestFile); ok {
		b.Manifest, _ = parseManifest(ManifestFile, raw, ds)
	} else {
		ds.errorf(Position{File: ManifestFile}, codeManifest, "missing: a Vigil bundle tarball has a /.manifest")
		b.Manifest.Roots = []string{RootVigil}
	}
	rulesFrom := ""
	for _, f := range arc.files {
		base := path.Base(f.name)
		dir := path.Dir(f.name)
		switch {
		case f.name == ManifestFile, f.name == signaturesFile:
		case strings.HasSuffix(f.name, ".rego"):
			b.Modules = append(b.Modules, Module{Path: f.name, Source: f.data})
		case f.name == rulesDataFile:
			b.Rules = decodeRulesData(f.name, f.data, ds)
			rulesFrom = f.name
		case base == "data.json" || base == "data.yaml" || base == "data.yml":
			assembleData(b, f, dir, ds)
		default:
			ds.errorf(Position{File: f.name}, codeBadFile,
				"unexpected file in a bundle tarball (a Vigil bundle holds .manifest, .signatures.json, *.rego and …/data.json files)")
		}
	}
	// A bundle rewritten by OPA's own writer keeps all data in one
	// /data.json, rules included.
	if vigil, ok := b.Data[RootVigil].(map[string]any); ok {
		if raw, ok := vigil[reservedDataName]; ok {
			delete(vigil, reservedDataName)
			if rulesFrom != "" {
				ds.errorf(b.dataPos[reservedDataName], codeData, "data.vigil.%s is defined twice (also by %s)", reservedDataName, rulesFrom)
			} else {
				file := b.dataPos[reservedDataName].File
				enc, err := json.Marshal(raw)
				if err != nil {
					ds.errorf(Position{File: file}, codeData, "data.vigil.%s: %v", reservedDataName, err)
				} else {
					b.Rules = decodeRulesData(file, enc, ds)
				}
			}
			delete(b.dataPos, reservedDataName)
		}
		for name := range vigil {
			if !identRe.MatchString(name) || strings.HasPrefix(name, "_") {
				ds.errorf(b.dataPos[name], codeData, "data name %q: use letters, digits and '_', not starting with '_'", name)
			}
		}
	}
	sort.Slice(b.Modules, func(i, j int) bool { return b.Modules[i].Path < b.Modules[j].Path })
	return b
}

// assembleData places a data file of a tarball at its directory's path, as
// OPA does: /vigil/NAME/data.json at data.vigil.NAME, /data.json at data.
func assembleData(b *Bundle, f archiveFile, dir string, ds *diags) {
	value, _, ok := dataFileValue(f.name, f.data, ds)
	if !ok {
		return
	}
	var segs []string
	if dir != "." {
		segs = strings.Split(dir, "/")
	}
	if len(segs) < 2 {
		obj, isObj := value.(map[string]any)
		if !isObj {
			ds.errorf(Position{File: f.name}, codeData, "data at data.%s must be an object, got %s", strings.Join(segs, "."), kindOf(value))
			return
		}
		if len(segs) == 0 {
			for k := range obj {
				if k != RootVigil {
					ds.errorf(Position{File: f.name}, codeData, "data.%s is outside data.vigil", k)
					return
				}
			}
		}
	}
	if len(segs) > 0 && segs[0] != RootVigil {
		ds.errorf(Position{File: f.name}, codeData, "data.%s is outside data.vigil", strings.ReplaceAll(dir, "/", "."))
		return
	}
	if !insertData(b.Data, segs, value) {
		ds.errorf(Position{File: f.name}, codeData, "conflicts with other data at data.%s", strings.ReplaceAll(dir, "/", "."))
		return
	}
	if b.dataPos == nil {
		b.dataPos = map[string]Position{}
	}
	if len(segs) > 1 {
		b.dataPos[segs[1]] = Position{File: f.name}
		return
	}
	// A file at data.vigil or data holds several names.
	vigil, _ := b.Data[RootVigil].(map[string]any)
	for name := range vigil {
		if _, ok := b.dataPos[name]; !ok {
			b.dataPos[name] = Position{File: f.name}
		}
	}
}

// decodeRulesData reads the compiled rules of a built bundle.
func decodeRulesData(file string, raw []byte, ds *diags) []*Rule {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var rules []*Rule
	if err := dec.Decode(&rules); err != nil {
		reportJSONError(file, raw, err, dec.InputOffset(), ds)
		return nil
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		ds.errorf(offsetPos(file, raw, int(dec.InputOffset())), codeJSON, "JSON syntax: unexpected data after the rules")
		return nil
	}
	out := rules[:0]
	for i, r := range rules {
		if r == nil {
			ds.errorf(Position{File: file}, codeWrongType, "rule #%d: null", i+1)
			continue
		}
		for j := range r.Exceptions {
			r.Exceptions[j].In = normalizeJSON(r.Exceptions[j].In)
			r.Exceptions[j].Equals = normalizeJSON(r.Exceptions[j].Equals)
		}
		out = append(out, r)
	}
	return out
}
