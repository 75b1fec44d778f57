package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/vigil-itm/vigil/policies"
)

// Format is the value of Manifest.Format for packages this code writes.
const Format = "vigil-evidence/1"

// Names of the files in a package.
const (
	ManifestFile      = "manifest.json"
	SignatureFile     = "manifest.sig"
	CountersigFile    = "manifest.countersig"
	FramesIndexFile   = "frames/frames.json"
	KeystrokesFile    = "keystrokes.jsonl"
	ClipboardFile     = "clipboard.jsonl"
	ScreenshotFile    = "screenshot.png"
	SessionCastFile   = "session.cast"
	maxManifestBytes  = 16 << 20
	maxFramesIndex    = 64 << 20
	maxPackageEntries = 200000
)

// ErrBadManifest is returned (wrapped) for a manifest that cannot be parsed
// or breaks the format's rules.
var ErrBadManifest = errors.New("bad evidence manifest")

// Manifest describes an evidence package: the alert it was captured for,
// the window of time it covers, how it was captured, and every file with
// its hash. manifest.sig signs its exact bytes.
type Manifest struct {
	// Format is "vigil-evidence/1".
	Format string `json:"format"`
	// AlertID is the alert the package was captured for; it names the
	// package directory.
	AlertID string `json:"alert_id"`
	// AlertTime is when the rule fired.
	AlertTime time.Time `json:"alert_time"`
	// RuleIDs are the rules that fired.
	RuleIDs []string `json:"rule_ids"`
	// Severity is the alert's severity.
	Severity string `json:"severity,omitempty"`
	// Bundle is the policy bundle whose rules fired.
	Bundle BundleInfo `json:"bundle"`
	// Host and User are where and for whom the evidence was captured.
	Host string `json:"host"`
	User string `json:"user"`
	// Window is the span of time the package covers.
	Window TimeWindow `json:"window"`
	// CreatedAt is when the package was written.
	CreatedAt time.Time `json:"created_at"`
	// RetainUntil is when the server may delete the package (the
	// retention configured for the severity).
	RetainUntil time.Time `json:"retain_until,omitzero"`
	// Partial is true when the capture stopped before its post-roll ended
	// (shutdown, size limit); the package is still complete and signed for
	// what it holds.
	Partial       bool   `json:"partial"`
	PartialReason string `json:"partial_reason,omitempty"`
	// Capture records the settings the package was captured with.
	Capture CaptureSettings `json:"capture"`
	// Withheld lists the kinds of evidence asked for but not captured, and
	// why.
	Withheld []Withheld `json:"withheld,omitempty"`
	// Frames sums up the screen frames and their hash chain.
	Frames FramesSummary `json:"frames"`
	// Terminals lists the terminal sessions recorded.
	Terminals []TerminalInfo `json:"terminals,omitempty"`
	// Files lists every file of the package except manifest.json and its
	// signatures, sorted by path.
	Files []FileEntry `json:"files"`
	// Agent identifies the key that signed the package.
	Agent Signer `json:"agent"`
}

// BundleInfo names a policy bundle revision.
type BundleInfo struct {
	Name     string `json:"name"`
	Revision string `json:"revision"`
}

// TimeWindow is a span of time.
type TimeWindow struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// CaptureSettings are the settings a package was captured with.
type CaptureSettings struct {
	// Spec is the evidence the decision asked for.
	Spec policies.EvidenceSpec `json:"spec"`
	// FrameInterval and PostRollInterval are the screen frame intervals
	// while buffering and during the post-roll.
	FrameInterval    policies.Duration `json:"frame_interval"`
	PostRollInterval policies.Duration `json:"post_roll_interval"`
	// MaxWidth and Quality are the frame scaling and JPEG quality.
	MaxWidth int `json:"max_width"`
	Quality  int `json:"quality"`
	// Backend is the screen capture backend.
	Backend string `json:"backend,omitempty"`
	// Masking says whether secret masking was on.
	Masking bool `json:"masking"`
	// BlockedApps counts the applications never captured.
	BlockedApps int `json:"blocked_apps"`
}

// Withheld is a kind of evidence that was asked for and not captured.
type Withheld struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// FramesSummary sums up the frames of a package.
type FramesSummary struct {
	Count int `json:"count"`
	// Genesis is the hash the chain starts from: sha256 of the format and
	// the alert id.
	Genesis string `json:"genesis,omitempty"`
	// ChainHead is the hash of the last frame entry in frames.json.
	ChainHead string `json:"chain_head,omitempty"`
	// Blanked counts the frames blanked for privacy.
	Blanked int `json:"blanked,omitempty"`
}

// TerminalInfo describes one recorded terminal session.
type TerminalInfo struct {
	File    string `json:"file"`
	Session string `json:"session"`
	TTY     string `json:"tty,omitempty"`
	User    string `json:"user,omitempty"`
	Shell   string `json:"shell,omitempty"`
}

// FileEntry is one file of a package.
type FileEntry struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Signer identifies a signing key.
type Signer struct {
	// KeyID is the key's fingerprint (see KeyID).
	KeyID string `json:"key_id"`
	// PublicKey is the raw Ed25519 public key, base64. It lets anyone check
	// the package's integrity; only a key obtained out of band (enrolment)
	// proves who signed it.
	PublicKey string `json:"public_key"`
}

// FrameEntry is one frame in frames/frames.json. Hash chains the entries:
// sha256 over Prev, the times, the file name and the image hash, so that
// removing, adding or reordering frames breaks the chain.
type FrameEntry struct {
	T       time.Time `json:"t"`
	Until   time.Time `json:"until"`
	File    string    `json:"file"`
	SHA256  string    `json:"sha256"`
	Width   int       `json:"width"`
	Height  int       `json:"height"`
	Blanked bool      `json:"blanked,omitempty"`
	Prev    string    `json:"prev"`
	Hash    string    `json:"hash"`
}

// ChainGenesis returns the hash a package's frame chain starts from.
func ChainGenesis(alertID string) string {
	s := sha256.Sum256([]byte(Format + "\n" + alertID))
	return hex.EncodeToString(s[:])
}

// ChainHash returns the chain hash of a frame entry given the previous
// entry's hash (the genesis for the first).
func ChainHash(prev string, e FrameEntry) string {
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%s\n%t", prev, e.T.UTC().Format(time.RFC3339Nano),
		e.Until.UTC().Format(time.RFC3339Nano), e.File, e.SHA256, e.Blanked)
	return hex.EncodeToString(h.Sum(nil))
}

// ParseManifest decodes and checks a manifest. Unknown fields are errors,
// and every file path must be a clean relative path inside the package.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > maxManifestBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d allowed", ErrBadManifest, len(data), maxManifestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadManifest, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the manifest object", ErrBadManifest)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrBadManifest, m.Format, Format)
	}
	if err := CheckAlertID(m.AlertID); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadManifest, err)
	}
	if len(m.Files) > maxPackageEntries {
		return nil, fmt.Errorf("%w: %d files, more than %d", ErrBadManifest, len(m.Files), maxPackageEntries)
	}
	seen := make(map[string]bool, len(m.Files))
	for i, f := range m.Files {
		if err := checkMemberPath(f.Path); err != nil {
			return nil, fmt.Errorf("%w: files[%d]: %w", ErrBadManifest, i, err)
		}
		if f.Path == ManifestFile || f.Path == SignatureFile || f.Path == CountersigFile {
			return nil, fmt.Errorf("%w: files[%d]: %s cannot list itself or its signatures", ErrBadManifest, i, f.Path)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("%w: files[%d]: %s listed twice", ErrBadManifest, i, f.Path)
		}
		seen[f.Path] = true
		if len(f.SHA256) != 64 || !isHex(f.SHA256) {
			return nil, fmt.Errorf("%w: files[%d] %s: sha256 is not 64 hex digits", ErrBadManifest, i, f.Path)
		}
		if f.Size < 0 {
			return nil, fmt.Errorf("%w: files[%d] %s: negative size", ErrBadManifest, i, f.Path)
		}
	}
	return &m, nil
}

// CheckAlertID checks that an alert id can name a package directory: not
// empty, at most 128 bytes, letters, digits and "-_." only, and not "." or
// "..".
func CheckAlertID(id string) error {
	if id == "" || len(id) > 128 || id == "." || id == ".." {
		return fmt.Errorf("alert id %q cannot name a package", id)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.", r)
		if !ok {
			return fmt.Errorf("alert id %q: character %q not allowed (letters, digits and -_. only)", id, r)
		}
	}
	return nil
}

// checkMemberPath checks that p is a clean, relative, slash-separated path
// that stays inside the package.
func checkMemberPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case len(p) > 512:
		return fmt.Errorf("path %.40q… longer than 512 bytes", p)
	case strings.ContainsAny(p, "\\\x00:"):
		return fmt.Errorf("path %q has a backslash, colon or NUL", p)
	case path.IsAbs(p):
		return fmt.Errorf("path %q is absolute", p)
	case path.Clean(p) != p:
		return fmt.Errorf("path %q is not clean", p)
	case p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("path %q leaves the package", p)
	}
	return nil
}

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
