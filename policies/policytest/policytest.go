// Package policytest runs a bundle's tests: the scenario files in tests/
// (events in, alerts expected and not expected) against the real engine,
// and the Rego unit tests (*_test.rego) with OPA's test runner.
//
// It sits beside policies because it needs the engine; policies itself
// must not import the engine.
package policytest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

// CaseResult is the outcome of one scenario case or one Rego test.
type CaseResult struct {
	Kind     string            `json:"kind"` // "scenario" or "rego"
	Name     string            `json:"name"`
	Pos      policies.Position `json:"pos"`
	Passed   bool              `json:"passed"`
	Failures []string          `json:"failures,omitempty"`
	// Alerts counts the alerts each rule raised (scenarios only).
	Alerts map[string]int `json:"alerts,omitempty"`
	Events int            `json:"events,omitempty"`
	// Expected lists the rules the scenario expects to fire, ExpectedNone
	// the rules it expects to stay quiet ("*" for no alert at all), and
	// Actions the distinct event actions of its events, sorted (scenarios
	// only). Coverage reads them.
	Expected     []string      `json:"expected,omitempty"`
	ExpectedNone []string      `json:"expected_none,omitempty"`
	Actions      []string      `json:"actions,omitempty"`
	Duration     time.Duration `json:"duration_ns"`
}

// Report is the outcome of all of a bundle's tests.
type Report struct {
	Cases  []CaseResult `json:"cases"`
	Passed int          `json:"passed"`
	Failed int          `json:"failed"`
	// Coverage is set by callers that asked for it (see Coverage); Run
	// leaves it nil.
	Coverage *CoverageReport `json:"coverage,omitempty"`
}

// OK reports whether every test passed.
func (r *Report) OK() bool { return r.Failed == 0 }

// Run runs every scenario and Rego unit test of the bundle. The error is
// for tests that could not run at all (the bundle does not compile); test
// failures are in the Report.
func Run(ctx context.Context, b *policies.Bundle, opts ...engine.Option) (*Report, error) {
	rep := &Report{}
	// Compile once up front so a broken bundle is one clear error.
	if _, err := engine.Compile(b, opts...); err != nil {
		return nil, err
	}
	for _, f := range b.Scenarios {
		for _, sc := range f.Cases {
			res := runScenario(ctx, b, sc, opts)
			rep.add(res)
		}
	}
	regoResults, err := runRego(ctx, b)
	if err != nil {
		return nil, err
	}
	for _, r := range regoResults {
		rep.add(r)
	}
	return rep, nil
}

func (r *Report) add(c CaseResult) {
	r.Cases = append(r.Cases, c)
	if c.Passed {
		r.Passed++
	} else {
		r.Failed++
	}
}

func runScenario(ctx context.Context, b *policies.Bundle, sc *policies.Scenario, opts []engine.Option) CaseResult {
	start := time.Now()
	res := CaseResult{Kind: "scenario", Name: sc.Name, Pos: sc.Source, Alerts: map[string]int{}}
	for _, ex := range sc.Expect {
		res.Expected = appendUnique(res.Expected, ex.Rule)
	}
	for _, rule := range sc.ExpectNone {
		res.ExpectedNone = appendUnique(res.ExpectedNone, rule)
	}
	fail := func(format string, args ...any) {
		res.Failures = append(res.Failures, fmt.Sprintf(format, args...))
	}
	// A fresh Program per case: no state leaks between cases.
	p, err := engine.Compile(b, opts...)
	if err != nil {
		fail("compile: %v", err)
		return res
	}
	events, err := Expand(sc)
	if err != nil {
		fail("%v", err)
		return res
	}
	res.Events = len(events)
	for _, e := range events {
		res.Actions = appendUnique(res.Actions, e.Event.Action)
	}
	sort.Strings(res.Actions)
	type alert struct {
		severity string
		risk     float64
	}
	byRule := map[string][]alert{}
	anyAlert := 0
	for _, e := range events {
		d, err := p.Evaluate(ctx, e)
		if err != nil {
			fail("event %s: %v", e.Event.ID, err)
			continue
		}
		for _, msg := range d.Errors {
			fail("event %s: %s", e.Event.ID, msg)
		}
		if !d.Alert {
			continue
		}
		anyAlert++
		for _, f := range d.Findings {
			byRule[f.Rule] = append(byRule[f.Rule], alert{severity: d.Severity, risk: d.RiskScore})
			res.Alerts[f.Rule]++
		}
	}
	for _, ex := range sc.Expect {
		got := byRule[ex.Rule]
		switch {
		case ex.Count > 0 && len(got) != ex.Count:
			fail("%s: expected %d alert(s) from rule %q, got %d", ex.Source, ex.Count, ex.Rule, len(got))
		case ex.Count == 0 && len(got) == 0:
			fail("%s: expected an alert from rule %q, got none", ex.Source, ex.Rule)
		}
		if ex.Severity != "" && len(got) > 0 {
			ok := false
			var seen []string
			for _, a := range got {
				ok = ok || a.severity == string(ex.Severity)
				seen = append(seen, a.severity)
			}
			if !ok {
				fail("%s: expected severity %s for rule %q, got %s", ex.Source, ex.Severity, ex.Rule, strings.Join(seen, ", "))
			}
		}
		if ex.MinRisk > 0 && len(got) > 0 {
			best := 0.0
			for _, a := range got {
				best = max(best, a.risk)
			}
			if best < ex.MinRisk {
				fail("%s: expected risk score of at least %g for rule %q, got %g", ex.Source, ex.MinRisk, ex.Rule, best)
			}
		}
	}
	for _, rule := range sc.ExpectNone {
		if rule == "*" {
			if anyAlert > 0 {
				fail("expected no alerts, got %d (%s)", anyAlert, summarize(res.Alerts))
			}
			continue
		}
		if n := len(byRule[rule]); n > 0 {
			fail("expected no alert from rule %q, got %d", rule, n)
		}
	}
	res.Passed = len(res.Failures) == 0
	res.Duration = time.Since(start)
	return res
}

// appendUnique appends s to list unless it is already there.
func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func summarize(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// Expand turns a scenario's event items into events: times resolved,
// repeats unrolled with "${i}" replaced, the scenario's user context merged
// in, derived fields filled, and each event validated.
func Expand(sc *policies.Scenario) ([]*event.Event, error) {
	var out []*event.Event
	var prev time.Time
	for n, item := range sc.Events {
		at, err := resolveTime(item.At, prev)
		if err != nil {
			return nil, fmt.Errorf("%s: event %d: at: %w", item.Source, n, err)
		}
		count := max(item.Repeat, 1)
		for i := 0; i < count; i++ {
			ts := at.Add(time.Duration(i) * item.Every.D())
			m, _ := substitute(item.Event, fmt.Sprint(i)).(map[string]any)
			if m == nil {
				return nil, fmt.Errorf("%s: event %d: event must be a mapping", item.Source, n)
			}
			if _, ok := m["@timestamp"]; !ok {
				if ts.IsZero() {
					return nil, fmt.Errorf("%s: event %d: needs at: or @timestamp", item.Source, n)
				}
				m["@timestamp"] = ts.UTC().Format(time.RFC3339Nano)
			}
			meta, _ := m["event"].(map[string]any)
			if meta == nil {
				return nil, fmt.Errorf("%s: event %d: needs an event: {action: ...} field set", item.Source, n)
			}
			if _, ok := meta["id"]; !ok {
				meta["id"] = fmt.Sprintf("scenario-%d-%d", n, i)
			}
			raw, err := json.Marshal(m)
			if err != nil {
				return nil, fmt.Errorf("%s: event %d: %w", item.Source, n, err)
			}
			e, err := event.Decode(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: event %d: %w", item.Source, n, err)
			}
			if sc.User != nil {
				mergeUser(e, sc.User)
			}
			e.Normalize()
			prev = e.Timestamp
			out = append(out, e)
		}
	}
	return out, nil
}

func resolveTime(at string, prev time.Time) (time.Time, error) {
	switch {
	case at == "":
		return prev, nil
	case strings.HasPrefix(at, "+"):
		if prev.IsZero() {
			return time.Time{}, fmt.Errorf("%q: a relative time needs an earlier event", at)
		}
		d, err := policies.ParseDuration(at[1:])
		if err != nil {
			return time.Time{}, err
		}
		return prev.Add(d.D()), nil
	}
	return time.Parse(time.RFC3339Nano, at)
}

// substitute replaces "${i}" in every string of v.
func substitute(v any, i string) any {
	switch t := v.(type) {
	case string:
		return strings.ReplaceAll(t, "${i}", i)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = substitute(x, i)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for k, x := range t {
			out[k] = substitute(x, i)
		}
		return out
	}
	return v
}

// mergeUser fills the event's user with the scenario's directory context,
// keeping what the event itself says.
func mergeUser(e *event.Event, ctxUser *event.User) {
	merged := *ctxUser
	if e.User != nil {
		b, _ := json.Marshal(e.User)
		_ = json.Unmarshal(b, &merged)
	}
	e.User = &merged
}

// runRego runs the bundle's *_test.rego tests with OPA's runner.
func runRego(ctx context.Context, b *policies.Bundle) ([]CaseResult, error) {
	modules := map[string]*ast.Module{}
	hasTests := false
	for _, m := range b.Modules {
		mod, err := ast.ParseModuleWithOpts(m.Path, string(m.Source), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", m.Path, err)
		}
		modules[m.Path] = mod
		hasTests = hasTests || strings.HasSuffix(m.Path, "_test.rego")
	}
	if !hasTests {
		return nil, nil
	}
	data := b.Data
	if data == nil {
		data = map[string]any{}
	}
	store := inmem.NewFromObject(data)
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, fmt.Errorf("rego tests: %w", err)
	}
	defer store.Abort(ctx, txn)
	ch, err := tester.NewRunner().SetStore(store).SetModules(modules).
		SetDefaultRegoVersion(ast.RegoV1).RaiseBuiltinErrors(true).SetTimeout(30*time.Second).
		RunTests(ctx, txn)
	if err != nil {
		return nil, fmt.Errorf("rego tests: %w", err)
	}
	var out []CaseResult
	for r := range ch {
		c := CaseResult{Kind: "rego", Name: r.Package + "." + r.Name, Passed: r.Pass(), Duration: r.Duration}
		if r.Location != nil {
			c.Pos = policies.Position{File: r.Location.File, Line: r.Location.Row, Column: r.Location.Col}
		}
		switch {
		case r.Error != nil:
			c.Failures = append(c.Failures, "error: "+r.Error.Error())
		case r.Fail:
			msg := "failed"
			if r.FailedAt != nil && r.FailedAt.Location != nil {
				msg = fmt.Sprintf("failed at %s:%d: %s", r.FailedAt.Location.File, r.FailedAt.Location.Row, r.FailedAt.String())
			}
			c.Failures = append(c.Failures, msg)
		case r.Skip:
			c.Passed = false
			c.Failures = append(c.Failures, "skipped (todo_ test): a skipped test is not a pass")
		}
		out = append(out, c)
	}
	return out, nil
}
