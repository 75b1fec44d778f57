package benchmark

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/engine/state"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

// Result is one measured configuration.
type Result struct {
	Name   string `json:"name"`
	Rules  int    `json:"rules"`
	Events int    `json:"events"`
	// NsPerEvent is CPU time per event where the OS reports it (so a busy
	// machine does not inflate it), else wall time.
	NsPerEvent     float64 `json:"ns_per_event"`
	WallNsPerEvent float64 `json:"wall_ns_per_event"`
	EventsPerSec   float64 `json:"events_per_sec"`
	AllocsPerEvent float64 `json:"allocs_per_event"`
	BytesPerEvent  float64 `json:"bytes_per_event"`
	Findings       int     `json:"findings"`
}

func (r Result) String() string {
	return fmt.Sprintf("%-34s rules=%-5d events=%-7d %8.0f ns/event (CPU) %8.0f ns (wall) %10.0f events/s %6.2f allocs %6.0f B/event findings=%d",
		r.Name, r.Rules, r.Events, r.NsPerEvent, r.WallNsPerEvent, r.EventsPerSec, r.AllocsPerEvent, r.BytesPerEvent, r.Findings)
}

// measure runs fn over n events on the calling goroutine and reports time
// and allocations per event.
func measure(name string, rules, n int, fn func() int) Result {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0, cpuOK := cpuTime()
	start := time.Now()
	found := fn()
	el := time.Since(start)
	c1, _ := cpuTime()
	runtime.ReadMemStats(&m1)
	wall := float64(el.Nanoseconds()) / float64(n)
	ns := wall
	if cpuOK && c1 > c0 {
		ns = float64((c1 - c0).Nanoseconds()) / float64(n)
	}
	return Result{
		Name: name, Rules: rules, Events: n,
		NsPerEvent:     ns,
		WallNsPerEvent: wall,
		EventsPerSec:   1e9 / ns,
		AllocsPerEvent: float64(m1.Mallocs-m0.Mallocs) / float64(n),
		BytesPerEvent:  float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n),
		Findings:       found,
	}
}

// Vigil evaluates events against p passes times (shifting event time by
// the stream's span each pass so windows see fresh time) and counts
// findings.
func Vigil(name string, p *engine.Program, rules int, events []*event.Event, passes int) (Result, error) {
	if len(events) == 0 {
		return Result{}, fmt.Errorf("no events")
	}
	span := events[len(events)-1].Timestamp.Sub(events[0].Timestamp) + time.Second
	ctx := context.Background()
	var total Result
	var evalErr error
	for pass := range passes {
		if pass > 0 {
			for _, e := range events {
				e.Timestamp = e.Timestamp.Add(span)
			}
		}
		r := measure(name, rules, len(events), func() int {
			found := 0
			for _, e := range events {
				d, err := p.Evaluate(ctx, e)
				if err != nil {
					evalErr = err
					return found
				}
				found += len(d.Findings)
			}
			return found
		})
		if evalErr != nil {
			return Result{}, evalErr
		}
		total = merge(total, r)
	}
	return total, nil
}

func merge(a, b Result) Result {
	if a.Events == 0 {
		return b
	}
	n := a.Events + b.Events
	w := func(x, y float64) float64 { return (x*float64(a.Events) + y*float64(b.Events)) / float64(n) }
	out := Result{Name: a.Name, Rules: a.Rules, Events: n,
		NsPerEvent:     w(a.NsPerEvent, b.NsPerEvent),
		WallNsPerEvent: w(a.WallNsPerEvent, b.WallNsPerEvent),
		AllocsPerEvent: w(a.AllocsPerEvent, b.AllocsPerEvent),
		BytesPerEvent:  w(a.BytesPerEvent, b.BytesPerEvent),
		Findings:       a.Findings + b.Findings}
	out.EventsPerSec = 1e9 / out.NsPerEvent
	return out
}

// RegoBaseline prepares the all-Rego design: the same conditions in one
// module, a prepared query, and inputs converted to ast.Value up front.
type RegoBaseline struct {
	query  rego.PreparedEvalQuery
	inputs []ast.Value
	rules  int
}

// NewRegoBaseline compiles n generated rules in Rego and converts events
// into OPA input values (outside the measured loop, as OPA's fastest path
// allows).
func NewRegoBaseline(ctx context.Context, n int, events []*event.Event) (*RegoBaseline, error) {
	pq, err := rego.New(
		rego.Query("data.vigil.bench.findings"),
		rego.Module("bench.rego", Rego(n)),
		rego.Store(inmem.NewFromObject(Data())),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare Rego baseline: %w", err)
	}
	inputs := make([]ast.Value, len(events))
	for i, e := range events {
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		v, err := ast.InterfaceToValue(map[string]any{"event": m})
		if err != nil {
			return nil, err
		}
		inputs[i] = v
	}
	return &RegoBaseline{query: pq, inputs: inputs, rules: n}, nil
}

// Run evaluates every prepared input once.
func (rb *RegoBaseline) Run(ctx context.Context) (Result, error) {
	var evalErr error
	r := measure("all-rego (OPA, indexed, prepared)", rb.rules, len(rb.inputs), func() int {
		found := 0
		for _, in := range rb.inputs {
			rs, err := rb.query.Eval(ctx, rego.EvalParsedInput(in))
			if err != nil {
				evalErr = err
				return found
			}
			if len(rs) > 0 && len(rs[0].Expressions) > 0 {
				if l, ok := rs[0].Expressions[0].Value.([]any); ok {
					found += len(l)
				}
			}
		}
		return found
	})
	return r, evalErr
}

// Decode measures event decoding from JSON, reported apart from
// evaluation.
func Decode(raw [][]byte) (Result, error) {
	var derr error
	r := measure("decode JSON (event.Decode)", 0, len(raw), func() int {
		for _, b := range raw {
			if _, err := event.Decode(b); err != nil {
				derr = err
				return 0
			}
		}
		return 0
	})
	return r, derr
}

// StateMemory measures the heap held by window state for keys distinct
// keys of a count threshold (window 10m, count 50) and of a first_seen rule,
// in bytes per key.
func StateMemory(keys int) (threshold, firstSeen float64, err error) {
	th, err := state.NewThreshold(&policies.Threshold{Count: 50, Window: policies.Duration(10 * time.Minute)}, state.Options{})
	if err != nil {
		return 0, 0, err
	}
	fs, err := state.NewFirstSeen(&policies.FirstSeen{Field: "device.serial_number", Within: policies.Duration(90 * 24 * time.Hour)}, state.Options{})
	if err != nil {
		return 0, 0, err
	}
	t := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	heap := func() int64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	h0 := heap()
	for i := range keys {
		th.Observe(fmt.Sprintf("user%06d", i), t.Add(time.Duration(i)*time.Millisecond), 0, "")
	}
	h1 := heap()
	for i := range keys {
		fs.Observe(fmt.Sprintf("user%06d", i), "SERIAL-0001", t.Add(time.Duration(i)*time.Millisecond))
	}
	h2 := heap()
	runtime.KeepAlive(th)
	runtime.KeepAlive(fs)
	return float64(max(h1-h0, 0)) / float64(keys), float64(max(h2-h1, 0)) / float64(keys), nil
}

// Parts exposes the prepared query and inputs, for go test benchmarks.
func (rb *RegoBaseline) Parts() (rego.PreparedEvalQuery, []ast.Value) { return rb.query, rb.inputs }
