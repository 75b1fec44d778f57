package policytest

import (
	"github.com/vigil-itm/vigil/engine"
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
	// The engine's own index says which events each rule meets. A bundle
	// that does not compile has no tests to cover; its rules are treated as
	// meeting every event.
	p, _ := engine.Compile(b)
	for _, r := range b.Rules {
		if r.Disabled {
			out.Disabled = append(out.Disabled, r.ID)
			continue
		}
		rc := RuleCoverage{Rule: r.ID, Pos: r.Source, Fire: []string{}, Quiet: []string{}}
		var actions []string
		indexed := false
		if p != nil {
			actions, indexed, _ = p.RuleActions(r.ID)
		}
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
