package policies

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Default limits for reading a bundle. They protect the agent and the
// server from gzip bombs and runaway uploads; every real bundle is far
// smaller.
const (
	// DefaultMaxTotalBytes limits the uncompressed size of a bundle.
	DefaultMaxTotalBytes int64 = 256 << 20
	// DefaultMaxFileBytes limits the size of one file of a bundle.
	DefaultMaxFileBytes int64 = 64 << 20
	// DefaultMaxFiles limits the number of files (tarball entries) of a bundle.
	DefaultMaxFiles = 10_000
)

// Source directories of a bundle.
const (
	dirRules  = "rules"
	dirPolicy = "policy"
	dirData   = "data"
	dirTests  = "tests"
)

// LoadOption configures Load, LoadDir and LoadTarball.
type LoadOption func(*loadConfig)

type loadConfig struct {
	verifyKey    []byte
	verifyAlg    string
	maxTotal     int64
	maxFile      int64
	maxFiles     int
	vigilVersion string
}

func newLoadConfig(opts []LoadOption) *loadConfig {
	cfg := &loadConfig{maxTotal: DefaultMaxTotalBytes, maxFile: DefaultMaxFileBytes, maxFiles: DefaultMaxFiles}
	for _, o := range opts {
		o(cfg)
	}
	return cfg
}

// WithVerificationKey makes loading require a bundle signed with the
// private key of pubPEM (a PEM public key or certificate) under alg, such
// as "ES256" or "RS256" ("" infers it from the key). A bundle that is not
// signed, signed by another key, or whose files do not match their signed
// hashes is rejected with an error matching ErrSignature. A bundle
// directory cannot be signed, so LoadDir rejects this option.
func WithVerificationKey(pubPEM []byte, alg string) LoadOption {
	return func(c *loadConfig) {
		c.verifyKey = append([]byte(nil), pubPEM...)
		c.verifyAlg = alg
	}
}

// WithMaxSize sets the limits on the total uncompressed size of a bundle and
// on the size of any one of its files, in bytes. A value of 0 or less keeps
// the default (DefaultMaxTotalBytes, DefaultMaxFileBytes). Tarball bytes are
// counted while they are decompressed, so a gzip bomb stops at the limit.
func WithMaxSize(totalBytes, fileBytes int64) LoadOption {
	return func(c *loadConfig) {
		if totalBytes > 0 {
			c.maxTotal = totalBytes
		}
		if fileBytes > 0 {
			c.maxFile = fileBytes
		}
	}
}

// WithMaxFiles sets the limit on the number of files (tarball entries, of
// any type) of a bundle; 0 or less keeps DefaultMaxFiles.
func WithMaxFiles(n int) LoadOption {
	return func(c *loadConfig) {
		if n > 0 {
			c.maxFiles = n
		}
	}
}

// WithVigilVersion rejects a bundle whose manifest asks for a newer Vigil
// (metadata.min_vigil) than version, such as "1.4.2". An empty or
// unparsable version (a development build) skips the check.
func WithVigilVersion(version string) LoadOption {
	return func(c *loadConfig) { c.vigilVersion = version }
}

// Load loads a bundle from a directory or from a .tar.gz file, whichever
// path is.
func Load(p string, opts ...LoadOption) (*Bundle, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("load bundle: %w", err)
	}
	if st.IsDir() {
		return LoadDir(p, opts...)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("load bundle: %w", err)
	}
	defer f.Close() //nolint:errcheck // read-only; a read error surfaces from LoadTarball
	b, err := LoadTarball(f, opts...)
	if err != nil {
		var ds Diagnostics
		if errors.As(err, &ds) {
			return nil, err
		}
		return nil, fmt.Errorf("load bundle %q: %w", p, err)
	}
	return b, nil
}

// sourceFile is one file read from a bundle directory.
type sourceFile struct {
	path string // slash-separated, relative to the bundle root
	data []byte
}

// dirReader reads a bundle directory within limits.
type dirReader struct {
	root  string
	cfg   *loadConfig
	ds    *diags
	files int
	total int64
}

// LoadDir loads a bundle directory: .manifest, rules/*.yaml, policy/*.rego,
// data/*.json|yaml and tests/*.yaml (see docs/bundles.md). Other files and
// directories at the top are ignored; unexpected files inside those four
// directories are errors.
//
// Every problem found is reported, not just the first: the error is then a
// Diagnostics (matching ErrInvalidBundle) whose positions are relative to
// dir. Exceeding a limit gives an error matching ErrTooLarge.
func LoadDir(dir string, opts ...LoadOption) (*Bundle, error) {
	cfg := newLoadConfig(opts)
	if cfg.verifyKey != nil {
		return nil, fmt.Errorf("load bundle %q: %w: a bundle directory carries no signature; build and sign it, then load the tarball", dir, ErrSignature)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("load bundle: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("load bundle %q: not a directory", dir)
	}
	ds := &diags{}
	rd := &dirReader{root: dir, cfg: cfg, ds: ds}

	manifest, err := rd.read(ManifestFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			ds.errorf(Position{File: ManifestFile}, codeManifest,
				`missing: a bundle directory needs a .manifest such as {"revision": "1", "roots": ["vigil"], "metadata": {"name": "my-bundle"}}`)
		} else {
			return nil, err
		}
	}
	rules, err := rd.list(dirRules, false, []string{".yaml", ".yml"}, "*.yaml rule files")
	if err != nil {
		return nil, err
	}
	modules, err := rd.list(dirPolicy, true, []string{".rego"}, "*.rego modules")
	if err != nil {
		return nil, err
	}
	data, err := rd.list(dirData, false, []string{".json", ".yaml", ".yml"}, "*.json and *.yaml data files")
	if err != nil {
		return nil, err
	}
	tests, err := rd.list(dirTests, false, []string{".yaml", ".yml"}, "*.yaml scenario files")
	if err != nil {
		return nil, err
	}

	b := &Bundle{Dir: dir, Data: map[string]any{RootVigil: map[string]any{}}, Scenarios: []*ScenarioFile{}}
	if manifest != nil {
		b.Manifest, _ = parseManifest(ManifestFile, manifest.data, ds)
	} else {
		b.Manifest.Roots = []string{RootVigil}
	}
	for _, f := range rules {
		b.Rules = append(b.Rules, parseRuleFile(f.path, f.data, ds)...)
	}
	for _, f := range modules {
		b.Modules = append(b.Modules, Module{Path: f.path, Source: f.data})
	}
	loadDataFiles(b, data, ds)
	var positions []scenarioPositions
	for _, f := range tests {
		sf, pos := parseScenarioFile(f.path, f.data, ds)
		b.Scenarios = append(b.Scenarios, sf)
		positions = append(positions, pos)
	}

	ids := validateBundle(b, ds)
	for i, sf := range b.Scenarios {
		checkScenarioRules(sf, positions[i], ids, ds)
	}
	if err := checkMinVigil(b, cfg, ds); err != nil {
		return nil, err
	}
	if err := ds.list.Err(); err != nil {
		return nil, err
	}
	return b, nil
}

// read reads a file of the bundle directory within the limits.
func (rd *dirReader) read(rel string) (*sourceFile, error) {
	full := filepath.Join(rd.root, filepath.FromSlash(rel))
	st, err := os.Stat(full)
	if err != nil {
		return nil, fmt.Errorf("load bundle %q: %w", rd.root, err)
	}
	if !st.Mode().IsRegular() {
		rd.ds.errorf(Position{File: rel}, codeBadFile, "not a regular file")
		return nil, nil
	}
	rd.files++
	if rd.files > rd.cfg.maxFiles {
		return nil, fmt.Errorf("load bundle %q: %w: more than %d files", rd.root, ErrTooLarge, rd.cfg.maxFiles)
	}
	f, err := os.Open(full)
	if err != nil {
		return nil, fmt.Errorf("load bundle %q: %w", rd.root, err)
	}
	defer f.Close() //nolint:errcheck // read-only; a read error surfaces from ReadAll
	data, err := io.ReadAll(io.LimitReader(f, rd.cfg.maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("load bundle %q: read %s: %w", rd.root, rel, err)
	}
	if int64(len(data)) > rd.cfg.maxFile {
		return nil, fmt.Errorf("load bundle %q: %w: %s is larger than %d bytes", rd.root, ErrTooLarge, rel, rd.cfg.maxFile)
	}
	rd.total += int64(len(data))
	if rd.total > rd.cfg.maxTotal {
		return nil, fmt.Errorf("load bundle %q: %w: files add up to more than %d bytes", rd.root, ErrTooLarge, rd.cfg.maxTotal)
	}
	return &sourceFile{path: rel, data: data}, nil
}

// list reads the files of one of the bundle's source directories, sorted
// by path. Names starting with "." (such as .gitkeep) are skipped; other
// files without one of exts are errors, and so are subdirectories unless
// recursive.
func (rd *dirReader) list(dir string, recursive bool, exts []string, holds string) ([]sourceFile, error) {
	base := filepath.Join(rd.root, dir)
	st, err := os.Stat(base)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("load bundle %q: %w", rd.root, err)
	case !st.IsDir():
		rd.ds.errorf(Position{File: dir}, codeBadFile, "want a directory of %s", holds)
		return nil, nil
	}
	var out []sourceFile
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == base {
			return nil
		}
		relOS, err := filepath.Rel(rd.root, p)
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(relOS)
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if recursive {
				return nil
			}
			rd.ds.errorf(Position{File: rel}, codeBadFile, "unexpected directory: %s/ holds only %s", dir, holds)
			return filepath.SkipDir
		}
		if !hasExt(d.Name(), exts) {
			rd.ds.errorf(Position{File: rel}, codeBadFile, "unexpected file: %s/ holds only %s", dir, holds)
			return nil
		}
		f, err := rd.read(rel)
		if err != nil {
			return err
		}
		if f != nil {
			out = append(out, *f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

func hasExt(name string, exts []string) bool {
	ext := strings.ToLower(path.Ext(name))
	for _, e := range exts {
		if ext == e {
			return true
		}
	}
	return false
}

// loadDataFiles places data/NAME.json at data.vigil.NAME, and the keys of
// data/data.json directly under data.vigil.
func loadDataFiles(b *Bundle, files []sourceFile, ds *diags) {
	vigil, ok := b.Data[RootVigil].(map[string]any)
	if !ok {
		vigil = map[string]any{}
		b.Data[RootVigil] = vigil
	}
	defined := map[string]Position{}
	define := func(name string, pos Position, value any) {
		switch {
		case !identRe.MatchString(name):
			ds.errorf(pos, codeData, "data name %q: use letters, digits and '_' (such as %q) so rules can write data.vigil.%s",
				name, strings.ReplaceAll(name, "-", "_"), strings.ReplaceAll(name, "-", "_"))
		case strings.HasPrefix(name, "_"):
			ds.errorf(pos, codeData, "data name %q: names starting with '_' are reserved (%s holds the compiled rules)", name, reservedDataName)
		default:
			if first, dup := defined[name]; dup {
				ds.errorf(pos, codeData, "data name %q is already defined at %s", name, first)
				return
			}
			defined[name] = pos
			vigil[name] = value
			if b.dataPos == nil {
				b.dataPos = map[string]Position{}
			}
			b.dataPos[name] = pos
		}
	}
	for _, f := range files {
		value, keyPos, ok := dataFileValue(f.path, f.data, ds)
		if !ok {
			continue
		}
		top := Position{File: f.path, Line: 1, Column: 1}
		base := path.Base(f.path)
		name := strings.TrimSuffix(base, path.Ext(base))
		if name == "data" {
			obj, isObj := value.(map[string]any)
			if !isObj {
				ds.errorf(top, codeData, "%s lands at data.vigil itself, so it must hold an object, got %s", f.path, kindOf(value))
				continue
			}
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				pos, ok := keyPos[k]
				if !ok {
					pos = top
				}
				define(k, pos, obj[k])
			}
			continue
		}
		switch value.(type) {
		case map[string]any, []any:
			define(name, Position{File: f.path}, value)
		default:
			ds.errorf(top, codeData, "a data file holds an object or a list, got %s", kindOf(value))
		}
	}
}

// validateBundle runs the checks that need the whole bundle: each rule
// (with its data references), unique ids, Rego modules and roots. It returns
// the rules by id.
func validateBundle(b *Bundle, ds *diags) map[string]*Rule {
	seen := map[string]*Rule{}
	for i, r := range b.Rules {
		validateRule(r, i, ds, b.Data)
		checkDuplicateID(r, seen, ds)
	}
	roots := b.Manifest.Roots
	if len(roots) == 0 {
		roots = []string{RootVigil}
	}
	for _, m := range b.Modules {
		checkModule(m, roots, ds)
	}
	for _, p := range dataPaths(b.Data) {
		if !rootsContain(roots, p) {
			name := strings.TrimPrefix(p, RootVigil+"/")
			pos, ok := b.dataPos[name]
			if !ok {
				pos = Position{File: ManifestFile}
			}
			ds.errorf(pos, codeRoots, "data.%s is outside the bundle roots %q in .manifest", strings.ReplaceAll(p, "/", "."), roots)
		}
	}
	if len(b.Rules) > 0 && !rootsContain(roots, RootVigil+"/"+reservedDataName) {
		r := b.Rules[0]
		ds.errorf(r.Source, codeRoots,
			"%s: the bundle roots %q in .manifest do not cover data.vigil.%s, where a built bundle keeps its rules; add \"vigil/%s\" to roots",
			ruleLabel(r.ID, 0), roots, reservedDataName, reservedDataName)
	}
	return seen
}

// dataPaths lists the slash-separated paths of the top-level data entries
// (data.vigil.NAME gives "vigil/NAME").
func dataPaths(data map[string]any) []string {
	var out []string
	for k, v := range data {
		m, ok := v.(map[string]any)
		if k != RootVigil || !ok {
			out = append(out, k)
			continue
		}
		for name := range m {
			out = append(out, RootVigil+"/"+name)
		}
	}
	sort.Strings(out)
	return out
}

// checkModule parses a Rego module (OPA v1 syntax) to report syntax errors
// with their position, and checks that its package is inside the roots.
func checkModule(m Module, roots []string, ds *diags) {
	if !utf8.Valid(m.Source) {
		ds.errorf(invalidUTF8Pos(m.Path, m.Source), codeEncoding, "invalid UTF-8")
		return
	}
	mod, err := ast.ParseModuleWithOpts(m.Path, string(m.Source), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		var errs ast.Errors
		if errors.As(err, &errs) {
			for i, e := range errs {
				pos := Position{File: m.Path, Line: 1, Column: 1}
				if e.Location != nil {
					pos.Line, pos.Column = max(e.Location.Row, 1), max(e.Location.Col, 1)
				}
				// The parser may report one problem twice, the second time
				// with more detail; keep the detailed one.
				if i+1 < len(errs) && errs[i+1].Location != nil && e.Location != nil &&
					errs[i+1].Location.Row == e.Location.Row && errs[i+1].Location.Col == e.Location.Col &&
					strings.HasPrefix(errs[i+1].Message, e.Message) {
					continue
				}
				ds.errorf(pos, codeRego, "%s", e.Message)
			}
			return
		}
		ds.errorf(Position{File: m.Path, Line: 1, Column: 1}, codeRego, "%v", err)
		return
	}
	if mod == nil {
		ds.errorf(Position{File: m.Path, Line: 1, Column: 1}, codeRego, "empty module: a Rego file needs a package")
		return
	}
	pkg := packagePath(mod)
	if !rootsContain(roots, pkg) {
		loc := Position{File: m.Path, Line: 1, Column: 1}
		if l := mod.Package.Location; l != nil {
			loc.Line, loc.Column = l.Row, l.Col
		}
		ds.errorf(loc, codeRoots, "package %s is outside the bundle roots %q (use package vigil.…)", strings.ReplaceAll(pkg, "/", "."), roots)
	}
}

// packagePath is the data path of a module's package: "vigil/decision" for
// package vigil.decision.
func packagePath(mod *ast.Module) string {
	var parts []string
	for _, t := range mod.Package.Path[1:] {
		switch v := t.Value.(type) {
		case ast.String:
			parts = append(parts, string(v))
		default:
			parts = append(parts, v.String())
		}
	}
	return strings.Join(parts, "/")
}

func invalidUTF8Pos(file string, data []byte) Position {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return offsetPos(file, data, i)
		}
		i += size
	}
	return Position{File: file, Line: 1, Column: 1}
}

// checkMinVigil rejects a bundle that needs a newer Vigil than the one
// configured with WithVigilVersion.
func checkMinVigil(b *Bundle, cfg *loadConfig, ds *diags) error {
	need := b.MinVigil()
	if need == "" || cfg.vigilVersion == "" || ds.hasErrors() {
		return nil
	}
	if c, ok := compareVersions(cfg.vigilVersion, need); ok && c < 0 {
		return fmt.Errorf("load bundle %q: needs Vigil %s or newer (metadata.min_vigil), this is %s", b.Name(), need, cfg.vigilVersion)
	}
	return nil
}

// Validate checks a bundle as LoadDir and LoadTarball do: every rule, ids,
// data references, Rego syntax and roots. It is for bundles built in code;
// the error is a Diagnostics.
func (b *Bundle) Validate() error {
	ds := &diags{}
	ds.add(validateManifest(b.Manifest)...)
	validateBundle(b, ds)
	return ds.list.Err()
}

// validateManifest checks a manifest built in code.
func validateManifest(m Manifest) Diagnostics {
	ds := &diags{}
	roots := m.Roots
	if roots == nil {
		roots = []string{RootVigil}
	}
	if len(roots) == 0 {
		ds.errorf(Position{File: ManifestFile}, codeRoots, "manifest: roots: empty; use [\"vigil\"] or roots under vigil/")
	}
	at := func(int) Position { return Position{File: ManifestFile} }
	checkRoots(roots, at, ds)
	if m.Metadata != nil {
		checkMetadata(m.Metadata, func(string) Position { return Position{File: ManifestFile} }, ds)
	}
	return ds.list
}
