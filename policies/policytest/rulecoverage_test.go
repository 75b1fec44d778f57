package policytest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/policies"
)

// writeBundle writes a small bundle directory: a manifest, the rules and the
// scenario file given.
func writeBundle(t *testing.T, rules, tests string) *policies.Bundle {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		".manifest":       `{"revision": "1", "roots": ["vigil"], "metadata": {"name": "coverage-test"}}`,
		"rules/r.yaml":    rules,
		"tests/t.yaml":    tests,
		"data/.gitkeep":   "",
		"policy/.gitkeep": "",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	b, err := policies.Load(dir)
	require.NoError(t, err)
	return b
}

const coverageRules = `
- id: usb-copy
  title: Copy to USB
  rationale: r
  severity: high
  tags: [removable]
  when: event.action == "file-copied-to-removable"

- id: print-any
  title: Any print job
  rationale: r
  severity: low
  tags: [print]
  when: event.action == "print-job"

- id: logons
  title: Logons
  rationale: r
  severity: info
  tags: [logon]
  when: event.action in ["logon", "logoff"]

- id: retired
  title: Retired
  rationale: r
  severity: low
  tags: [old]
  disabled: true
  when: event.action == "logon"
`

const coverageTests = `
- name: usb copy fires
  events:
    - at: 2026-11-02T10:00:00Z
      event:
        event: {action: file-copied-to-removable}
        user: {name: jdoe}
        file: {path: /tmp/a.txt}
  expect:
    - {rule: usb-copy, count: 1}

- name: a print job fires, usb stays quiet by name
  events:
    - at: 2026-11-02T10:00:00Z
      event:
        event: {action: print-job}
        user: {name: jdoe}
        print: {pages: 1}
  expect:
    - {rule: print-any}
  expect_none: [usb-copy]

- name: a web visit stays quiet
  events:
    - at: 2026-11-02T10:00:00Z
      event:
        event: {action: web-visit}
        user: {name: jdoe}
        url: {full: "https://example.com/"}
  expect_none: ["*"]
`

func TestRunRecordsExpectationsAndActions(t *testing.T) {
	b := writeBundle(t, coverageRules, coverageTests)
	rep, err := Run(context.Background(), b)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep.Cases)
	require.Len(t, rep.Cases, 3)
	c := rep.Cases[1]
	require.Equal(t, []string{"print-any"}, c.Expected)
	require.Equal(t, []string{"usb-copy"}, c.ExpectedNone)
	require.Equal(t, []string{"print-job"}, c.Actions)
	require.Equal(t, []string{"*"}, rep.Cases[2].ExpectedNone)
	require.Equal(t, []string{"web-visit"}, rep.Cases[2].Actions)
	require.Nil(t, rep.Coverage, "Run leaves coverage to callers")
}

func TestCoverage(t *testing.T) {
	b := writeBundle(t, coverageRules, coverageTests)
	rep, err := Run(context.Background(), b)
	require.NoError(t, err)
	cov := Coverage(b, rep)

	require.Equal(t, []string{"retired"}, cov.Disabled)
	require.Len(t, cov.Rules, 3)
	require.Equal(t, 1, cov.Covered)
	require.False(t, cov.OK())
	require.Equal(t, []string{"logons"}, cov.UncoveredFire)
	// The "*" case has only a web-visit event, which none of the rules judge.
	require.Equal(t, []string{"print-any", "logons"}, cov.UncoveredQuiet)

	usb := cov.Rules[0]
	require.Equal(t, "usb-copy", usb.Rule)
	require.Equal(t, []string{"usb copy fires"}, usb.Fire)
	require.Equal(t, []string{"a print job fires, usb stays quiet by name"}, usb.Quiet)
	require.Equal(t, []string{"file-copied-to-removable"}, usb.Actions)
	require.True(t, usb.Covered())
	require.Equal(t, []string{"logoff", "logon"}, cov.Rules[2].Actions)

	// A "*" case with an event of the rule's action makes it quiet-covered;
	// Rego unit tests and unknown rules do not count.
	rep.Cases = append(rep.Cases,
		CaseResult{Kind: "scenario", Name: "quiet printing", ExpectedNone: []string{"*"}, Actions: []string{"print-job"}},
		CaseResult{Kind: "rego", Name: "data.x.test_logons", Expected: []string{"logons"}},
		CaseResult{Kind: "scenario", Name: "typo", Expected: []string{"logonz"}},
	)
	cov = Coverage(b, rep)
	require.Equal(t, []string{"logons"}, cov.UncoveredFire)
	require.Equal(t, []string{"logons"}, cov.UncoveredQuiet)
	require.Equal(t, []string{"quiet printing"}, cov.Rules[1].Quiet)
	require.Equal(t, 2, cov.Covered)

	rep.Cases = append(rep.Cases, CaseResult{Kind: "scenario", Name: "logons", Expected: []string{"logons"}, ExpectedNone: []string{"logons"}})
	cov = Coverage(b, rep)
	require.True(t, cov.OK())
	require.Equal(t, 3, cov.Covered)
	require.Empty(t, cov.UncoveredFire)
	require.Empty(t, cov.UncoveredQuiet)
}

// Coverage asks the engine which events a rule meets, so a quiet "*" case
// covers exactly the rules the index would show its events to.
func TestCoverageFollowsTheEngineIndex(t *testing.T) {
	b, err := policies.Load("../library")
	require.NoError(t, err)
	p, err := engine.Compile(b)
	require.NoError(t, err)
	cov := Coverage(b, &Report{})
	require.NotEmpty(t, cov.Rules)
	for _, rc := range cov.Rules {
		actions, indexed, ok := p.RuleActions(rc.Rule)
		require.True(t, ok, rc.Rule)
		require.Equal(t, !indexed, rc.EveryAction, rc.Rule)
		require.Equal(t, actions, rc.Actions, rc.Rule)
	}
}
