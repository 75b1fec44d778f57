package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/engine/benchmark"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
)

// ingestLoad is the load generator's work, prepared before the clock
// starts: request bodies of batches of generated events (every action,
// realistic field sizes, 1,000 users), each with its agent's id and an
// increasing batch seq.
type ingestLoad struct {
	clients int
	batch   int
	// agents is the number of hosts whose agents send one host's events
	// per batch, or 0 for batches that mix every host.
	agents int
	// bodies[c] are client c's request bodies, in seq order from 1.
	bodies [][][]byte
	events int
	bytes  int64
}

// ingestGenerator writes request bodies from one generated event stream,
// keeping each agent's batch seq (and, per host, the events not yet in a
// batch) across calls.
type ingestGenerator struct {
	gen     *eventgen.Generator
	clients int
	// agents is 0 for mixed batches: each batch is the next stretch of the
	// stream, every user and host mixed, and each client posts as one
	// agent. Otherwise the stream has agents hosts and every batch holds
	// one host's events, as that host's agent sends them; agent a posts
	// through client a % clients.
	agents  int
	seqs    []int64
	hostIdx map[string]int
	pending [][]*event.Event
	buf     []byte
}

func newIngestGenerator(clients, users, agents int) *ingestGenerator {
	g := &ingestGenerator{clients: clients, agents: agents}
	opts := eventgen.Options{Users: users}
	if agents > 0 {
		opts.Hosts = agents
		g.seqs = make([]int64, agents)
		g.hostIdx = map[string]int{}
		g.pending = make([][]*event.Event, agents)
	} else {
		g.seqs = make([]int64, clients)
	}
	g.gen = eventgen.New(1, opts)
	return g
}

// load generates batches batches of size events. Mixed batches are dealt
// to the clients round-robin; per-host batches go to their agent's client.
func (g *ingestGenerator) load(batches, size int) (*ingestLoad, error) {
	l := &ingestLoad{clients: g.clients, batch: size, agents: g.agents, bodies: make([][][]byte, g.clients)}
	add := func(agent, client int, evs []*event.Event) error {
		g.seqs[agent]++
		buf := fmt.Appendf(g.buf[:0], `{"agent_id":"bench-agent-%d","seq":%d,"events":[`, agent, g.seqs[agent])
		for i, e := range evs {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = event.AppendJSON(buf, e); err != nil {
				return fmt.Errorf("encode generated event %s: %w", e.Event.ID, err)
			}
		}
		buf = append(buf, "]}"...)
		g.buf = buf
		l.bodies[client] = append(l.bodies[client], bytes.Clone(buf))
		l.events += len(evs)
		l.bytes += int64(len(buf))
		return nil
	}
	if g.agents == 0 {
		for k := range batches {
			if err := add(k%g.clients, k%g.clients, g.gen.Batch(size)); err != nil {
				return nil, err
			}
		}
		return l, nil
	}
	for made := 0; made < batches; {
		for _, e := range g.gen.Batch(size) {
			a, ok := g.hostIdx[e.Host.Name]
			if !ok {
				a = len(g.hostIdx)
				if a >= g.agents {
					return nil, fmt.Errorf("the generated stream has more than %d hosts", g.agents)
				}
				g.hostIdx[e.Host.Name] = a
			}
			// Events past the last batch wait for the next load.
			g.pending[a] = append(g.pending[a], e)
			for len(g.pending[a]) >= size && made < batches {
				if err := add(a, a%g.clients, g.pending[a][:size]); err != nil {
					return nil, err
				}
				g.pending[a] = g.pending[a][size:] // the batch is encoded already
				made++
			}
		}
	}
	return l, nil
}

// ingestResult is one measured ingest run.
type ingestResult struct {
	Clients   int `json:"clients"`
	BatchSize int `json:"batch_size"`
	// Agents is the number of hosts when every batch holds one host's
	// events (--agents), or 0 when each batch mixes every host.
	Agents       int     `json:"agents,omitempty"`
	Batches      int     `json:"batches"`
	Events       int     `json:"events"`
	Stored       int64   `json:"stored"`
	Decisions    int64   `json:"decisions"`
	Alerts       int64   `json:"alerts"`
	WallSeconds  float64 `json:"wall_seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	// CPUMicrosPerEvent is the CPU time of the whole process (server,
	// store, engine and load generator) per stored event.
	CPUMicrosPerEvent float64 `json:"cpu_us_per_event"`
	// EventsPerCPUSecond is what one fully available core sustains.
	EventsPerCPUSecond float64 `json:"events_per_cpu_second"`
	MBPerSec           float64 `json:"mb_per_sec"`
	// Commits counts the store's write transactions.
	Commits float64 `json:"commits"`
	// WriterBusy is the share of the wall time the store's one writer
	// spent in transactions: near 1, the serial writer is the limit;
	// well below, the CPU or the clients are.
	WriterBusy float64 `json:"writer_busy"`
}

func (r ingestResult) String() string {
	shape := "every host mixed in each batch"
	if r.Agents > 0 {
		shape = fmt.Sprintf("each batch one of %d hosts' events", r.Agents)
	}
	return fmt.Sprintf("ingest: %d clients, batches of %d (%s): %d events stored in %.2fs = %.0f events/s (%.1f MB/s); %.1f µs CPU/event (whole process) = %.0f events per CPU-second; %d decisions, %d alerts; %.0f store commits (%.0f events each), writer busy %.0f %%",
		r.Clients, r.BatchSize, shape, r.Stored, r.WallSeconds, r.EventsPerSec, r.MBPerSec, r.CPUMicrosPerEvent, r.EventsPerCPUSecond, r.Decisions, r.Alerts, r.Commits, float64(r.Stored)/max(r.Commits, 1), 100*r.WriterBusy)
}

// run posts every prepared batch to url with token, each client posting
// its batches one after the other as an agent's uploader does, and checks
// that every event was stored once.
func (l *ingestLoad) run(ctx context.Context, url, token string) (ingestResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: l.clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Minute}
	var (
		stored, decisions, alerts atomic.Int64
		errOnce                   sync.Once
		firstErr                  error
	)
	fail := func(err error) { errOnce.Do(func() { firstErr = err }) }
	post := func(body []byte) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v1/events", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("read ingest response: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ingest: status %d: %s", resp.StatusCode, data)
		}
		var r struct {
			Stored    int `json:"stored"`
			Decisions int `json:"decisions"`
			Alerts    int `json:"alerts"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("ingest response %q: %w", data, err)
		}
		stored.Add(int64(r.Stored))
		decisions.Add(int64(r.Decisions))
		alerts.Add(int64(r.Alerts))
		return nil
	}
	start, cpu0 := time.Now(), processCPU()
	var wg sync.WaitGroup
	for c := range l.clients {
		wg.Go(func() {
			for _, body := range l.bodies[c] {
				if err := post(body); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	wall, cpu := time.Since(start), processCPU()-cpu0
	if firstErr != nil {
		return ingestResult{}, firstErr
	}
	r := ingestResult{Clients: l.clients, BatchSize: l.batch, Agents: l.agents, Events: l.events, Stored: stored.Load(),
		Decisions: decisions.Load(), Alerts: alerts.Load(), WallSeconds: wall.Seconds()}
	for _, b := range l.bodies {
		r.Batches += len(b)
	}
	if r.Stored != int64(l.events) {
		return r, fmt.Errorf("ingest: %d events sent, %d stored: every event must be stored once", l.events, r.Stored)
	}
	r.EventsPerSec = float64(r.Stored) / wall.Seconds()
	r.MBPerSec = float64(l.bytes) / wall.Seconds() / 1e6
	if cpu > 0 {
		r.CPUMicrosPerEvent = float64(cpu.Nanoseconds()) / 1e3 / float64(r.Stored)
		r.EventsPerCPUSecond = 1e6 / r.CPUMicrosPerEvent
	}
	return r, nil
}

// ingestReport is what `vigil bench ingest --json` prints.
type ingestReport struct {
	Machine machineNote `json:"machine"`
	// Result is the run with the median events/s (of an even number of
	// runs, the slower of the middle two).
	Result ingestResult `json:"result"`
	// Runs are every run in order, when there was more than one.
	Runs  []ingestResult `json:"runs,omitempty"`
	After machineNote    `json:"machine_after"`
}

// medianRun returns the run with the median events/s: of an even number
// of runs, the slower of the middle two, so that the figure is one a run
// reached.
func medianRun(runs []ingestResult) ingestResult {
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(a, b ingestResult) int { return cmp.Compare(a.EventsPerSec, b.EventsPerSec) })
	return sorted[(len(sorted)-1)/2]
}

// summary describes runs in one line: the median and the range of
// events/s, CPU per event and the writer's busy share.
func summary(runs []ingestResult) string {
	rates := make([]float64, len(runs))
	cpus := make([]float64, len(runs))
	busy := make([]float64, len(runs))
	for i, r := range runs {
		rates[i], cpus[i], busy[i] = r.EventsPerSec, r.CPUMicrosPerEvent, 100*r.WriterBusy
	}
	m := medianRun(runs)
	return fmt.Sprintf("%d runs: median %.0f events/s (%.0f–%.0f); CPU %.1f µs/event in that run (%.1f–%.1f); writer busy %.0f %% (%.0f–%.0f)",
		len(runs), m.EventsPerSec, slices.Min(rates), slices.Max(rates),
		m.CPUMicrosPerEvent, slices.Min(cpus), slices.Max(cpus),
		100*m.WriterBusy, slices.Min(busy), slices.Max(busy))
}

func (e *env) benchIngestCmd() *cobra.Command {
	var (
		events, batch, clients, users, agents, rules, runs int
		dataDir, cpuProfile                                string
		asJSON                                             bool
	)
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Measure events stored per second through POST /api/v1/events",
		Long: `Start a real Vigil server on a loopback port (API, SQLite store in a
temporary directory, the built-in library evaluating every event) and post
generated events to POST /api/v1/events in batches from concurrent clients,
each an agent with its own batch sequence, as agents' uploaders do. By
default every batch mixes the events of all users and hosts, the hardest
case for the store's indexes; --agents N gives each batch one host's events,
as a host's agent sends them, from N hosts the users share. The request
bodies are generated before the clock starts. Reports events stored
per second (wall clock), the CPU time of the whole process per event,
which a shared machine does not inflate, and the share of the time the
store's one writer was busy (near 100 %, the serial writer is the limit).
--runs N repeats the measurement, each run with a new server and store
and the same requests, and reports the median run: on a shared machine a
single run says little.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if events <= 0 || batch <= 0 || clients <= 0 || users <= 0 || runs <= 0 || rules < 0 || agents < 0 {
				return &exitError{code: ExitUsage, err: errors.New("--events, --batch, --clients, --users and --runs must be positive, --rules and --agents not negative")}
			}
			if runs > 1 && cpuProfile != "" {
				return &exitError{code: ExitUsage, err: errors.New("--cpuprofile profiles one run: leave out --runs")}
			}
			if agents > 0 && (agents < clients || agents > users) {
				return &exitError{code: ExitUsage, err: fmt.Errorf("--agents %d: want at least --clients (%d) and at most --users (%d)", agents, clients, users)}
			}
			ctx := cmd.Context()
			dir, cleanup, err := benchDir(dataDir, "vigil-bench-ingest-")
			if err != nil {
				return cannot(err)
			}
			defer cleanup()
			batches := max(events/batch, 1)
			if !asJSON {
				fmt.Fprintf(e.stdout, "generating %d batches of %d events for %d clients…\n", batches, batch, clients)
			}
			load, err := newIngestGenerator(clients, users, agents).load(batches, batch)
			if err != nil {
				return cannot(err)
			}
			so := benchServerOptions{Logger: e.logger}
			if rules > 0 {
				so.Bundle = benchmark.Bundle(rules)
			}
			before := noteMachine()
			var results []ingestResult
			for i := range runs {
				// A new store each run: every run starts from the same
				// state, and the same requests are new to it.
				so.Dir = dir
				if runs > 1 {
					so.Dir = filepath.Join(dir, fmt.Sprintf("run-%d", i+1))
				}
				res, err := runIngest(ctx, so, load, cpuProfile, func(srv *benchServer) {
					if !asJSON && i == 0 {
						fmt.Fprintf(e.stdout, "server %s (store in %s); %s\n", srv.URL, so.Dir, before)
					}
				})
				if err != nil {
					return cannot(err)
				}
				results = append(results, res)
				if runs > 1 && dataDir == "" {
					// Only the figures are kept: a run's store is as large as
					// the load.
					if err := os.RemoveAll(so.Dir); err != nil {
						return cannot(err)
					}
				}
				if !asJSON && runs > 1 {
					fmt.Fprintf(e.stdout, "run %d/%d: %s\n", i+1, runs, res)
				}
			}
			rep := ingestReport{Machine: before, Result: medianRun(results), After: noteMachine()}
			if runs > 1 {
				rep.Runs = results
			}
			if asJSON {
				return printJSON(e.stdout, rep)
			}
			if runs > 1 {
				fmt.Fprintf(e.stdout, "%s\n", summary(results))
			} else {
				fmt.Fprintf(e.stdout, "%s\n", rep.Result)
			}
			fmt.Fprintf(e.stdout, "after: load average %.2f (1 min)\n", rep.After.Load1)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&events, "events", 300_000, "events to post in all")
	f.IntVar(&batch, "batch", 500, "events per batch")
	f.IntVar(&clients, "clients", 4, "concurrent clients, each an agent posting its batches in order")
	f.IntVar(&users, "users", 1000, "distinct users in the generated events")
	f.IntVar(&agents, "agents", 0, "give every batch one host's events, as an agent sends them, from this many hosts (users share them); 0 mixes every user and host in each batch")
	f.IntVar(&runs, "runs", 1, "measure this many times, each with a new server and store, and report the median run")
	f.IntVar(&rules, "rules", 0, "evaluate with this many generated rules (engine/benchmark) instead of the built-in library, to see the server's own cost")
	f.StringVar(&dataDir, "data-dir", "", "directory for the server's store (default: a temporary one, removed after)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the measured run to this file")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// runIngest starts a server with so, posts load to it and stops it again,
// writing a CPU profile of the posting to cpuProfile unless it is "".
// started is called once the server listens.
func runIngest(ctx context.Context, so benchServerOptions, load *ingestLoad, cpuProfile string, started func(*benchServer)) (ingestResult, error) {
	if err := os.MkdirAll(so.Dir, 0o700); err != nil {
		return ingestResult{}, err
	}
	srv, err := startBenchServer(ctx, so)
	if err != nil {
		return ingestResult{}, err
	}
	defer func() { _ = srv.Close() }()
	started(srv)
	c0 := srv.counter("vigil_store_commits_total")
	busy0 := srv.histogramSum("vigil_store_commit_seconds")
	stopProfile, err := startCPUProfile(cpuProfile)
	if err != nil {
		return ingestResult{}, err
	}
	res, err := load.run(ctx, srv.URL, srv.Admin)
	stopProfile()
	if err != nil {
		return ingestResult{}, err
	}
	res.Commits = srv.counter("vigil_store_commits_total") - c0
	if res.WallSeconds > 0 {
		res.WriterBusy = (srv.histogramSum("vigil_store_commit_seconds") - busy0) / res.WallSeconds
	}
	return res, nil
}

// benchDir returns dir, or a new temporary directory removed by cleanup.
func benchDir(dir, pattern string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", nil, fmt.Errorf("bench directory: %w", err)
		}
		abs, err := filepath.Abs(dir)
		return abs, func() {}, err
	}
	tmp, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", nil, fmt.Errorf("bench directory: %w", err)
	}
	return tmp, func() { _ = os.RemoveAll(tmp) }, nil
}

// startCPUProfile starts a CPU profile into path ("" does nothing) and
// returns the function that stops it.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return cannot(err)
	}
	return nil
}
