package engine

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/vigil-itm/vigil/event/eventgen"
	"github.com/vigil-itm/vigil/policies"
)

// BenchmarkLibraryDecision measures the starter library's Rego decision
// policy alone, on the inputs of the generated events that have findings.
func BenchmarkLibraryDecision(b *testing.B) {
	bun, err := policies.Load("../policies/library")
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile(bun)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var inputs []ast.Value
	for _, e := range eventgen.New(1, eventgen.Options{Users: 1000}).Batch(20_000) {
		d, err := p.Evaluate(ctx, e)
		if err != nil {
			b.Fatal(err)
		}
		if len(d.Findings) > 0 {
			inputs = append(inputs, p.regoInputAST(e, d.Findings))
		}
	}
	b.Logf("%d inputs", len(inputs))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := p.decision.eval(ctx, inputs[i%len(inputs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
