package api

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vigil-itm/vigil/store"
)

// EvidenceArchive is what the server needs of the evidence package format
// (DESIGN §6): unpacking an uploaded archive safely, verifying and
// countersigning a package, and writing one back as an archive. The server
// owns where packages are kept (Config.EvidenceDir, one directory each).
type EvidenceArchive interface {
	// Unpack extracts the zip archive at archive into dir, which does not
	// exist yet, refusing entries that would escape dir, links and archives
	// over the size limits.
	Unpack(archive, dir string) error
	// Manifest reads what the server needs from the package in dir.
	Manifest(dir string) (EvidenceManifest, error)
	// Verify checks every hash, the frame chain, the agent's signature (with
	// agentKey) and the server's countersignature when there is one.
	Verify(dir string, agentKey ed25519.PublicKey) (EvidenceVerdict, error)
	// Countersign signs the package's manifest with the server's key.
	Countersign(dir string) error
	// Zip writes the package in dir to w as a zip archive.
	Zip(dir string, w io.Writer) error
	// ServerKey is the public key of the server's countersignatures.
	ServerKey() ed25519.PublicKey
	// SealKey is the X25519 public key (standard base64) agents seal
	// packages to while they wait in their spool; "" when the server has
	// none.
	SealKey() string
	// Unseal returns the path of the plain zip archive of the upload at
	// path: the upload itself when it is not sealed, else a new file
	// beside it holding the decrypted archive (sealed is then true and the
	// caller removes the file). A package sealed to another key, or
	// altered, is an error.
	Unseal(path string) (archive string, sealed bool, err error)
}

// EvidenceManifest is the part of a package manifest the server reads.
type EvidenceManifest struct {
	// AlertID is the id of the decision the package was captured for, as
	// the agent's engine named it.
	AlertID string
	Host    string
	User    string
	Partial bool
}

// EvidenceVerdict is the outcome of verifying a package.
type EvidenceVerdict struct {
	// OK is true when every check passed.
	OK bool `json:"ok"`
	// Problems says what failed, one entry per failed check.
	Problems []string `json:"problems,omitempty"`
	// Report is the verifier's full report.
	Report json.RawMessage `json:"report,omitempty"`
}

// evidenceReceipt is what the server keeps beside a package about its
// arrival: who sent it, so that it can be verified again with that
// agent's key.
type evidenceReceipt struct {
	AgentID  string    `json:"agent_id"`
	Received time.Time `json:"received"`
	SHA256   string    `json:"sha256"`
	Size     int64     `json:"size"`
	// Sealed says the upload was sealed to the server's key (its SHA-256
	// and size are the sealed file's).
	Sealed bool `json:"sealed"`
}

// evidenceUploadResponse answers an evidence upload.
type evidenceUploadResponse struct {
	Evidence store.EvidenceRecord `json:"evidence"`
	// Duplicate is true when the same archive had already been received.
	Duplicate bool            `json:"duplicate,omitempty"`
	Verdict   EvidenceVerdict `json:"verdict"`
}

// evidenceList is the evidence of one alert.
type evidenceList struct {
	Evidence []store.EvidenceRecord `json:"evidence"`
}

// evidenceVerifyRequest is the body of POST /api/v1/evidence/{id}/verify.
type evidenceVerifyRequest struct {
	// Reason is recorded in the audit log. Required.
	Reason string `json:"reason" api:"required"`
}

// evidenceVerifyResponse answers a verification.
type evidenceVerifyResponse struct {
	Evidence store.EvidenceRecord `json:"evidence"`
	Verdict  EvidenceVerdict      `json:"verdict"`
}

// packageIDPattern is the form of evidence package ids: the first 128 bits
// of the archive's SHA-256, in hex. Anything else (such as "../x") is
// refused before it reaches the file system.
var packageIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// packageDir returns the directory of a package, or an error for a
// malformed id.
func (s *Server) packageDir(id string) (string, error) {
	if !packageIDPattern.MatchString(id) {
		return "", errorf(CodeInvalidArgument, "evidence id %q: want 32 lowercase hex digits", id)
	}
	return filepath.Join(s.cfg.EvidenceDir, id), nil
}

func (s *Server) evidenceReady() error {
	if s.deps.EvidenceArchive == nil || s.deps.Evidence == nil || s.cfg.EvidenceDir == "" {
		return notConfigured("evidence is not configured on this server (evidence_dir)")
	}
	return nil
}

// uploadEvidence serves POST /api/v1/evidence: an agent sends a package
// archive. It is verified with the agent's enrolled key, linked to the
// alert of its decision, countersigned and kept.
func (s *Server) uploadEvidence(c *gin.Context) (_ any, err error) {
	defer func() { s.metrics.evidenceUploads.WithLabelValues(resultCode(err)).Inc() }()
	if err := s.evidenceReady(); err != nil {
		return nil, err
	}
	ctx := c.Request.Context()
	tok, _ := tokenOf(c)
	var agentKey ed25519.PublicKey
	if ag, err := s.deps.Agents.Get(ctx, tok.ID); err == nil && ag.EvidenceKey != "" {
		k, err := base64.StdEncoding.DecodeString(ag.EvidenceKey)
		if err == nil && len(k) == ed25519.PublicKeySize {
			agentKey = k
		}
	}
	if agentKey == nil {
		return nil, errorf(CodeForbidden, "the token %q belongs to no enrolled agent with an evidence key: enroll the agent first", tok.Name)
	}

	// Stream the archive to a temporary file, hashing it on the way.
	if err := os.MkdirAll(s.cfg.EvidenceDir, 0o700); err != nil {
		return nil, fmt.Errorf("evidence directory: %w", err)
	}
	tmp, err := os.CreateTemp(s.cfg.EvidenceDir, ".upload-*.zip")
	if err != nil {
		return nil, storageError("evidence upload", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(tmp, h), c.Request.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(CodeBodyTooLarge, "evidence archive larger than the limit of %d bytes", s.cfg.MaxEvidenceBytes)
		}
		return nil, storageError("evidence upload", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	id := sum[:32]
	dir, _ := s.packageDir(id)

	if rec, err := s.deps.Evidence.Get(ctx, id); err == nil {
		return evidenceUploadResponse{Evidence: rec, Duplicate: true, Verdict: EvidenceVerdict{OK: rec.Verified}}, nil
	}

	work := dir + ".partial"
	_ = os.RemoveAll(work)
	defer func() { _ = os.RemoveAll(work) }()
	archive, sealed, err := s.deps.EvidenceArchive.Unseal(tmp.Name())
	if err != nil {
		if isNoSpace(err) {
			return nil, storageError("open sealed evidence", err)
		}
		return nil, &apiError{code: CodeInvalidEvidence, msg: "open sealed evidence: " + err.Error(), err: err}
	}
	if sealed {
		defer func() { _ = os.Remove(archive) }()
	}
	if err := s.deps.EvidenceArchive.Unpack(archive, work); err != nil {
		if isNoSpace(err) {
			return nil, storageError("unpack evidence", err)
		}
		return nil, &apiError{code: CodeInvalidEvidence, msg: "unpack evidence archive: " + err.Error(), err: err}
	}
	m, err := s.deps.EvidenceArchive.Manifest(work)
	if err != nil {
		return nil, &apiError{code: CodeInvalidEvidence, msg: "read evidence manifest: " + err.Error(), err: err}
	}
	verdict, err := s.deps.EvidenceArchive.Verify(work, agentKey)
	if err != nil {
		return nil, &apiError{code: CodeInvalidEvidence, msg: "verify evidence: " + err.Error(), err: err}
	}
	if !verdict.OK {
		return nil, &apiError{code: CodeInvalidEvidence, details: verdict,
			msg: fmt.Sprintf("evidence package failed verification: %s", strings.Join(verdict.Problems, "; "))}
	}
	// The alert: the decision the agent sent with its events batch.
	rec, err := s.deps.Decisions.Get(ctx, m.AlertID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &apiError{code: CodeConflict, err: err,
			msg: fmt.Sprintf("decision %q of this evidence has not been received: send the events batch carrying it first, then retry", m.AlertID)}
	}
	if err != nil {
		return nil, fmt.Errorf("evidence %s: decision %q: %w", id, m.AlertID, err)
	}
	if !rec.Alert {
		return nil, errorf(CodeInvalidEvidence, "decision %q did not raise an alert; evidence is kept only for alerts", m.AlertID)
	}
	alert, _, err := s.deps.Alerts.Create(context.WithoutCancel(ctx), rec)
	if err != nil {
		return nil, fmt.Errorf("evidence %s: alert of decision %q: %w", id, m.AlertID, err)
	}
	if err := s.deps.EvidenceArchive.Countersign(work); err != nil {
		return nil, storageError("countersign evidence", err)
	}
	now := s.now().UTC()
	receipt, _ := json.Marshal(evidenceReceipt{AgentID: tok.ID, Received: now, SHA256: sum, Size: size, Sealed: sealed})
	if err := os.WriteFile(dir+".json", receipt, 0o600); err != nil {
		return nil, storageError("evidence receipt", err)
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(work, dir); err != nil {
		return nil, storageError("keep evidence", err)
	}
	out := store.EvidenceRecord{PackageID: id, AlertID: alert.ID, Path: id, SHA256: sum, Size: size,
		Created: now, Verified: true, VerifiedAt: now}
	if err := s.deps.Evidence.Add(context.WithoutCancel(ctx), out); err != nil {
		return nil, err
	}
	if err := s.audit(c, "evidence.receive", id, "alert "+alert.ID); err != nil {
		return nil, err
	}
	s.log.Info("evidence received", "package_id", id, "alert_id", alert.ID, "agent_id", tok.ID, "bytes", size, "sealed", sealed, "partial", m.Partial)
	return reply{status: http.StatusCreated, body: evidenceUploadResponse{Evidence: out, Verdict: verdict}}, nil
}

// isNoSpace reports a full disk.
func isNoSpace(err error) bool {
	return errors.Is(err, errNoSpace)
}

// storageError classifies a file-system failure while keeping evidence: a
// full disk is storage_full, the rest internal.
func storageError(what string, err error) error {
	if isNoSpace(err) {
		return &apiError{code: CodeStorageFull, msg: what + ": the evidence disk is full; nothing was kept", err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (s *Server) listAlertEvidence(c *gin.Context) (any, error) {
	ctx := c.Request.Context()
	id := c.Param("id")
	if _, err := s.deps.Alerts.Get(ctx, id); err != nil {
		return nil, err
	}
	if s.deps.Evidence == nil {
		return evidenceList{Evidence: []store.EvidenceRecord{}}, nil
	}
	recs, err := s.deps.Evidence.List(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("list evidence of alert %q: %w", id, err)
	}
	if recs == nil {
		recs = []store.EvidenceRecord{}
	}
	return evidenceList{Evidence: recs}, nil
}

// evidenceReason returns the reason query parameter, which every view of
// evidence must give.
func evidenceReason(c *gin.Context) (string, error) {
	reason := strings.TrimSpace(c.Query("reason"))
	if reason == "" {
		return "", errorf(CodeReasonRequired, "reason: say why you open this evidence; it is written to the audit log")
	}
	if len(reason) > 1000 {
		return "", errorf(CodeInvalidArgument, "reason: at most 1000 characters")
	}
	return reason, nil
}

// evidenceRecord returns a package's record and directory.
func (s *Server) evidenceRecord(c *gin.Context) (store.EvidenceRecord, string, error) {
	if err := s.evidenceReady(); err != nil {
		return store.EvidenceRecord{}, "", err
	}
	id := c.Param("id")
	dir, err := s.packageDir(id)
	if err != nil {
		return store.EvidenceRecord{}, "", err
	}
	rec, err := s.deps.Evidence.Get(c.Request.Context(), id)
	if err != nil {
		return rec, "", err
	}
	return rec, dir, nil
}

// downloadEvidence serves GET /api/v1/evidence/{id}: the package as a zip.
func (s *Server) downloadEvidence(c *gin.Context) (any, error) {
	reason, err := evidenceReason(c)
	if err != nil {
		return nil, err
	}
	rec, dir, err := s.evidenceRecord(c)
	if err != nil {
		return nil, err
	}
	if err := s.audit(c, "evidence.download", rec.PackageID, reason); err != nil {
		return nil, err
	}
	h := c.Writer.Header()
	h.Set("Content-Type", mediaZip)
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "evidence-"+rec.PackageID+".zip"))
	h.Set("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	if err := s.deps.EvidenceArchive.Zip(dir, c.Writer); err != nil {
		// The status is sent; all that is left is to cut the response short
		// and say why in the log.
		s.log.Error("write evidence archive", "package_id", rec.PackageID, "err", err)
		c.Abort()
	}
	return nil, nil
}

// evidenceFile serves GET /api/v1/evidence/{id}/file: one file of a
// package, for the console's player.
func (s *Server) evidenceFile(c *gin.Context) (any, error) {
	reason, err := evidenceReason(c)
	if err != nil {
		return nil, err
	}
	rec, dir, err := s.evidenceRecord(c)
	if err != nil {
		return nil, err
	}
	name := c.Query("path")
	if name == "" || !filepath.IsLocal(name) || strings.Contains(name, "\\") || path.Clean(name) != name {
		return nil, errorf(CodeInvalidArgument, "path %q: want a file of the package, such as manifest.json or frames/frames.json", name)
	}
	full := filepath.Join(dir, filepath.FromSlash(name))
	fi, err := os.Lstat(full)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, errorf(CodeNotFound, "evidence %s has no file %q", rec.PackageID, name)
	}
	if s.viewAudit.first(actorOf(c), rec.PackageID, reason, s.now()) {
		if err := s.audit(c, "evidence.view", rec.PackageID, reason); err != nil {
			return nil, err
		}
	}
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".jsonl", ".cast":
		ct = "application/x-ndjson"
	case ".sig", ".countersig":
		ct = "text/plain; charset=utf-8"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Header("Cache-Control", "private, no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	f, err := os.Open(full)
	if err != nil {
		return nil, fmt.Errorf("open evidence file: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	c.DataFromReader(http.StatusOK, fi.Size(), ct, f, nil)
	return nil, nil
}

// verifyEvidence serves POST /api/v1/evidence/{id}/verify.
func (s *Server) verifyEvidence(c *gin.Context) (any, error) {
	data, err := readBody(c, s.cfg.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	var req evidenceVerifyRequest
	if err := decodeJSON(data, &req, false); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Reason) == "" {
		return nil, errorf(CodeReasonRequired, "reason: say why you verify this evidence; it is written to the audit log")
	}
	rec, dir, err := s.evidenceRecord(c)
	if err != nil {
		return nil, err
	}
	var receipt evidenceReceipt
	raw, err := os.ReadFile(dir + ".json")
	if err != nil {
		return nil, fmt.Errorf("evidence %s: read receipt: %w", rec.PackageID, err)
	}
	if err := json.Unmarshal(raw, &receipt); err != nil {
		return nil, fmt.Errorf("evidence %s: read receipt: %w", rec.PackageID, err)
	}
	ctx := c.Request.Context()
	ag, err := s.deps.Agents.Get(ctx, receipt.AgentID)
	if err != nil {
		return nil, fmt.Errorf("evidence %s: agent %q: %w", rec.PackageID, receipt.AgentID, err)
	}
	key, err := base64.StdEncoding.DecodeString(ag.EvidenceKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("evidence %s: agent %q has no valid evidence key", rec.PackageID, receipt.AgentID)
	}
	verdict, err := s.deps.EvidenceArchive.Verify(dir, key)
	if err != nil {
		verdict = EvidenceVerdict{OK: false, Problems: []string{err.Error()}}
	}
	now := s.now().UTC()
	if err := s.deps.Evidence.SetVerified(context.WithoutCancel(ctx), rec.PackageID, verdict.OK, now); err != nil {
		return nil, err
	}
	if err := s.audit(c, "evidence.verify", rec.PackageID, req.Reason); err != nil {
		return nil, err
	}
	rec.Verified, rec.VerifiedAt = verdict.OK, now
	return evidenceVerifyResponse{Evidence: rec, Verdict: verdict}, nil
}

// viewAudit remembers which (actor, package, reason) views were audited in
// the last hour, so that a player fetching hundreds of frames writes one
// audit entry for the viewing, not one per frame.
type viewAudit struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

const viewAuditWindow = time.Hour

// first reports whether this view is the first of its kind within the
// window, and remembers it.
func (v *viewAudit) first(actor, pkg, reason string, now time.Time) bool {
	key := actor + "\x00" + pkg + "\x00" + reason
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[string]time.Time{}
	}
	if t, ok := v.seen[key]; ok && now.Sub(t) < viewAuditWindow {
		return false
	}
	if len(v.seen) > 10_000 {
		for k, t := range v.seen {
			if now.Sub(t) >= viewAuditWindow {
				delete(v.seen, k)
			}
		}
	}
	v.seen[key] = now
	return true
}

// errNoSpace is the error of a write to a full disk.
var errNoSpace = syscall.ENOSPC
