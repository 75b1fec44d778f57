package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/engine/benchmark"
	"github.com/vigil-itm/vigil/event"
)

// BenchmarkIngestServer is `vigil bench ingest` as a Go benchmark: a real
// server on a loopback port (API, SQLite store on disk, the engine
// evaluating every event) and concurrent clients posting generated events
// in batches of 500 to POST /api/v1/events, each client an agent with its
// own batch seq. One op is one batch from each client, sent at once;
// generating the bodies is not timed. events/s is wall clock;
// cpu-µs/event is the CPU time of the whole process (server and load
// generator), which a shared machine does not inflate. `vigil bench
// ingest` lets each client go at its own pace instead of in rounds, so it
// reports somewhat more events/s.
func BenchmarkIngestServer(b *testing.B) {
	for _, bundle := range []string{"library", "generated-100"} {
		for _, clients := range []int{4, 16} {
			b.Run(fmt.Sprintf("bundle=%s/batch=500/clients=%d", bundle, clients), func(b *testing.B) {
				benchIngestServer(b, bundle, 500, clients)
			})
		}
	}
}

func benchIngestServer(b *testing.B, bundle string, batch, clients int) {
	ctx := context.Background()
	o := benchServerOptions{Dir: b.TempDir()}
	if bundle == "generated-100" {
		o.Bundle = benchmark.Bundle(100)
	}
	srv, err := startBenchServer(ctx, o)
	require.NoError(b, err)
	defer func() { require.NoError(b, srv.Close()) }()
	gen := newIngestGenerator(clients, 1000, 0)
	var (
		stored int64
		wall   time.Duration
		cpu    float64 // µs
	)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		load, err := gen.load(clients, batch)
		require.NoError(b, err)
		b.StartTimer()
		res, err := load.run(ctx, srv.URL, srv.Admin)
		require.NoError(b, err)
		stored += res.Stored
		wall += time.Duration(res.WallSeconds * float64(time.Second))
		cpu += res.CPUMicrosPerEvent * float64(res.Stored)
	}
	b.ReportMetric(float64(stored)/wall.Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(cpu/float64(stored), "cpu-µs/event")
	}
}

// TestBenchIngestCommand runs `vigil bench ingest` on a small load and
// checks its report: every event posted is stored once, through a real
// server, and the engine made decisions on them.
func TestBenchIngestCommand(t *testing.T) {
	code, stdout, stderr := run(t, "bench", "ingest", "--events", "2000", "--clients", "2", "--data-dir", t.TempDir(), "--json")
	require.Equal(t, ExitOK, code, stderr)
	var rep ingestReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	require.Equal(t, 2000, rep.Result.Events)
	require.Equal(t, int64(2000), rep.Result.Stored)
	require.Equal(t, 4, rep.Result.Batches)
	require.Positive(t, rep.Result.Decisions, "the built-in library finds something in 2,000 generated events")
	require.Positive(t, rep.Result.Commits)
	// The writer's time in transactions is part of the wall time.
	require.Positive(t, rep.Result.WriterBusy)
	require.LessOrEqual(t, rep.Result.WriterBusy, 1.0)
	require.Zero(t, rep.Result.Agents)

	// Agent-shaped batches: each one host's events, from 4 hosts.
	code, stdout, stderr = run(t, "bench", "ingest", "--events", "2000", "--clients", "2", "--agents", "4", "--data-dir", t.TempDir(), "--json")
	require.Equal(t, ExitOK, code, stderr)
	rep = ingestReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	require.Equal(t, int64(2000), rep.Result.Stored)
	require.Equal(t, 4, rep.Result.Batches)
	require.Equal(t, 4, rep.Result.Agents)
	require.Empty(t, rep.Runs, "one run lists no runs")

	// Three runs, each with a new store that stores every event once; the
	// result is the median run, and a given --data-dir keeps each run's
	// store.
	dir := t.TempDir()
	code, stdout, stderr = run(t, "bench", "ingest", "--events", "1000", "--clients", "2", "--rules", "5", "--runs", "3", "--data-dir", dir, "--json")
	require.Equal(t, ExitOK, code, stderr)
	rep = ingestReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	require.Len(t, rep.Runs, 3)
	var rates []float64
	for i, r := range rep.Runs {
		require.Equal(t, int64(1000), r.Stored, "run %d", i+1)
		require.Positive(t, r.Commits, "run %d", i+1)
		rates = append(rates, r.EventsPerSec)
		require.DirExists(t, filepath.Join(dir, fmt.Sprintf("run-%d", i+1)), "a given --data-dir keeps each run's store")
	}
	slices.Sort(rates)
	require.Equal(t, rates[1], rep.Result.EventsPerSec)
}

func TestMedianRun(t *testing.T) {
	runs := func(rates ...float64) []ingestResult {
		var rs []ingestResult
		for _, r := range rates {
			rs = append(rs, ingestResult{EventsPerSec: r})
		}
		return rs
	}
	require.Equal(t, 30.0, medianRun(runs(50, 10, 30)).EventsPerSec)
	require.Equal(t, 20.0, medianRun(runs(40, 20, 30, 10)).EventsPerSec, "of two middle runs, the slower")
	require.Equal(t, 7.0, medianRun(runs(7)).EventsPerSec)
	require.Contains(t, summary(runs(50, 10, 30)), "3 runs: median 30 events/s (10–50)")
}

// TestBenchCommandsRejectBadFlags checks the sub-commands' usage errors.
func TestBenchCommandsRejectBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "ingest", "--events", "0"},
		{"bench", "ingest", "--rules", "-1"},
		{"bench", "ingest", "--agents", "-1"},
		{"bench", "ingest", "--agents", "2", "--clients", "4"},
		{"bench", "ingest", "--agents", "20", "--users", "10"},
		{"bench", "ingest", "--runs", "0"},
		{"bench", "ingest", "--runs", "2", "--cpuprofile", "x.prof"},
		{"bench", "decide", "--concurrency", "0"},
		{"bench", "agent-idle", "--duration", "0s"},
		{"bench", "agent-idle", "--server", "http://127.0.0.1:1"},
	} {
		code, _, stderr := run(t, args...)
		require.Equal(t, ExitUsage, code, "%v: %s", args, stderr)
	}
}

// TestIngestGeneratorPerHostBatches checks the agent-shaped load: every
// batch holds one host's events under that host's agent id, each agent's
// seq counts up from 1 on one client, and events left over from one load
// start the next, so no event is sent twice or skipped.
func TestIngestGeneratorPerHostBatches(t *testing.T) {
	const clients, agents, size = 3, 6, 50
	g := newIngestGenerator(clients, 60, agents)
	seqs := map[string]int64{}
	clientOf := map[string]int{}
	ids := map[string]bool{}
	for round := range 2 {
		l, err := g.load(40, size)
		require.NoError(t, err)
		require.Equal(t, 40*size, l.events)
		require.Equal(t, agents, l.agents)
		n := 0
		for c, bodies := range l.bodies {
			for _, body := range bodies {
				var req struct {
					AgentID string            `json:"agent_id"`
					Seq     int64             `json:"seq"`
					Events  []json.RawMessage `json:"events"`
				}
				require.NoError(t, json.Unmarshal(body, &req))
				require.Len(t, req.Events, size)
				require.Equal(t, seqs[req.AgentID]+1, req.Seq, "round %d: %s's batches in seq order", round, req.AgentID)
				seqs[req.AgentID] = req.Seq
				if prev, ok := clientOf[req.AgentID]; ok {
					require.Equal(t, prev, c, "an agent posts through one client")
				}
				clientOf[req.AgentID] = c
				hosts := map[string]bool{}
				for _, raw := range req.Events {
					e, err := event.Decode(raw)
					require.NoError(t, err)
					hosts[e.Host.Name] = true
					require.False(t, ids[e.Event.ID], "event %s sent twice", e.Event.ID)
					ids[e.Event.ID] = true
				}
				require.Len(t, hosts, 1, "a batch holds one host's events")
				n++
			}
		}
		require.Equal(t, 40, n)
	}
	require.Len(t, seqs, agents, "every host's agent sent batches")
}
