package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

// Defaults for Config.
const (
	DefaultListenAddr        = "127.0.0.1:8080"
	DefaultMaxRequestBytes   = 1 << 20
	DefaultMaxIngestBytes    = 32 << 20
	DefaultMaxBundleBytes    = 64 << 20
	DefaultMaxBatchEvents    = 10_000
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 2 * time.Minute
	DefaultWriteTimeout      = 2 * time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 20 * time.Second
	DefaultRiskDays          = 30
	DefaultMaxEvidenceBytes  = 512 << 20
)

// Config configures a Server. Zero values take the defaults above.
type Config struct {
	// ListenAddr is the TCP address Run listens on.
	ListenAddr string `yaml:"listen_addr"`
	// TLSCertFile and TLSKeyFile, when both set, make Run serve HTTPS with
	// that PEM certificate (chain) and key. Setting only one is an error.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`

	// MaxRequestBytes limits the body of JSON requests other than event
	// batches.
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// MaxIngestBytes limits the body of POST /api/v1/events, after gzip
	// decompression when the body is compressed.
	MaxIngestBytes int64 `yaml:"max_ingest_bytes"`
	// MaxBundleBytes limits the size of an uploaded bundle tarball.
	MaxBundleBytes int64 `yaml:"max_bundle_bytes"`
	// MaxBatchEvents limits the number of events of one batch.
	MaxBatchEvents int `yaml:"max_batch_events"`

	// Timeouts of the HTTP server, and how long Run waits for requests in
	// flight when its context ends.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`

	// BundleKeyFile names the PEM public key (or certificate) uploaded
	// bundles must be signed with. BundleKeyPEM gives the key itself and
	// wins over the file. Without either, bundle uploads are refused.
	BundleKeyFile string `yaml:"bundle_key_file"`
	BundleKeyPEM  []byte `yaml:"-"`
	// BundleKeyAlg is the signature algorithm, such as "ES256"; empty
	// infers it from the key.
	BundleKeyAlg string `yaml:"bundle_key_alg"`
	// VigilVersion is this build's version; uploaded bundles that ask for
	// a newer one (manifest metadata.min_vigil) are refused. Empty skips
	// the check.
	VigilVersion string `yaml:"-"`

	// RiskDays is the period, in days, over which per-user risk is summed
	// unless a request says otherwise.
	RiskDays int `yaml:"risk_days"`

	// EvidenceDir is where evidence packages received from agents are
	// kept, one directory each. Empty disables evidence upload and viewing.
	EvidenceDir string `yaml:"evidence_dir"`
	// MaxEvidenceBytes limits the size of one uploaded evidence archive.
	MaxEvidenceBytes int64 `yaml:"max_evidence_bytes"`
}

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("tls_cert_file and tls_key_file go together: set both or neither"))
	}
	for _, v := range []struct {
		name string
		n    int64
	}{
		{"max_request_bytes", c.MaxRequestBytes}, {"max_ingest_bytes", c.MaxIngestBytes},
		{"max_bundle_bytes", c.MaxBundleBytes}, {"max_batch_events", int64(c.MaxBatchEvents)},
		{"risk_days", int64(c.RiskDays)}, {"max_evidence_bytes", c.MaxEvidenceBytes},
	} {
		if v.n < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative, got %d", v.name, v.n))
		}
	}
	for _, v := range []struct {
		name string
		d    time.Duration
	}{
		{"read_header_timeout", c.ReadHeaderTimeout}, {"read_timeout", c.ReadTimeout},
		{"write_timeout", c.WriteTimeout}, {"idle_timeout", c.IdleTimeout},
		{"shutdown_timeout", c.ShutdownTimeout},
	} {
		if v.d < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative, got %s", v.name, v.d))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("api config: %w", err)
	}
	return nil
}

func (c *Config) setDefaults() {
	setDefault(&c.ListenAddr, DefaultListenAddr)
	setDefault(&c.MaxRequestBytes, DefaultMaxRequestBytes)
	setDefault(&c.MaxIngestBytes, DefaultMaxIngestBytes)
	setDefault(&c.MaxBundleBytes, DefaultMaxBundleBytes)
	setDefault(&c.MaxBatchEvents, DefaultMaxBatchEvents)
	setDefault(&c.MaxEvidenceBytes, DefaultMaxEvidenceBytes)
	setDefault(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&c.ReadTimeout, DefaultReadTimeout)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&c.RiskDays, DefaultRiskDays)
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// DecisionEngine evaluates events against the active policy bundle.
// *engine.Live implements it.
//
// Evaluate must be safe for concurrent use; it may keep state (rule
// windows) across calls. Program returns the active compiled bundle, or
// nil when none is active, and is used for its name and revision.
type DecisionEngine interface {
	Evaluate(ctx context.Context, e *event.Event) (engine.Decision, error)
	Program() *engine.Program
}

// BundleActivator loads a bundle tarball that the server has verified and
// stored, compiles it and makes it the active bundle of the engine (and
// of every engine that must follow it), returning the name and revision
// now active. A bundle that fails to load or compile must leave the
// previous bundle active; the error should match policies.ErrInvalidBundle
// or engine.ErrCompile so that the client learns its bundle is at fault.
// LiveActivator builds one for an engine.Live.
type BundleActivator func(ctx context.Context, tarball []byte) (engine.BundleRef, error)

// Registry is where the server registers its metrics and what /metrics
// serves; *prometheus.Registry implements it.
type Registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// Deps are what the server works with. Engine, Tokens and every store
// interface are required; the rest are optional.
type Deps struct {
	// Engine evaluates ingested events. Required.
	Engine DecisionEngine
	// Decider answers POST /api/v1/decide. It defaults to Engine; give it
	// an engine of its own (on the same bundle) so that decision queries
	// do not feed the rule windows of ingested events.
	Decider DecisionEngine
	// Activate swaps an activated bundle into the engine. Without it,
	// activation answers 503.
	Activate BundleActivator

	Events    store.Events
	Decisions store.Decisions
	Alerts    store.Alerts
	Bundles   store.Bundles
	Users     store.Users
	Audit     store.Audit
	Tokens    store.Tokens
	// Agents is the agent registry (enrollment, heartbeats).
	Agents store.Agents
	// Evidence indexes evidence packages; EvidenceArchive handles their
	// format. Both are needed, with Config.EvidenceDir, for evidence.
	Evidence        store.Evidence
	EvidenceArchive EvidenceArchive
	// Directory, when set, enriches events before they are stored and
	// evaluated, and serves people and watchlists.
	Directory Directory
	// Sinks, when set, receives every new alert and serves the sinks'
	// status and dead letters.
	Sinks Sinks
	// EventExport, when set, receives every newly stored event.
	EventExport EventExport
	// Mounts are handlers served under their own prefix (SCIM, console).
	Mounts []Mount
	// Home, when set, is where GET / redirects (the console).
	Home string

	// Ping reports whether the store is reachable, for /readyz. Without
	// it, readiness asks the store for the active bundle.
	Ping func(ctx context.Context) error
	// Registry receives the server's metrics and is served on /metrics.
	// Default: a registry of the server's own.
	Registry Registry
	// Logger receives the server's diagnostics (default: discarded).
	Logger *slog.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// WithStore returns d with every store interface taken from s, and Ping
// from s when it has a Ping(context.Context) error method and d has none.
func (d Deps) WithStore(s store.Store) Deps {
	d.Events, d.Decisions, d.Alerts, d.Bundles = s.Events(), s.Decisions(), s.Alerts(), s.Bundles()
	d.Users, d.Audit, d.Tokens = s.Users(), s.Audit(), s.Tokens()
	d.Agents, d.Evidence = s.Agents(), s.Evidence()
	if p, ok := s.(interface{ Ping(context.Context) error }); ok && d.Ping == nil {
		d.Ping = p.Ping
	}
	return d
}

func (d *Deps) check() error {
	var missing []string
	for _, m := range []struct {
		name string
		nil  bool
	}{
		{"Engine", d.Engine == nil}, {"Events", d.Events == nil}, {"Decisions", d.Decisions == nil},
		{"Alerts", d.Alerts == nil}, {"Bundles", d.Bundles == nil}, {"Users", d.Users == nil},
		{"Audit", d.Audit == nil}, {"Tokens", d.Tokens == nil}, {"Agents", d.Agents == nil},
	} {
		if m.nil {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("api: missing dependencies: %v", missing)
	}
	return nil
}

// Server is Vigil's HTTP API server. Create it with New, mount Handler or
// call Run.
type Server struct {
	cfg       Config
	deps      Deps
	log       *slog.Logger
	now       func() time.Time
	metrics   *metrics
	bundleKey []byte
	viewAudit viewAudit
	routes    []route
	router    *gin.Engine
	openapi   []byte

	// activateMu makes activations run one at a time.
	activateMu sync.Mutex
	// decodeSlots holds a token for each ingest request decoding its
	// batch (see decodeSlotsFor).
	decodeSlots chan struct{}
}

// New builds a server from its configuration and dependencies. It
// validates both, reads the bundle verification key and registers the
// server's metrics.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if err := deps.check(); err != nil {
		return nil, err
	}
	if deps.Decider == nil {
		deps.Decider = deps.Engine
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger.With("component", "api"), now: deps.Now,
		decodeSlots: make(chan struct{}, decodeSlotsFor(runtime.GOMAXPROCS(0)))}
	switch {
	case len(cfg.BundleKeyPEM) > 0:
		s.bundleKey = cfg.BundleKeyPEM
	case cfg.BundleKeyFile != "":
		key, err := os.ReadFile(cfg.BundleKeyFile)
		if err != nil {
			return nil, fmt.Errorf("api: read bundle verification key: %w", err)
		}
		s.bundleKey = key
	}
	m, err := newMetrics(deps.Registry)
	if err != nil {
		return nil, fmt.Errorf("api: register metrics: %w", err)
	}
	s.metrics = m
	s.routes = append(append(s.routeTable(), s.eventRoutes()...), s.directoryRoutes()...)
	s.router = s.buildRouter()
	doc, err := s.openAPIJSON()
	if err != nil {
		return nil, fmt.Errorf("api: build OpenAPI document: %w", err)
	}
	s.openapi = doc
	return s, nil
}

// Handler returns the server's HTTP handler: /api/v1/..., /healthz,
// /readyz and /metrics.
func (s *Server) Handler() http.Handler { return s.router }

// Run listens on Config.ListenAddr and serves until ctx is done, then
// shuts down gracefully, waiting up to Config.ShutdownTimeout for requests
// in flight. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", s.cfg.ListenAddr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln (with TLS when configured) until ctx is done, then
// shuts down like Run. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	tlsOn := s.cfg.TLSCertFile != ""
	if tlsOn {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	errc := make(chan error, 1)
	go func() {
		var err error
		if tlsOn {
			err = srv.ServeTLS(ln, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		} else {
			err = srv.Serve(ln)
		}
		errc <- err
	}()
	s.log.Info("API listening", "addr", ln.Addr().String(), "tls", tlsOn)
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("api: serve: %w", serr)
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("api: shutdown: %w", err)
	}
	s.log.Info("API stopped")
	return nil
}
