package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/vigil-itm/vigil/policies"
)

// DecisionQuery is the Rego rule a bundle's decision policy defines.
const DecisionQuery = "data.vigil.decision.decision"

// regoDecision is the bundle's prepared decision query.
type regoDecision struct {
	query rego.PreparedEvalQuery
}

// compileDecision prepares the bundle's vigil.decision policy, or returns
// nil when the bundle has none (the default decision applies).
func compileDecision(b *policies.Bundle) (*regoDecision, policies.Diagnostics) {
	var mods []policies.Module
	has := false
	for _, m := range b.Modules {
		if strings.HasSuffix(m.Path, "_test.rego") {
			continue
		}
		mods = append(mods, m)
		parsed, err := ast.ParseModuleWithOpts(m.Path, string(m.Source), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, regoProblems(err, m.Path)
		}
		if parsed.Package.Path.String() == "data.vigil.decision" {
			for _, r := range parsed.Rules {
				if r.Head.Name.String() == "decision" || r.Head.Ref().String() == "decision" {
					has = true
				}
			}
		}
	}
	if !has {
		return nil, nil
	}
	opts := []func(*rego.Rego){
		rego.Query(DecisionQuery),
		rego.Store(inmem.NewFromObjectWithOpts(dataOrEmpty(b.Data), inmem.OptReturnASTValuesOnRead(true))),
		rego.StrictBuiltinErrors(true),
	}
	for _, m := range mods {
		opts = append(opts, rego.Module(m.Path, string(m.Source)))
	}
	pq, err := rego.New(opts...).PrepareForEval(context.Background())
	if err != nil {
		return nil, regoProblems(err, "policy")
	}
	return &regoDecision{query: pq}, nil
}

func dataOrEmpty(d map[string]any) map[string]any {
	if d == nil {
		return map[string]any{}
	}
	return d
}

// regoProblems turns OPA's errors into positioned problems.
func regoProblems(err error, fallback string) policies.Diagnostics {
	var errs ast.Errors
	if !errors.As(err, &errs) {
		return policies.Diagnostics{{Pos: policies.Position{File: fallback}, Severity: policies.DiagError, Code: "rego-compile", Msg: "rego: " + err.Error()}}
	}
	out := make(policies.Diagnostics, 0, len(errs))
	for _, e := range errs {
		pos := policies.Position{File: fallback}
		if e.Location != nil {
			pos = policies.Position{File: e.Location.File, Line: e.Location.Row, Column: e.Location.Col}
		}
		out = append(out, policies.Diagnostic{Pos: pos, Severity: policies.DiagError, Code: e.Code, Msg: "rego " + e.Code + ": " + e.Message})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pos.String() < out[j].Pos.String() })
	return out
}

// eval runs the decision policy and reads its result.
func (d *regoDecision) eval(ctx context.Context, input ast.Value) (regoResult, error) {
	rs, err := d.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return regoResult{}, fmt.Errorf("evaluate %s: %w", DecisionQuery, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return regoResult{}, fmt.Errorf("%s is undefined for this input", DecisionQuery)
	}
	obj, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return regoResult{}, fmt.Errorf("%s must be an object, got %T", DecisionQuery, rs[0].Expressions[0].Value)
	}
	return parseRegoResult(obj)
}

// regoResult is the decision a policy returned.
type regoResult struct {
	alert     bool
	severity  string
	riskScore float64
	reasons   []string
	evidence  *policies.EvidenceSpec
	actions   []string
}

func parseRegoResult(obj map[string]any) (regoResult, error) {
	var r regoResult
	for k, v := range obj {
		switch k {
		case "alert":
			b, ok := v.(bool)
			if !ok {
				return r, fmt.Errorf("decision.alert: want boolean, got %T", v)
			}
			r.alert = b
		case "severity":
			s, ok := v.(string)
			if !ok || policies.Severity(s).Rank() < 0 {
				return r, fmt.Errorf("decision.severity: want one of info, low, medium, high, critical, got %v", v)
			}
			r.severity = s
		case "risk_score":
			f, err := number(v)
			if err != nil {
				return r, fmt.Errorf("decision.risk_score: %w", err)
			}
			r.riskScore = f
		case "reasons", "actions":
			l, err := stringList(v)
			if err != nil {
				return r, fmt.Errorf("decision.%s: %w", k, err)
			}
			if k == "reasons" {
				r.reasons = l
			} else {
				r.actions = l
			}
		case "evidence":
			ev, err := evidenceFrom(v)
			if err != nil {
				return r, fmt.Errorf("decision.evidence: %w", err)
			}
			r.evidence = ev
		default:
			return r, fmt.Errorf("decision: unknown key %q (want alert, severity, risk_score, reasons, evidence, actions)", k)
		}
	}
	return r, nil
}

func number(v any) (float64, error) {
	switch n := v.(type) {
	case float64:
		return n, nil
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case interface{ Float64() (float64, error) }:
		return n.Float64()
	}
	return 0, fmt.Errorf("want number, got %T", v)
}

func stringList(v any) ([]string, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want array of strings, got %T", v)
	}
	out := make([]string, 0, len(l))
	for _, it := range l {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("want array of strings, got an element of type %T", it)
		}
		out = append(out, s)
	}
	return out, nil
}
