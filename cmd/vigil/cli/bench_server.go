package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-itm/vigil/api"
	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/policies"
	builtin "github.com/vigil-itm/vigil/policies/library"
	"github.com/vigil-itm/vigil/store"
	"github.com/vigil-itm/vigil/store/sqlite"
)

// benchServer is a real Vigil server for the benchmarks: the API on a
// loopback port, a SQLite store on disk and two engines on one bundle (one
// for ingested events, one for decision queries), wired as `vigil server`
// wires them.
type benchServer struct {
	// URL is the server's base URL, such as http://127.0.0.1:41234.
	URL string
	// Admin is the secret of an admin token.
	Admin string

	db     *sqlite.DB
	reg    *prometheus.Registry
	live   *engine.Live
	cancel context.CancelFunc
	done   chan error
}

// benchServerOptions configure startBenchServer.
type benchServerOptions struct {
	// Dir holds the database (and the extracted library).
	Dir string
	// Bundle is the bundle both engines evaluate; nil means the built-in
	// library, which is then also stored and activated so that agents can
	// download it.
	Bundle *policies.Bundle
	// Logger receives the server's diagnostics.
	Logger *slog.Logger
}

// startBenchServer starts a server on 127.0.0.1 and returns once it
// listens. Close stops it.
func startBenchServer(ctx context.Context, o benchServerOptions) (_ *benchServer, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("bench server: data directory %s: %w", o.Dir, err)
	}
	reg := prometheus.NewRegistry()
	db, err := sqlite.Open(ctx, filepath.Join(o.Dir, "vigil.db"), sqlite.Options{Logger: o.Logger, Registerer: reg})
	if err != nil {
		return nil, fmt.Errorf("bench server: %w", err)
	}
	defer func() {
		if err != nil {
			_ = db.Close()
		}
	}()
	b, libDir := o.Bundle, ""
	if b == nil {
		libDir = filepath.Join(o.Dir, "library")
		if _, statErr := os.Stat(libDir); errors.Is(statErr, os.ErrNotExist) {
			if err := builtin.Extract(libDir); err != nil {
				return nil, fmt.Errorf("bench server: extract the built-in library: %w", err)
			}
		}
		if b, err = policies.Load(libDir); err != nil {
			return nil, fmt.Errorf("bench server: load the built-in library: %w", err)
		}
	}
	load := func(string) (*policies.Bundle, error) { return b, nil }
	live, err := engine.NewLive(b.Name(), load, []engine.Option{engine.WithLogger(o.Logger)})
	if err != nil {
		return nil, fmt.Errorf("bench server: compile bundle %s: %w", b.Name(), err)
	}
	decider, err := engine.NewLive(b.Name(), load, []engine.Option{engine.WithLogger(o.Logger)})
	if err != nil {
		return nil, fmt.Errorf("bench server: compile bundle %s: %w", b.Name(), err)
	}
	if libDir != "" {
		if err := recordBundle(ctx, db, live.Program(), libDir); err != nil {
			return nil, fmt.Errorf("bench server: store the built-in library: %w", err)
		}
	}
	srv, err := api.New(api.Config{}, api.Deps{Engine: live, Decider: decider, Logger: o.Logger}.WithStore(db))
	if err != nil {
		return nil, fmt.Errorf("bench server: %w", err)
	}
	_, admin, err := db.Tokens().Create(ctx, store.NewToken{Name: "bench", Role: store.RoleAdmin, CreatedBy: "vigil bench"})
	if err != nil {
		return nil, fmt.Errorf("bench server: admin token: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench server: listen on loopback: %w", err)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &benchServer{URL: "http://" + ln.Addr().String(), Admin: admin, db: db, reg: reg, live: live, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(sctx, ln) }()
	return s, nil
}

// enrollmentToken creates a single-use enrollment token for an agent.
func (s *benchServer) enrollmentToken(ctx context.Context) (string, error) {
	_, secret, err := s.db.Tokens().Create(ctx, store.NewToken{Name: "bench agent", Role: store.RoleAgent,
		Kind: store.TokenEnrollment, SingleUse: true, CreatedBy: "vigil bench"})
	if err != nil {
		return "", fmt.Errorf("bench server: enrollment token: %w", err)
	}
	return secret, nil
}

// counter returns the value of the store's counter metric name.
func (s *benchServer) counter(name string) float64 {
	return s.metric(name, false)
}

// histogramSum returns the sum of the observations of the store's
// histogram name.
func (s *benchServer) histogramSum(name string) float64 {
	return s.metric(name, true)
}

// metric returns the value of the first series of the counter name, or the
// sum of the histogram name; 0 when there is none.
func (s *benchServer) metric(name string, histogram bool) float64 {
	mfs, err := s.reg.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		m := mf.GetMetric()[0]
		if histogram {
			return m.GetHistogram().GetSampleSum()
		}
		return m.GetCounter().GetValue()
	}
	return 0
}

// Close stops serving and closes the store.
func (s *benchServer) Close() error {
	s.cancel()
	return errors.Join(<-s.done, s.db.Close())
}

// machineNote describes the machine and its load, for reports.
type machineNote struct {
	GoVersion  string  `json:"go_version"`
	CPUs       int     `json:"cpus"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	Load1      float64 `json:"load1"`
	Load5      float64 `json:"load5"`
}

func noteMachine() machineNote {
	n := machineNote{GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	n.Load1, n.Load5 = loadAverage()
	return n
}

func (n machineNote) String() string {
	return fmt.Sprintf("%s, %d CPUs (GOMAXPROCS %d), load average %.2f (1 min) %.2f (5 min)", n.GoVersion, n.CPUs, n.GOMAXPROCS, n.Load1, n.Load5)
}

// loadAverage reads the 1- and 5-minute load averages where the system
// publishes them (Linux); elsewhere it returns zeros.
func loadAverage() (load1, load5 float64) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0, 0
	}
	load1, _ = strconv.ParseFloat(f[0], 64)
	load5, _ = strconv.ParseFloat(f[1], 64)
	return load1, load5
}
