package cli

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/vigil-itm/vigil/agent"
	"github.com/vigil-itm/vigil/api"
	"github.com/vigil-itm/vigil/console"
	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/evidence"
	"github.com/vigil-itm/vigil/evidence/screen"
	"github.com/vigil-itm/vigil/identity"
)

// evidenceArchive is the server's side of the evidence package format:
// unpack, verify with the agent's enrolled key, countersign with the
// server's own key.
type evidenceArchive struct {
	key  ed25519.PrivateKey
	seal *ecdh.PrivateKey
}

var _ api.EvidenceArchive = (*evidenceArchive)(nil)

// newEvidenceArchive returns the server's handling of evidence packages,
// with its countersigning key in dataDir/server-evidence-key.pem (created
// on first start, readable by its owner only).
func newEvidenceArchive(dataDir string) (api.EvidenceArchive, error) {
	k, err := evidence.LoadOrCreateKey(filepath.Join(dataDir, "server-evidence-key.pem"))
	if err != nil {
		return nil, fmt.Errorf("server evidence key: %w", err)
	}
	// The key agents seal packages to while they wait in their spool.
	seal, err := evidence.LoadOrCreateSealKey(filepath.Join(dataDir, "server-evidence-seal-key.pem"))
	if err != nil {
		return nil, fmt.Errorf("server evidence seal key: %w", err)
	}
	a := &evidenceArchive{key: k, seal: seal}
	// The public half, for whoever verifies packages offline
	// (vigil evidence verify --server-key).
	pub, err := evidence.MarshalPublicKey(a.ServerKey())
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dataDir, "server-evidence-key.pub"), pub, 0o644); err != nil {
		return nil, fmt.Errorf("server evidence key: %w", err)
	}
	return a, nil
}

func (a *evidenceArchive) Unpack(archive, dir string) error {
	tmp := dir + ".unzip"
	_ = os.RemoveAll(tmp)
	defer func() { _ = os.RemoveAll(tmp) }()
	pkg, err := evidence.Unzip(archive, tmp, evidence.ZipLimits{})
	if err != nil {
		return err
	}
	return os.Rename(pkg, dir)
}

func (a *evidenceArchive) Manifest(dir string) (api.EvidenceManifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return api.EvidenceManifest{}, err
	}
	m, err := evidence.ParseManifest(data)
	if err != nil {
		return api.EvidenceManifest{}, err
	}
	return api.EvidenceManifest{AlertID: m.AlertID, Host: m.Host, User: m.User, Partial: m.Partial}, nil
}

func (a *evidenceArchive) Verify(dir string, agentKey ed25519.PublicKey) (api.EvidenceVerdict, error) {
	rep, err := evidence.Verify(dir, evidence.VerifyOptions{AgentKey: agentKey, ServerKey: a.ServerKey()})
	if err != nil {
		return api.EvidenceVerdict{}, err
	}
	rep.Manifest = nil // the manifest is in the package; the verdict stays small
	raw, err := json.Marshal(rep)
	if err != nil {
		return api.EvidenceVerdict{}, err
	}
	return api.EvidenceVerdict{OK: rep.OK, Problems: rep.Failures, Report: raw}, nil
}

func (a *evidenceArchive) Countersign(dir string) error {
	err := evidence.Countersign(dir, a.key)
	if errors.Is(err, evidence.ErrCountersigned) {
		return nil
	}
	return err
}

func (a *evidenceArchive) Zip(dir string, w io.Writer) error { return evidence.Zip(dir, w) }

func (a *evidenceArchive) SealKey() string { return evidence.MarshalSealPublicKey(a.seal.PublicKey()) }

// Unseal decrypts a package an agent sealed to this server into a zip
// beside the upload; a plain archive is used as it is.
func (a *evidenceArchive) Unseal(path string) (string, bool, error) {
	in, err := os.Open(path)
	if err != nil {
		return "", false, err
	}
	defer func() { _ = in.Close() }() // read only
	prefix := make([]byte, len(evidence.SealMagic))
	n, err := io.ReadFull(in, prefix)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	if !evidence.IsSealed(prefix[:n]) {
		return path, false, nil
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return "", true, err
	}
	out := path + ".unsealed"
	f, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", true, err
	}
	err = evidence.OpenSealed(f, in, a.seal)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(out)
		return "", true, err
	}
	return out, true, nil
}

func (a *evidenceArchive) ServerKey() ed25519.PublicKey {
	pub, _ := a.key.Public().(ed25519.PublicKey)
	return pub
}

// agentOptions returns the agent's collaborators: the evidence ring
// buffers the sensors feed, the screen recorder, and the capture that
// writes a signed package when a decision asks for evidence. The signing
// key is the agent's enrolled evidence key in dataDir.
func agentOptions(dataDir, version string, logger *slog.Logger) (agent.Options, error) {
	opts := agent.Options{Logger: logger, Version: version, Directory: directoryEnricher}
	cfg := evidence.DefaultConfig()
	if p := filepath.Join(dataDir, "evidence.yml"); fileExists(p) {
		data, err := os.ReadFile(p)
		if err != nil {
			return opts, err
		}
		if err := evidence.DecodeConfig(data, &cfg); err != nil {
			return opts, fmt.Errorf("%s: %w", p, err)
		}
	}
	if !cfg.Enabled {
		return opts, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return opts, err
	}
	key, err := agent.LoadOrCreateEvidenceKey(dataDir)
	if err != nil {
		return opts, err
	}
	buf, err := evidence.NewBuffers(cfg, logger.With("component", "evidence"))
	if err != nil {
		return opts, err
	}
	var grabber evidence.Grabber
	if cfg.Screen.Enabled {
		if g, err := screen.New(cfg.Screen.Backend); err != nil {
			logger.Info("no screen evidence: the screen cannot be captured here", "err", err)
		} else {
			grabber = g
		}
	}
	spool := filepath.Join(dataDir, "evidence")
	rec, err := evidence.NewRecorder(evidence.RecorderOptions{Buffers: buf, Grabber: grabber, Key: key, SpoolDir: spool,
		Logger: logger.With("component", "evidence")})
	if err != nil {
		return opts, err
	}
	opts.Evidence = buf
	opts.Services = append(opts.Services, rec.Run)
	opts.Observe = func(e *event.Event) {
		if e.Event.Action == "window-focused" && e.Window != nil {
			buf.SetFocus(e.Window.App, e.Window.Title)
		}
	}
	opts.Capture = func(ctx context.Context, d engine.Decision, e *event.Event, w io.Writer) error {
		req := evidence.Request{AlertID: d.DecisionID, Time: d.Timestamp, Severity: d.Severity,
			BundleName: d.Bundle.Name, BundleRevision: d.Bundle.Revision, Spec: *d.Evidence}
		for _, r := range d.Rules {
			req.RuleIDs = append(req.RuleIDs, r.ID)
		}
		if e.Host != nil {
			req.Host = e.Host.Name
		}
		if e.User != nil {
			req.User, req.Groups = e.User.Name, e.User.Groups
		}
		res, err := rec.Capture(ctx, req)
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(res.Dir) }()
		return evidence.Zip(res.Dir, w)
	}
	return opts, nil
}

// directoryEnricher turns the server's directory document into the
// function that enriches events on the agent.
func directoryEnricher(data map[string]any) (func(*event.Event), error) {
	en, err := identity.NewBundleEnricher(data)
	if err != nil {
		return nil, err
	}
	return en.Enrich, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// consoleMounts returns the web console's handler, served at /console/.
func consoleMounts() []api.Mount {
	return []api.Mount{{Prefix: "/console", Handler: console.Handler()}}
}
