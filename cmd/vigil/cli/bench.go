package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/engine/benchmark"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
	"github.com/vigil-itm/vigil/policies"
)

// benchReport is what `vigil bench --json` prints.
type benchReport struct {
	GoVersion     string             `json:"go_version"`
	CPUs          int                `json:"cpus"`
	Results       []benchmark.Result `json:"results"`
	Ratios        map[string]float64 `json:"ratios"`
	ThresholdKeyB float64            `json:"threshold_bytes_per_key"`
	FirstSeenKeyB float64            `json:"first_seen_bytes_per_key"`
}

func (e *env) benchCmd() *cobra.Command {
	var rulesFlag, libraryPath string
	var events, regoEvents, passes int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the engine on one core against the all-Rego baseline",
		Long: `Measure evaluation throughput on one core (GOMAXPROCS=1) on a generated mixed
event stream (every action, 1,000 users, realistic field sizes) with
generated rule sets, side by side with the same conditions written in Rego
and evaluated by OPA with rule indexing, a prepared query and pre-converted
input. Also reports JSON decoding cost apart, allocations per event and
window-state memory per key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var counts []int
			for _, s := range strings.Split(rulesFlag, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n <= 0 {
					return &exitError{code: ExitUsage, err: fmt.Errorf("--rules %q: want a comma-separated list of positive counts", rulesFlag)}
				}
				counts = append(counts, n)
			}
			prev := runtime.GOMAXPROCS(1)
			defer runtime.GOMAXPROCS(prev)
			rep, err := e.runBench(counts, libraryPath, events, regoEvents, passes, !asJSON)
			if err != nil {
				return cannot(err)
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return cannot(err)
				}
			}
			return nil
		},
	}
	cmd.AddCommand(e.benchIngestCmd(), e.benchDecideCmd(), e.benchAgentIdleCmd(), e.benchServeCmd())
	cmd.Flags().StringVar(&rulesFlag, "rules", "100,1000", "generated rule counts to measure")
	cmd.Flags().StringVar(&libraryPath, "library", "policies/library", "starter bundle measured alongside (empty to skip)")
	cmd.Flags().IntVar(&events, "events", 200_000, "events per pass for the Vigil engine")
	cmd.Flags().IntVar(&regoEvents, "rego-events", 10_000, "events for the Rego baseline (slower, so fewer)")
	cmd.Flags().IntVar(&passes, "passes", 3, "passes over the events for the Vigil engine")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func (e *env) runBench(counts []int, libraryPath string, n, nRego, passes int, text bool) (*benchReport, error) {
	ctx := context.Background()
	rep := &benchReport{GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), Ratios: map[string]float64{}}
	say := func(format string, args ...any) {
		if text {
			fmt.Fprintf(e.stdout, format, args...)
		}
	}
	say("generating %d events (1,000 users, every action)…\n", n)
	events := eventgen.New(1, eventgen.Options{Users: 1000}).Batch(n)
	raw := make([][]byte, 0, min(n, 50_000))
	for _, ev := range events[:cap(raw)] {
		b, err := event.Encode(ev)
		if err != nil {
			return nil, err
		}
		raw = append(raw, b)
	}
	dec, err := benchmark.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	rep.Results = append(rep.Results, dec)
	say("%s\n", dec)

	if libraryPath != "" {
		b, err := policies.Load(libraryPath)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", libraryPath, err)
		}
		p, err := engine.Compile(b)
		if err != nil {
			return nil, err
		}
		r, err := benchmark.Vigil("vigil starter library", p, len(b.Rules), events, passes)
		if err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, r)
		say("%s\n", r)
	}
	for _, c := range counts {
		p, err := engine.Compile(benchmark.Bundle(c))
		if err != nil {
			return nil, err
		}
		r, err := benchmark.Vigil("vigil (CEL fast path + windows)", p, c, events, passes)
		if err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, r)
		say("%s\n", r)

		rb, err := benchmark.NewRegoBaseline(ctx, c, events[:min(nRego, len(events))])
		if err != nil {
			return nil, err
		}
		rr, err := rb.Run(ctx)
		if err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, rr)
		ratio := rr.NsPerEvent / r.NsPerEvent
		rep.Ratios[fmt.Sprintf("rules=%d", c)] = ratio
		say("%s\n", rr)
		say("  → rules=%d: Vigil is %.1f× the all-Rego baseline (%.0f vs %.0f events/s on one core)\n", c, ratio, r.EventsPerSec, rr.EventsPerSec)
	}
	th, fs, err := benchmark.StateMemory(10_000)
	if err != nil {
		return nil, err
	}
	rep.ThresholdKeyB, rep.FirstSeenKeyB = th, fs
	say("window state: %.0f B/key for a count threshold, %.0f B/key for first_seen (%.1f MiB and %.1f MiB per 10,000 keys)\n",
		th, fs, th*10_000/(1<<20), fs*10_000/(1<<20))
	return rep, nil
}
