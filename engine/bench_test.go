package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/engine/benchmark"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
	"github.com/vigil-itm/vigil/policies"
)

const benchEvents = 50_000

// BenchmarkEvaluate measures one goroutine evaluating a generated mixed
// stream (events already decoded) against generated rule sets. Compare with
// BenchmarkRegoBaseline at the same rule count.
func BenchmarkEvaluate(b *testing.B) {
	events := eventgen.New(1, eventgen.Options{Users: 1000}).Batch(benchEvents)
	for _, n := range []int{100, 1000} {
		for _, mode := range []string{"fast", "interpreter"} {
			b.Run(fmt.Sprintf("rules=%d/events=mixed/cel=%s", n, mode), func(b *testing.B) {
				var opts []engine.Option
				if mode == "interpreter" {
					opts = append(opts, engine.WithoutFastPath())
				}
				p, err := engine.Compile(benchmark.Bundle(n), opts...)
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := p.Evaluate(ctx, events[i%len(events)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkRegoBaseline measures the same conditions written in Rego and
// evaluated by OPA the fastest way: indexed on input.event.event.action, a
// prepared query, input converted to ast.Value in advance.
func BenchmarkRegoBaseline(b *testing.B) {
	events := eventgen.New(1, eventgen.Options{Users: 1000}).Batch(5_000)
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("rules=%d/events=mixed", n), func(b *testing.B) {
			ctx := context.Background()
			rb, err := benchmark.NewRegoBaseline(ctx, n, events)
			if err != nil {
				b.Fatal(err)
			}
			q, inputs := rb.Parts()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := q.Eval(ctx, rego.EvalParsedInput(inputs[i%len(inputs)])); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkDecode reports JSON decoding apart from evaluation.
func BenchmarkDecode(b *testing.B) {
	events := eventgen.New(1, eventgen.Options{Users: 1000}).Batch(5_000)
	raw := make([][]byte, len(events))
	for i, e := range events {
		var err error
		if raw[i], err = event.Encode(e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := event.Decode(raw[i%len(raw)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLibrary measures the starter library, Rego decision included,
// on the generated mixed stream.
func BenchmarkLibrary(b *testing.B) {
	events := eventgen.New(1, eventgen.Options{Users: 1000}).Batch(benchEvents)
	bun, err := policies.Load("../policies/library")
	if err != nil {
		b.Fatal(err)
	}
	p, err := engine.Compile(bun)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := p.Evaluate(ctx, events[i%len(events)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
