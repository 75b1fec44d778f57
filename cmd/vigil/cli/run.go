package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	oklogrun "github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/agent"
	"github.com/vigil-itm/vigil/alerts"
	"github.com/vigil-itm/vigil/api"
	"github.com/vigil-itm/vigil/console"
	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/identity/sources"
	"github.com/vigil-itm/vigil/policies"
	builtin "github.com/vigil-itm/vigil/policies/library"
	"github.com/vigil-itm/vigil/store"
	"github.com/vigil-itm/vigil/store/sqlite"
)

// ServerConfig is the configuration file of `vigil server` (strict YAML:
// unknown keys are errors).
type ServerConfig struct {
	// DataDir holds the database and the bundle working copy.
	DataDir string `yaml:"data_dir"`
	// API configures the HTTP server (listen address, TLS, limits, bundle
	// verification key).
	API api.Config `yaml:"api"`
	// Store configures the SQLite store.
	Store struct {
		// Synchronous is "normal" (the default: a commit survives a crash
		// of the process, the last ones before a power loss may be rolled
		// back) or "full" (a commit survives a power loss too, at one
		// fsync per write transaction).
		Synchronous string `yaml:"synchronous"`
	} `yaml:"store"`
	// Retention of stored records, in days (0 keeps them for ever).
	Retention struct {
		EventsDays    int `yaml:"events_days"`
		DecisionsDays int `yaml:"decisions_days"`
		AuditDays     int `yaml:"audit_days"`
	} `yaml:"retention"`
	// Identity configures the user directory and its sources (SCIM, LDAP,
	// HR); see docs/identity.md.
	Identity yaml.Node `yaml:"identity"`
	// Sinks configures SIEM delivery; see docs/siem.md.
	Sinks alerts.Config `yaml:"sinks"`
	// RuleStateInterval is how often the rule state of ingest evaluation
	// (windows, sequences, first-seen values, baselines) is saved to
	// DATA_DIR/state/rules.state; it is saved at stop too (default 1m).
	RuleStateInterval time.Duration `yaml:"rule_state_interval"`
}

// Validate checks the configuration.
func (c *ServerConfig) Validate() error {
	if c.DataDir == "" {
		return errors.New("data_dir is required")
	}
	if c.Retention.EventsDays < 0 || c.Retention.DecisionsDays < 0 || c.Retention.AuditDays < 0 {
		return errors.New("retention: days must not be negative")
	}
	if c.RuleStateInterval < 0 {
		return fmt.Errorf("rule_state_interval: must not be negative, got %s", c.RuleStateInterval)
	}
	switch sqlite.Synchronous(c.Store.Synchronous) {
	case "", sqlite.SyncNormal, sqlite.SyncFull:
	default:
		return fmt.Errorf("store.synchronous: want %q or %q, got %q", sqlite.SyncNormal, sqlite.SyncFull, c.Store.Synchronous)
	}
	return c.API.Validate()
}

// storeOptions are the options of the server's SQLite store.
func (c *ServerConfig) storeOptions(logger *slog.Logger, reg prometheus.Registerer) sqlite.Options {
	return sqlite.Options{Logger: logger, Registerer: reg, Synchronous: sqlite.Synchronous(c.Store.Synchronous)}
}

// loadServerConfig reads a strict YAML configuration file.
func loadServerConfig(path string) (*ServerConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c ServerConfig
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

// defaultDataDir is where `vigil run` keeps its data.
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/vigil"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "vigil")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "vigil")
	}
	return "vigil-data"
}

func (e *env) runCmd() *cobra.Command {
	var dataDir, listen string
	var sensorList []string
	var noAgent bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run Vigil on this machine: server, store and the built-in policy library",
		Long: `Run Vigil on this machine in one process: the REST API on --listen, a SQLite
store and a bundle working copy under --data-dir, and the built-in policy
library, activated and watched for edits. On first start it creates an admin
API token, prints it and writes it to DATA_DIR/admin-token (readable by its
owner only). A local agent runs the endpoint sensors on this machine and
forwards to the server (--sensors picks them, --no-agent turns it off); the
web console is served at /console/. SIGINT or SIGTERM stops it cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var c ServerConfig
			c.DataDir = dataDir
			c.API.ListenAddr = listen
			c.Retention.EventsDays, c.Retention.DecisionsDays, c.Retention.AuditDays = 90, 365, 0
			if err := c.Validate(); err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			return e.serve(cmd.Context(), &c, &localAgent{dataDir: filepath.Join(c.DataDir, "agent"), sensors: sensorList,
				noAgent: noAgent, version: Version})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "where the database, bundles and admin token live")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8470", "address of the REST API and the console")
	cmd.Flags().StringSliceVar(&sensorList, "sensors", nil, "run only these sensors in the local agent (default: every sensor that is on by default)")
	cmd.Flags().BoolVar(&noAgent, "no-agent", false, "run the server and console only, without the local agent")
	return cmd
}

func (e *env) serverCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "server --config FILE",
		Short: "Run the Vigil server from a configuration file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath == "" {
				return &exitError{code: ExitUsage, err: errors.New("--config is required")}
			}
			c, err := loadServerConfig(configPath)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			return e.serve(cmd.Context(), c, nil)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "strict YAML configuration file (see docs/operations.md)")
	return cmd
}

func (e *env) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens in a local store"}
	var dataDir, role, name, kind string
	var expires time.Duration
	var singleUse bool
	create := &cobra.Command{
		Use:   "create --role ROLE --name NAME",
		Short: "Create an API token (admin, analyst, auditor or agent) or an agent enrollment token, and print it once",
		Long: `Create a token in the local store and print its secret once.

An enrollment token (--kind enrollment --role agent) lets new agents enroll
with vigil agent --enroll-token; it must be --single-use, or --expires, or
both.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || role == "" {
				return &exitError{code: ExitUsage, err: errors.New("--role and --name are required")}
			}
			ctx := context.Background()
			db, err := sqlite.Open(ctx, filepath.Join(dataDir, "vigil.db"), sqlite.Options{})
			if err != nil {
				return cannot(err)
			}
			defer func() { _ = db.Close() }()
			nt := store.NewToken{Name: name, Role: store.Role(role), Kind: store.TokenKind(kind), SingleUse: singleUse, CreatedBy: "cli"}
			if expires > 0 {
				nt.Expires = time.Now().Add(expires)
			}
			tok, secret, err := db.Tokens().Create(ctx, nt)
			if err != nil {
				return cannot(err)
			}
			fmt.Fprintf(e.stderr, "token %s (%s, %s) created; it is shown once:\n", tok.ID, tok.Name, tok.Role)
			fmt.Fprintln(e.stdout, secret)
			return nil
		},
	}
	create.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "data directory of the store")
	create.Flags().StringVar(&role, "role", "", "admin, analyst, auditor or agent")
	create.Flags().StringVar(&name, "name", "", "what the token is for")
	create.Flags().DurationVar(&expires, "expires", 0, "lifetime (such as 720h); 0 never expires")
	create.Flags().StringVar(&kind, "kind", "api", "api, or enrollment for agent enrollment")
	create.Flags().BoolVar(&singleUse, "single-use", false, "an enrollment token that works once")
	cmd.AddCommand(create)
	return cmd
}

// serve runs the server (and, for `vigil run`, the local agent) until
// SIGINT/SIGTERM or ctx ends.
func (e *env) serve(parent context.Context, c *ServerConfig, local *localAgent) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return cannot(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	db, err := sqlite.Open(ctx, filepath.Join(c.DataDir, "vigil.db"), c.storeOptions(logger, reg))
	if err != nil {
		return cannot(err)
	}
	defer func() { _ = db.Close() }()

	// The bundle working copy: the built-in library on first start.
	bundleDir := filepath.Join(c.DataDir, "bundles", "active")
	if _, err := os.Stat(bundleDir); errors.Is(err, os.ErrNotExist) {
		if err := builtin.Extract(bundleDir); err != nil {
			return cannot(err)
		}
		logger.Info("built-in policy library extracted", "dir", bundleDir)
	}
	metrics := engine.NewMetrics(reg)
	live, err := engine.NewLive(bundleDir, func(p string) (*policies.Bundle, error) { return policies.Load(p) },
		[]engine.Option{engine.WithLogger(logger), engine.WithMetrics(metrics)})
	if err != nil {
		return cannot(err)
	}
	// Decisions asked for over the API run on their own engine so they do
	// not feed the rule windows of ingested events.
	decider, err := engine.NewLive(bundleDir, func(p string) (*policies.Bundle, error) { return policies.Load(p) },
		[]engine.Option{engine.WithLogger(logger)})
	if err != nil {
		return cannot(err)
	}
	if err := recordBundle(ctx, db, live.Program(), bundleDir); err != nil {
		return cannot(err)
	}
	// The rule state of ingest evaluation from the last run, before the
	// first event arrives.
	statePath := filepath.Join(c.DataDir, "state", "rules.state")
	if _, err := live.LoadState(statePath); err != nil {
		logger.Error("rule state not restored; rules start with empty state", "err", err)
	}
	stateEvery := c.RuleStateInterval
	if stateEvery == 0 {
		stateEvery = engine.DefaultStateInterval
	}
	activate := func(ctx context.Context, tarball []byte) (engine.BundleRef, error) {
		b, err := policies.LoadTarball(bytes.NewReader(tarball))
		if err != nil {
			return engine.BundleRef{}, err
		}
		p, err := live.Activate(b)
		if err != nil {
			return engine.BundleRef{}, err
		}
		if _, err := decider.Activate(b); err != nil {
			return engine.BundleRef{}, err
		}
		return engine.BundleRef{Name: p.Name(), Revision: p.Revision()}, nil
	}

	// Identity: the merged directory, SCIM, LDAP and HR sources.
	idCfg, err := sources.Decode(&c.Identity)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	id, err := sources.New(ctx, idCfg, db.Identity(), logger)
	if err != nil {
		return cannot(fmt.Errorf("identity: %w", err))
	}
	// SIEM delivery.
	if c.Sinks.StateDir == "" {
		c.Sinks.StateDir = filepath.Join(c.DataDir, "sinks")
	}
	c.Sinks.Version = Version
	sinks, err := alerts.New(c.Sinks, logger, reg)
	if err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("sinks: %w", err)}
	}
	if c.API.EvidenceDir == "" {
		c.API.EvidenceDir = filepath.Join(c.DataDir, "evidence")
	}
	archive, err := newEvidenceArchive(c.DataDir)
	if err != nil {
		return cannot(err)
	}

	deps := api.Deps{
		Engine: live, Decider: decider, Activate: activate,
		Directory: id.Directory, Sinks: sinks, EventExport: sinks, EvidenceArchive: archive,
		Registry: reg, Logger: logger,
	}.WithStore(db)
	// Without SCIM configured, /scim/v2 answers 404.
	deps.Mounts = append(deps.Mounts, api.Mount{Prefix: "/scim/v2", Handler: id.SCIMHandler()})
	deps.Mounts = append(deps.Mounts, consoleMounts()...)
	deps.Home = console.Prefix
	srv, err := api.New(c.API, deps)
	if err != nil {
		return cannot(err)
	}
	if local != nil {
		if err := e.ensureAdminToken(ctx, db, c); err != nil {
			return cannot(err)
		}
	}
	ln, err := net.Listen("tcp", c.API.ListenAddr)
	if err != nil {
		return cannot(err)
	}
	scheme := "http"
	if c.API.TLSCertFile != "" {
		scheme = "https"
	}
	base := fmt.Sprintf("%s://%s", scheme, ln.Addr())
	fmt.Fprintf(e.stdout, "Vigil is running: API %s/api/v1 (OpenAPI at /api/v1/openapi.json), data in %s\n", base, c.DataDir)
	if deps.Home != "" {
		fmt.Fprintf(e.stdout, "console: %s%s (sign in with the admin token)\n", base, deps.Home)
	}
	fmt.Fprintf(e.stdout, "active bundle %s revision %s from %s (edits are picked up live)\n", live.Program().Name(), live.Program().Revision(), bundleDir)

	// Shutdown order: the local agent first, so that it drains its spool to
	// a server that still answers, then the server's parts. oklog/run calls
	// the interrupts in the order the actors were added, so the server's
	// interrupts wait for the agent to be done.
	var g oklogrun.Group
	agentDone := make(chan struct{})
	add := func(name string, parent context.Context, after <-chan struct{}, fn func(context.Context) error) {
		rctx, cancel := context.WithCancel(parent)
		g.Add(func() error {
			if err := fn(rctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s: %w", name, err)
			}
			// A part with nothing to do (no identity source, no sink) returns
			// at once; that must not stop the others.
			<-rctx.Done()
			return nil
		}, func(error) {
			if after != nil {
				<-after
			}
			cancel()
		})
	}
	// A signal ends ctx, which ends the group.
	g.Add(func() error { <-ctx.Done(); return nil }, func(error) { stop() })
	var a *agent.Agent
	if local != nil {
		if a, err = local.build(ctx, db, base, logger); err != nil {
			return cannot(fmt.Errorf("local agent: %w", err))
		}
	}
	if a != nil {
		add("agent", context.WithoutCancel(ctx), nil, func(ctx context.Context) error {
			defer close(agentDone)
			return a.Run(ctx)
		})
	} else {
		close(agentDone)
	}
	server := context.WithoutCancel(ctx)
	add("api", server, agentDone, func(ctx context.Context) error { return srv.Serve(ctx, ln) })
	add("bundle watcher", server, agentDone, live.Watch)
	add("decision bundle watcher", server, agentDone, decider.Watch)
	add("retention", server, agentDone, db.Run)
	add("identity", server, agentDone, id.Run)
	add("sinks", server, agentDone, sinks.Run)
	add("rule state", server, agentDone, func(ctx context.Context) error {
		live.SaveStateEvery(ctx, statePath, stateEvery)
		return nil
	})
	runErr := g.Run()
	// Every request has been served: the state is final.
	if err := live.SaveState(statePath); err != nil {
		logger.Error("rule state not saved; the next start begins with the last saved state", "err", err)
	}
	if runErr != nil {
		return cannot(runErr)
	}
	logger.Info("stopped")
	return nil
}

// recordBundle stores the working copy's bundle as a revision and makes it
// the active one, so agents and clients can fetch it. A working copy edited
// without a new manifest revision is stored as "<revision>+local.<sha>".
func recordBundle(ctx context.Context, db *sqlite.DB, p *engine.Program, dir string) error {
	b, err := policies.Load(dir)
	if err != nil {
		return err
	}
	build := func(rev string) ([]byte, error) {
		var buf bytes.Buffer
		err := policies.Build(b, &buf, policies.BuildOptions{Revision: rev})
		return buf.Bytes(), err
	}
	rev := p.Revision()
	tarball, err := build(rev)
	if err != nil {
		return err
	}
	_, err = db.Bundles().Upload(ctx, store.BundleUpload{Name: p.Name(), Revision: rev, Tarball: tarball, UploadedBy: "vigil run"})
	if errors.Is(err, store.ErrConflict) {
		if stored, terr := db.Bundles().Tarball(ctx, p.Name(), rev); terr != nil || !bytes.Equal(stored, tarball) {
			sum := sha256.Sum256(tarball)
			rev = rev + "+local." + hex.EncodeToString(sum[:6])
			if tarball, err = build(rev); err != nil {
				return err
			}
			_, err = db.Bundles().Upload(ctx, store.BundleUpload{Name: p.Name(), Revision: rev, Tarball: tarball, UploadedBy: "vigil run"})
		} else {
			err = nil
		}
	}
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return db.Bundles().Activate(ctx, p.Name(), rev, "vigil run", "working copy at start")
}

// ensureAdminToken creates the first admin token when there is none.
func (e *env) ensureAdminToken(ctx context.Context, db *sqlite.DB, c *ServerConfig) error {
	toks, err := db.Tokens().List(ctx)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if t.Role == store.RoleAdmin {
			return nil
		}
	}
	_, secret, err := db.Tokens().Create(ctx, store.NewToken{Name: "first admin", Role: store.RoleAdmin, CreatedBy: "vigil run"})
	if err != nil {
		return err
	}
	path := filepath.Join(c.DataDir, "admin-token")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "admin token (also in %s, readable by you only):\n  %s\n", path, secret)
	return nil
}
