package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/internal/atomicfile"
	"github.com/vigil-itm/vigil/policies"
	"github.com/vigil-itm/vigil/store"
)

// bundleList lists bundle revisions.
type bundleList struct {
	Bundles []store.BundleRevision `json:"bundles"`
}

// activationList is the activation history.
type activationList struct {
	Activations []store.Activation `json:"activations"`
}

// activateRequest is the optional body of an activation.
type activateRequest struct {
	// Reason is recorded in the activation history and the audit log.
	Reason string `json:"reason,omitempty"`
}

// bundleError classifies an error met loading an uploaded bundle: the
// bundle is at fault unless the error table knows better.
func bundleError(err error) error {
	var ds policies.Diagnostics
	if errors.As(err, &ds) {
		errs := ds.Errors().Sorted()
		details := make([]string, len(errs))
		for i, d := range errs {
			details[i] = d.String()
		}
		return &apiError{code: CodeInvalidBundle, msg: fmt.Sprintf("the bundle has %d error(s): %s", len(errs), clientMessage(errs)),
			details: map[string]any{"diagnostics": details}, err: err}
	}
	if code, _, _, _ := classify(err); code != CodeInternal {
		return err
	}
	return &apiError{code: CodeInvalidBundle, msg: clientMessage(err), err: err}
}

// uploadBundle serves POST /api/v1/bundles.
func (s *Server) uploadBundle(c *gin.Context) (_ any, err error) {
	defer func() { s.metrics.bundleUploads.WithLabelValues(resultCode(err)).Inc() }()
	if len(s.bundleKey) == 0 {
		return nil, notConfigured("bundle uploads are disabled: the server has no bundle verification key (bundle_key_file)")
	}
	if enc := c.GetHeader("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, errorf(CodeUnsupportedMediaType, "Content-Encoding %q: send the .tar.gz as it is", enc)
	}
	data, err := readBody(c, s.cfg.MaxBundleBytes)
	if err != nil {
		return nil, err
	}
	opts := []policies.LoadOption{policies.WithVerificationKey(s.bundleKey, s.cfg.BundleKeyAlg)}
	if s.cfg.VigilVersion != "" {
		opts = append(opts, policies.WithVigilVersion(s.cfg.VigilVersion))
	}
	// Verified (signature first) and validated before anything is stored.
	b, err := policies.LoadTarball(bytes.NewReader(data), opts...)
	if err != nil {
		return nil, bundleError(err)
	}
	if b.Revision() == "" {
		return nil, errorf(CodeInvalidBundle, "the bundle's .manifest has no revision")
	}
	rev, err := s.deps.Bundles.Upload(c.Request.Context(), store.BundleUpload{
		Name: b.Name(), Revision: b.Revision(), Tarball: data, UploadedBy: actorOf(c),
	})
	if err != nil {
		return nil, err
	}
	if err := s.audit(c, "bundle.upload", rev.Name+"@"+rev.Revision, ""); err != nil {
		return nil, err
	}
	s.log.Info("bundle uploaded", "name", rev.Name, "revision", rev.Revision, "sha256", rev.SHA256, "by", actorOf(c))
	return reply{status: http.StatusCreated, body: rev}, nil
}

// resultCode labels a metric with the outcome of a request.
func resultCode(err error) string {
	if err == nil {
		return "ok"
	}
	code, _, _, _ := classify(err)
	return string(code)
}

func (s *Server) listBundles(c *gin.Context) (any, error) {
	revs, err := s.deps.Bundles.List(c.Request.Context(), c.Query("name"))
	if err != nil {
		return nil, fmt.Errorf("list bundles: %w", err)
	}
	if revs == nil {
		revs = []store.BundleRevision{}
	}
	return bundleList{Bundles: revs}, nil
}

func (s *Server) listActivations(c *gin.Context) (any, error) {
	acts, err := s.deps.Bundles.Activations(c.Request.Context())
	if err != nil {
		return nil, fmt.Errorf("list activations: %w", err)
	}
	if acts == nil {
		acts = []store.Activation{}
	}
	return activationList{Activations: acts}, nil
}

// activeBundle serves GET /api/v1/bundles/active, answering 304 when the
// agent's copy is current.
func (s *Server) activeBundle(c *gin.Context) (any, error) {
	ctx := c.Request.Context()
	rev, err := s.deps.Bundles.Active(ctx)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, &apiError{code: CodeNotFound, msg: "no bundle has been activated yet", err: err}
		}
		return nil, fmt.Errorf("active bundle: %w", err)
	}
	etag := rev.ETag()
	h := c.Writer.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Vigil-Bundle-Name", rev.Name)
	h.Set("X-Vigil-Bundle-Revision", rev.Revision)
	if etagMatches(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		c.Writer.WriteHeaderNow()
		return nil, nil
	}
	data, err := s.deps.Bundles.Tarball(ctx, rev.Name, rev.Revision)
	if err != nil {
		return nil, fmt.Errorf("active bundle %s@%s: %w", rev.Name, rev.Revision, err)
	}
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", safeFileName(rev.Name+"-"+rev.Revision)+".tar.gz"))
	c.Data(http.StatusOK, mediaGzip, data)
	return nil, nil
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

// safeFileName keeps letters, digits, '.', '-' and '_' of a name.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// activateBundle serves POST /api/v1/bundles/{name}/{revision}/activate.
func (s *Server) activateBundle(c *gin.Context) (_ any, err error) {
	defer func() { s.metrics.bundleActivates.WithLabelValues(resultCode(err)).Inc() }()
	if s.deps.Activate == nil {
		return nil, notConfigured("bundle activation is not available on this server")
	}
	data, err := readBody(c, s.cfg.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	var req activateRequest
	if err := decodeJSON(data, &req, true); err != nil {
		return nil, err
	}
	name, revision := c.Param("name"), c.Param("revision")
	target := name + "@" + revision

	// Once started, an activation runs to its end even if the client goes
	// away, and one at a time, so that the engine and the store agree.
	ctx := context.WithoutCancel(c.Request.Context())
	s.activateMu.Lock()
	defer s.activateMu.Unlock()

	tarball, err := s.deps.Bundles.Tarball(ctx, name, revision)
	if err != nil {
		return nil, fmt.Errorf("activate bundle %s: %w", target, err)
	}
	prev, prevErr := s.deps.Bundles.Active(ctx)
	ref, err := s.deps.Activate(ctx, tarball)
	if err != nil {
		return nil, bundleError(fmt.Errorf("activate bundle %s: %w", target, err))
	}
	if ref.Name != name || ref.Revision != revision {
		s.log.Warn("activated bundle names itself differently from its stored revision",
			"stored", target, "manifest", ref.Name+"@"+ref.Revision)
	}
	if err := s.deps.Bundles.Activate(ctx, name, revision, actorOf(c), req.Reason); err != nil {
		// Put the engine back on the revision the store still calls active.
		if prevErr == nil {
			if old, terr := s.deps.Bundles.Tarball(ctx, prev.Name, prev.Revision); terr == nil {
				if _, aerr := s.deps.Activate(ctx, old); aerr != nil {
					s.log.Error("restore the previous bundle after a failed activation", "bundle", prev.Name+"@"+prev.Revision, "err", aerr)
				}
			}
		}
		return nil, fmt.Errorf("activate bundle %s: record activation: %w", target, err)
	}
	if err := s.audit(c, "bundle.activate", target, req.Reason); err != nil {
		return nil, err
	}
	s.log.Info("bundle activated", "bundle", target, "by", actorOf(c), "reason", req.Reason)
	active, err := s.deps.Bundles.Active(ctx)
	if err != nil {
		return nil, fmt.Errorf("activate bundle %s: %w", target, err)
	}
	return active, nil
}

// LoadActiveBundle makes the engine run the revision the store calls
// active, through Deps.Activate. A server calls it at start so that its
// engine follows the fleet's bundle; it returns an error matching
// store.ErrNotFound when no revision was ever activated.
func (s *Server) LoadActiveBundle(ctx context.Context) (engine.BundleRef, error) {
	if s.deps.Activate == nil {
		return engine.BundleRef{}, errors.New("load active bundle: no bundle activator")
	}
	s.activateMu.Lock()
	defer s.activateMu.Unlock()
	rev, err := s.deps.Bundles.Active(ctx)
	if err != nil {
		return engine.BundleRef{}, fmt.Errorf("load active bundle: %w", err)
	}
	data, err := s.deps.Bundles.Tarball(ctx, rev.Name, rev.Revision)
	if err != nil {
		return engine.BundleRef{}, fmt.Errorf("load active bundle %s@%s: %w", rev.Name, rev.Revision, err)
	}
	ref, err := s.deps.Activate(ctx, data)
	if err != nil {
		return engine.BundleRef{}, fmt.Errorf("load active bundle %s@%s: %w", rev.Name, rev.Revision, err)
	}
	return ref, nil
}

// LiveActivator returns a BundleActivator for an engine.Live that loads
// its bundle from the tarball at path (whose LoadFunc verifies the
// signature): the tarball is written to path, atomically, and the Live
// reloaded. When the new bundle fails to load or compile, the previous
// file is put back and the Live keeps its program.
func LiveActivator(live *engine.Live, path string) BundleActivator {
	var mu sync.Mutex
	return func(_ context.Context, tarball []byte) (engine.BundleRef, error) {
		mu.Lock()
		defer mu.Unlock()
		old, oldErr := os.ReadFile(path)
		if err := atomicfile.WriteFile(path, tarball, 0o600); err != nil {
			return engine.BundleRef{}, err
		}
		if err := live.Reload(); err != nil {
			var rerr error
			if oldErr == nil {
				rerr = atomicfile.WriteFile(path, old, 0o600)
			} else {
				rerr = os.Remove(path)
			}
			if rerr != nil {
				err = errors.Join(err, fmt.Errorf("restore %s: %w", path, rerr))
			}
			return engine.BundleRef{}, err
		}
		p := live.Program()
		return engine.BundleRef{Name: p.Name(), Revision: p.Revision()}, nil
	}
}
