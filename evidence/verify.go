package evidence

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// VerifyOptions say which keys to trust when verifying a package.
type VerifyOptions struct {
	// AgentKey is the agent's public key obtained out of band (enrolment).
	// When nil, the key embedded in the manifest is used: that proves the
	// package was not altered since it was signed, not who signed it, and
	// the report says so.
	AgentKey ed25519.PublicKey
	// ServerKey is the server's public key for the countersignature. When
	// nil, a countersignature is checked against the key it embeds.
	ServerKey ed25519.PublicKey
	// RequireCountersignature fails packages the server has not
	// countersigned.
	RequireCountersignature bool
	// Limits bound what a zip archive may hold.
	Limits ZipLimits
}

// Report is the verdict on one package: OK only when every check passed.
// Failures say exactly what failed and where; Warnings are facts a reader
// must weigh (an unpinned key, a partial capture).
type Report struct {
	Path    string `json:"path"`
	OK      bool   `json:"ok"`
	AlertID string `json:"alert_id,omitempty"`
	// Partial repeats the manifest's partial flag.
	Partial bool `json:"partial"`
	// SignedBy is the key id of the agent signature; KeyPinned says whether
	// it was checked against a key given by the caller.
	SignedBy  string `json:"signed_by,omitempty"`
	KeyPinned bool   `json:"key_pinned"`
	// Countersigned is true when a valid countersignature is present.
	Countersigned   bool      `json:"countersigned"`
	CountersignedBy string    `json:"countersigned_by,omitempty"`
	CountersignedAt time.Time `json:"countersigned_at,omitzero"`
	// FilesChecked and FramesChecked count what was verified.
	FilesChecked  int       `json:"files_checked"`
	FramesChecked int       `json:"frames_checked"`
	Failures      []string  `json:"failures,omitempty"`
	Warnings      []string  `json:"warnings,omitempty"`
	Manifest      *Manifest `json:"manifest,omitempty"`
}

func (r *Report) fail(format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

func (r *Report) warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// pkgSource reads the files of a package in a directory or a zip archive.
type pkgSource interface {
	names() []string
	open(name string) (io.ReadCloser, error)
}

type dirSource struct {
	dir   string
	files []string
}

func (d *dirSource) names() []string { return d.files }

func (d *dirSource) open(name string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(d.dir, filepath.FromSlash(name)))
}

// Countersignature is the server's signature on receipt of a package,
// stored as manifest.countersig.
type Countersignature struct {
	Format string `json:"format"`
	// KeyID and PublicKey identify the server key.
	KeyID     string `json:"key_id"`
	PublicKey string `json:"public_key"`
	// SignedAt is when the server received and countersigned the package.
	SignedAt time.Time `json:"signed_at"`
	// ManifestSHA256 and AgentSignatureSHA256 pin what was countersigned.
	ManifestSHA256       string `json:"manifest_sha256"`
	AgentSignatureSHA256 string `json:"agent_signature_sha256"`
	// Signature is the Ed25519 signature, base64, of CountersignMessage.
	Signature string `json:"signature"`
}

// CountersigFormat is Countersignature.Format.
const CountersigFormat = "vigil-countersig/1"

// CountersignMessage returns the bytes a countersignature signs.
func (c *Countersignature) CountersignMessage() []byte {
	return fmt.Appendf(nil, "%s\n%s\n%s\n%s", CountersigFormat, c.ManifestSHA256, c.AgentSignatureSHA256,
		c.SignedAt.UTC().Format(time.RFC3339Nano))
}

// Verify checks the evidence package at path, a directory or a .zip: the
// manifest, the agent signature, the countersignature when present, every
// file's size and SHA-256, that no file was added, the frame hash chain,
// and the order of keystrokes and clipboard entries. The error is non-nil
// only when the package cannot be read at all; a package that fails a
// check gives a Report with OK false and the failures listed.
func Verify(pkgPath string, opts VerifyOptions) (Report, error) {
	rep := Report{Path: pkgPath}
	st, err := os.Stat(pkgPath)
	if err != nil {
		return rep, fmt.Errorf("verify evidence package: %w", err)
	}
	var src pkgSource
	if st.IsDir() {
		files, err := listDir(pkgPath)
		if err != nil {
			return rep, fmt.Errorf("verify evidence package %s: %w", pkgPath, err)
		}
		src = &dirSource{dir: pkgPath, files: files}
	} else {
		f, err := os.Open(pkgPath)
		if err != nil {
			return rep, fmt.Errorf("verify evidence package: %w", err)
		}
		defer func() { _ = f.Close() }()
		zp, err := openZip(f, st.Size(), opts.Limits)
		if err != nil {
			return rep, fmt.Errorf("verify evidence package %s: %w", pkgPath, err)
		}
		src = zp
	}
	verifySource(src, opts, &rep)
	rep.OK = len(rep.Failures) == 0
	return rep, nil
}

func readAll(src pkgSource, name string, limit int64) ([]byte, error) {
	rc, err := src.open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

func verifySource(src pkgSource, opts VerifyOptions, rep *Report) {
	mdata, err := readAll(src, ManifestFile, maxManifestBytes)
	if err != nil {
		rep.fail("manifest.json: cannot read: %v", err)
		return
	}
	m, err := ParseManifest(mdata)
	if err != nil {
		rep.fail("manifest.json: %v", err)
		return
	}
	rep.Manifest, rep.AlertID, rep.Partial = m, m.AlertID, m.Partial
	if m.Partial {
		rep.warn("the capture is partial: %s", m.PartialReason)
	}
	sig, err := readAll(src, SignatureFile, 1024)
	switch {
	case err != nil:
		rep.fail("manifest.sig: cannot read: %v", err)
	default:
		verifyAgentSignature(m, mdata, sig, opts, rep)
	}
	if cs, err := readAll(src, CountersigFile, 64<<10); err == nil {
		verifyCountersig(cs, mdata, sig, opts, rep)
	} else if !errors.Is(err, fs.ErrNotExist) {
		rep.fail("manifest.countersig: cannot read: %v", err)
	} else if opts.RequireCountersignature {
		rep.fail("manifest.countersig: missing, and a countersignature is required")
	}

	listed := make(map[string]FileEntry, len(m.Files))
	for _, f := range m.Files {
		listed[f.Path] = f
	}
	present := map[string]bool{}
	for _, name := range src.names() {
		present[name] = true
		if name == ManifestFile || name == SignatureFile || name == CountersigFile {
			continue
		}
		if _, ok := listed[name]; !ok {
			rep.fail("%s: file not listed in the manifest (added after signing)", name)
		}
	}
	for _, f := range m.Files {
		if !present[f.Path] {
			rep.fail("%s: listed in the manifest but missing", f.Path)
			continue
		}
		verifyFile(src, f, rep)
	}
	if m.Frames.Count > 0 || present[FramesIndexFile] {
		verifyFrames(src, m, listed, rep)
	}
	if _, ok := listed[KeystrokesFile]; ok && present[KeystrokesFile] {
		verifyJSONLOrder(src, KeystrokesFile, rep)
	}
	if _, ok := listed[ClipboardFile]; ok && present[ClipboardFile] {
		verifyJSONLOrder(src, ClipboardFile, rep)
	}
}

func verifyAgentSignature(m *Manifest, mdata, sig []byte, opts VerifyOptions, rep *Report) {
	if len(sig) != ed25519.SignatureSize {
		rep.fail("manifest.sig: %d bytes, an Ed25519 signature has %d", len(sig), ed25519.SignatureSize)
		return
	}
	embedded, err := base64.StdEncoding.DecodeString(m.Agent.PublicKey)
	if err != nil || len(embedded) != ed25519.PublicKeySize {
		rep.fail("manifest.json: agent.public_key is not a base64 Ed25519 public key")
		return
	}
	if KeyID(embedded) != m.Agent.KeyID {
		rep.fail("manifest.json: agent.key_id %s does not match agent.public_key (%s)", m.Agent.KeyID, KeyID(embedded))
	}
	key := ed25519.PublicKey(embedded)
	if opts.AgentKey != nil {
		if !bytes.Equal(opts.AgentKey, embedded) {
			rep.fail("manifest.sig: the package names key %s, not the trusted agent key %s", KeyID(embedded), KeyID(opts.AgentKey))
		}
		key = opts.AgentKey
		rep.KeyPinned = true
	} else {
		rep.warn("agent key not pinned: the signature was checked with the key the manifest embeds (%s); pass the agent's public key to prove who signed it", m.Agent.KeyID)
	}
	if !ed25519.Verify(key, mdata, sig) {
		rep.fail("manifest.sig: the signature does not match manifest.json (the manifest or the signature was altered)")
		return
	}
	rep.SignedBy = KeyID(key)
}

func verifyCountersig(data, mdata, sig []byte, opts VerifyOptions, rep *Report) {
	var c Countersignature
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		rep.fail("manifest.countersig: not a countersignature: %v", err)
		return
	}
	if c.Format != CountersigFormat {
		rep.fail("manifest.countersig: format %q, want %q", c.Format, CountersigFormat)
		return
	}
	mh := sha256.Sum256(mdata)
	sh := sha256.Sum256(sig)
	if c.ManifestSHA256 != hex.EncodeToString(mh[:]) {
		rep.fail("manifest.countersig: countersigned a different manifest.json (sha256 %s, now %s)", c.ManifestSHA256, hex.EncodeToString(mh[:]))
	}
	if c.AgentSignatureSHA256 != hex.EncodeToString(sh[:]) {
		rep.fail("manifest.countersig: countersigned a different manifest.sig")
	}
	embedded, err := base64.StdEncoding.DecodeString(c.PublicKey)
	if err != nil || len(embedded) != ed25519.PublicKeySize {
		rep.fail("manifest.countersig: public_key is not a base64 Ed25519 public key")
		return
	}
	key := ed25519.PublicKey(embedded)
	if opts.ServerKey != nil {
		if !bytes.Equal(opts.ServerKey, embedded) {
			rep.fail("manifest.countersig: signed by key %s, not the trusted server key %s", KeyID(embedded), KeyID(opts.ServerKey))
		}
		key = opts.ServerKey
	} else {
		rep.warn("server key not pinned: the countersignature was checked with the key it embeds (%s)", KeyID(embedded))
	}
	s, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || !ed25519.Verify(key, c.CountersignMessage(), s) {
		rep.fail("manifest.countersig: the countersignature does not verify")
		return
	}
	rep.Countersigned, rep.CountersignedBy, rep.CountersignedAt = true, KeyID(key), c.SignedAt
}

func verifyFile(src pkgSource, f FileEntry, rep *Report) {
	rc, err := src.open(f.Path)
	if err != nil {
		rep.fail("%s: cannot read: %v", f.Path, err)
		return
	}
	defer func() { _ = rc.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(rc, f.Size+1))
	if err != nil {
		rep.fail("%s: cannot read: %v", f.Path, err)
		return
	}
	rep.FilesChecked++
	if n != f.Size {
		rep.fail("%s: size %d, manifest says %d", f.Path, n, f.Size)
		return
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		rep.fail("%s: sha256 %s, manifest says %s (content altered)", f.Path, got, f.SHA256)
	}
}

// ParseFrameIndex decodes frames/frames.json.
func ParseFrameIndex(data []byte) ([]FrameEntry, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var entries []FrameEntry
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("decode frame index: %w", err)
	}
	return entries, nil
}

func verifyFrames(src pkgSource, m *Manifest, listed map[string]FileEntry, rep *Report) {
	data, err := readAll(src, FramesIndexFile, maxFramesIndex)
	if err != nil {
		rep.fail("%s: cannot read: %v", FramesIndexFile, err)
		return
	}
	entries, err := ParseFrameIndex(data)
	if err != nil {
		rep.fail("%s: %v", FramesIndexFile, err)
		return
	}
	if len(entries) != m.Frames.Count {
		rep.fail("%s: %d frames, manifest says %d", FramesIndexFile, len(entries), m.Frames.Count)
	}
	prev := ChainGenesis(m.AlertID)
	if m.Frames.Genesis != "" && m.Frames.Genesis != prev {
		rep.fail("manifest.json: frames.genesis %s is not the genesis of alert %s", m.Frames.Genesis, m.AlertID)
	}
	var last time.Time
	frameFiles := map[string]bool{}
	for i, e := range entries {
		where := fmt.Sprintf("%s: frame %d (%s)", FramesIndexFile, i+1, e.File)
		if e.Prev != prev {
			rep.fail("%s: chain broken: prev %s, expected %s (a frame was removed, added or reordered)", where, short(e.Prev), short(prev))
		}
		if got := ChainHash(e.Prev, e); got != e.Hash {
			rep.fail("%s: entry hash %s does not match its content (%s)", where, short(e.Hash), short(got))
		}
		if e.T.Before(last) {
			rep.fail("%s: time %s is before the previous frame's %s", where, e.T.Format(time.RFC3339Nano), last.Format(time.RFC3339Nano))
		}
		last = e.T
		f, ok := listed[e.File]
		switch {
		case !ok:
			rep.fail("%s: image not listed in the manifest", where)
		case f.SHA256 != e.SHA256:
			rep.fail("%s: image sha256 %s differs from the manifest's %s", where, short(e.SHA256), short(f.SHA256))
		}
		if frameFiles[e.File] {
			rep.fail("%s: image listed twice", where)
		}
		frameFiles[e.File] = true
		prev = e.Hash
		rep.FramesChecked++
	}
	if m.Frames.ChainHead != "" || len(entries) > 0 {
		if prev != m.Frames.ChainHead {
			rep.fail("%s: chain head %s, manifest says %s (frames removed or added at the end)", FramesIndexFile, short(prev), short(m.Frames.ChainHead))
		}
	}
	for _, f := range m.Files {
		if strings.HasPrefix(f.Path, "frames/") && strings.HasSuffix(f.Path, ".jpg") && !frameFiles[f.Path] {
			rep.fail("%s: frame image not in the hash chain", f.Path)
		}
	}
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// verifyJSONLOrder checks that every line of a JSON-lines file decodes and
// that the times ("t") never go backwards.
func verifyJSONLOrder(src pkgSource, name string, rep *Report) {
	rc, err := src.open(name)
	if err != nil {
		rep.fail("%s: cannot read: %v", name, err)
		return
	}
	defer func() { _ = rc.Close() }()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var last time.Time
	line := 0
	for sc.Scan() {
		line++
		var rec struct {
			T time.Time `json:"t"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			rep.fail("%s: line %d: not a record: %v", name, line, err)
			continue
		}
		if rec.T.Before(last) {
			rep.fail("%s: line %d: time %s is before line %d's %s (records reordered)", name, line,
				rec.T.Format(time.RFC3339Nano), line-1, last.Format(time.RFC3339Nano))
		}
		last = rec.T
	}
	if err := sc.Err(); err != nil {
		rep.fail("%s: line %d: %v", name, line+1, err)
	}
}
