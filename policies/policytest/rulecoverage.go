package policytest

import (
	"sort"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"

	"github.com/vigil-itm/vigil/policies"
)

// RuleCoverage says which scenarios exercise one rule.
type RuleCoverage struct {
	Rule string            `json:"rule"`
	Pos  policies.Position `json:"pos"`
	// Fire names the scenarios that expect the rule to fire.
	Fire []string `json:"fire"`
	// Quiet names the scenarios that expect it to stay quiet: those that
	// list it in expect_none, and those with expect_none: ["*"] that have at
	// least one event of an action the rule applies to.
	Quiet []string `json:"quiet"`
	// Actions are the event actions the rule applies to, from its actions:
	// list or its condition.
	Actions []string `json:"actions,omitempty"`
	// EveryAction is set when the rule cannot be indexed by action and so
	// is evaluated for every event.
	EveryAction bool `json:"every_action,omitempty"`
}

// Covered reports whether some scenario expects the rule to fire and some
// scenario expects it to stay quiet.
func (c *RuleCoverage) Covered() bool { return len(c.Fire) > 0 && len(c.Quiet) > 0 }

// CoverageReport says which enabled rules the scenario tests leave
// unexercised. A rule is covered when some scenario expects it to fire and
// some scenario expects it to stay quiet.
type CoverageReport struct {
	// Rules are the enabled rules, in bundle order.
	Rules []RuleCoverage `json:"rules"`
	// Covered counts the rules that are covered both ways.
	Covered int `json:"covered"`
	// UncoveredFire lists the rules no scenario expects to fire.
	UncoveredFire []string `json:"uncovered_fire"`
	// UncoveredQuiet lists the rules no scenario expects to stay quiet.
	UncoveredQuiet []string `json:"uncovered_quiet"`
	// Disabled lists the disabled rules, which are never evaluated and so
	// not counted.
	Disabled []string `json:"disabled,omitempty"`
}

// OK reports whether every enabled rule is covered.
func (c *CoverageReport) OK() bool { return len(c.UncoveredFire) == 0 && len(c.UncoveredQuiet) == 0 }

// Coverage works out, from the scenario results of rep (what each case
// expected, expected none of, and which actions its events had), which of
// b's rules are exercised. Rego unit tests do not count: they test the
// decision policy, not the rules. A failing scenario counts as much as a
// passing one; its failure is reported by the test run itself.
func Coverage(b *policies.Bundle, rep *Report) CoverageReport {
	out := CoverageReport{Rules: []RuleCoverage{}, UncoveredFire: []string{}, UncoveredQuiet: []string{}}
	for _, r := range b.Rules {
		if r.Disabled {
			out.Disabled = append(out.Disabled, r.ID)
			continue
		}
		rc := RuleCoverage{Rule: r.ID, Pos: r.Source, Fire: []string{}, Quiet: []string{}}
		actions, indexed := ruleActions(r)
		rc.Actions, rc.EveryAction = actions, !indexed
		for i := range rep.Cases {
			c := &rep.Cases[i]
			if c.Kind != "scenario" {
				continue
			}
			if contains(c.Expected, r.ID) {
				rc.Fire = append(rc.Fire, c.Name)
			}
			switch {
			case contains(c.ExpectedNone, r.ID):
				rc.Quiet = append(rc.Quiet, c.Name)
			case contains(c.ExpectedNone, "*") && meets(c.Actions, actions, indexed):
				rc.Quiet = append(rc.Quiet, c.Name)
			}
		}
		if len(rc.Fire) == 0 {
			out.UncoveredFire = append(out.UncoveredFire, r.ID)
		}
		if len(rc.Quiet) == 0 {
			out.UncoveredQuiet = append(out.UncoveredQuiet, r.ID)
		}
		if rc.Covered() {
			out.Covered++
		}
		out.Rules = append(out.Rules, rc)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// meets reports whether a case with events of caseActions gives a rule of
// ruleActions at least one event to judge. An unindexed rule judges every
// event.
func meets(caseActions, ruleActions []string, indexed bool) bool {
	if !indexed {
		return len(caseActions) > 0
	}
	for _, a := range caseActions {
		if contains(ruleActions, a) {
			return true
		}
	}
	return false
}

// ruleActions finds the event actions a rule applies to the way the engine
// indexes it: the rule's actions: list when it has one, else the actions
// its condition's top-level conjunction pins event.action to (for a
// sequence without an indexable condition, the union over its steps).
// indexed is false when the rule is evaluated for every event.
func ruleActions(r *policies.Rule) (actions []string, indexed bool) {
	if len(r.Actions) > 0 {
		return dedupe(r.Actions), true
	}
	if r.When != "" {
		if a, ok := conditionActions(r.When); ok {
			return a, true
		}
	}
	if r.Sequence == nil || len(r.Sequence.Steps) == 0 {
		return nil, false
	}
	var union []string
	for _, st := range r.Sequence.Steps {
		a, ok := conditionActions(st.When)
		if !ok {
			return nil, false
		}
		union = append(union, a...)
	}
	return dedupe(union), true
}

// conditionActions parses a CEL condition (without type-checking it: the
// engine has done that) and finds the actions it restricts event.action
// to: event.action == "x", event.action in ["x", "y"], a conjunction with
// one of those, or a disjunction of them.
func conditionActions(src string) ([]string, bool) {
	env, err := cel.NewEnv()
	if err != nil {
		return nil, false
	}
	ast, iss := env.Parse(src)
	if iss.Err() != nil {
		return nil, false
	}
	var walk func(e celast.Expr) ([]string, bool)
	walk = func(e celast.Expr) ([]string, bool) {
		if e.Kind() != celast.CallKind {
			return nil, false
		}
		call := e.AsCall()
		args := call.Args()
		switch call.FunctionName() {
		case "_&&_":
			var set []string
			found := false
			for _, arg := range args {
				if acts, ok := walk(arg); ok {
					if !found {
						set, found = acts, true
					} else {
						set = intersect(set, acts)
					}
				}
			}
			return set, found
		case "_||_":
			var union []string
			for _, arg := range args {
				acts, ok := walk(arg)
				if !ok {
					return nil, false
				}
				union = append(union, acts...)
			}
			return dedupe(union), true
		case "_==_":
			for i := range 2 {
				if isActionRef(args[i]) && args[1-i].Kind() == celast.LiteralKind {
					if s, ok := args[1-i].AsLiteral().(types.String); ok {
						return []string{string(s)}, true
					}
				}
			}
		case "@in":
			if isActionRef(args[0]) && args[1].Kind() == celast.ListKind {
				var out []string
				for _, el := range args[1].AsList().Elements() {
					if el.Kind() != celast.LiteralKind {
						return nil, false
					}
					s, ok := el.AsLiteral().(types.String)
					if !ok {
						return nil, false
					}
					out = append(out, string(s))
				}
				return dedupe(out), true
			}
		}
		return nil, false
	}
	return walk(ast.NativeRep().Expr())
}

// isActionRef reports whether a parsed expression is event.action.
func isActionRef(e celast.Expr) bool {
	if e.Kind() != celast.SelectKind {
		return false
	}
	sel := e.AsSelect()
	op := sel.Operand()
	return !sel.IsTestOnly() && sel.FieldName() == "action" &&
		op.Kind() == celast.IdentKind && op.AsIdent() == "event"
}

func intersect(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		out = appendUnique(out, s)
	}
	sort.Strings(out)
	return out
}
