package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies/policytest"
)

func TestPolicyTestCoverage(t *testing.T) {
	// Without --coverage, an untested quiet path is not a failure.
	code, out, errOut := run(t, "policy", "test", testBundle)
	require.Equal(t, ExitOK, code, out+errOut)
	require.NotContains(t, out, "coverage")

	code, out, errOut = run(t, "policy", "test", testBundle, "--coverage")
	require.Equal(t, ExitFailed, code, out+errOut)
	require.Contains(t, out, "5 passed, 0 failed\ncoverage: 2 of 5 rules covered\n")
	require.Contains(t, out, "not covered: no scenario expects it to stay quiet")
	require.Regexp(t, `(?m)^    usb-copy \(rules/rules\.yaml:\d+:\d+\)$`, out)
	require.Regexp(t, `(?m)^    cloud-sync-copy \(rules/rules\.yaml:\d+:\d+\)$`, out)
	require.Regexp(t, `(?m)^    print-job \(rules/rules\.yaml:\d+:\d+\)$`, out)
	require.NotContains(t, out, "no scenario expects it to fire")
	require.Contains(t, errOut, "3 of 5 rules not covered")

	code, out, errOut = run(t, "policy", "test", testBundle, "--coverage", "--format", "json")
	require.Equal(t, ExitFailed, code, out+errOut)
	var rep policytest.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.NotNil(t, rep.Coverage)
	require.Equal(t, []string{"usb-copy", "cloud-sync-copy", "print-job"}, rep.Coverage.UncoveredQuiet)
	require.Empty(t, rep.Coverage.UncoveredFire)
	require.Equal(t, []string{"file-copied-to-cloud-sync", "print-job"}, rep.Cases[4].Actions)
	require.Equal(t, []string{"cloud-sync-copy", "print-job"}, rep.Cases[4].Expected)

	// A scenario that rules them out, and a rule nothing expects to fire.
	dir := copyDir(t, testBundle)
	f, err := os.OpenFile(filepath.Join(dir, "tests", "rules.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`
- name: reading a file is not exfiltration
  events:
    - at: 2026-11-02T10:00:00Z
      event:
        event: {id: r1, action: file-modified}
        user: {name: jdoe}
        file: {path: /home/jdoe/a.txt}
  expect_none: [usb-copy, cloud-sync-copy, print-job]
`)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	code, out, errOut = run(t, "policy", "test", dir, "--coverage", "-v")
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, out, "coverage: 5 of 5 rules covered\n")
	require.Contains(t, out, "    usb-copy: fires in 2 scenario(s), stays quiet in 1\n")

	rules := filepath.Join(dir, "rules", "rules.yaml")
	b, err := os.ReadFile(rules)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(rules, append(b, []byte(`
- id: logons
  title: Logons
  rationale: Never expected to fire by any scenario.
  severity: info
  tags: [logon]
  when: event.action == "logon"

- id: retired
  title: Retired
  rationale: Disabled rules are not counted.
  severity: info
  tags: [logon]
  disabled: true
  when: event.action == "logon"
`)...), 0o644))
	code, out, errOut = run(t, "policy", "test", dir, "--coverage")
	require.Equal(t, ExitFailed, code, out+errOut)
	require.Contains(t, out, "coverage: 5 of 6 rules covered (1 disabled, not counted)\n")
	require.Contains(t, out, "not covered: no scenario expects it to fire (expect):\n    logons (rules/rules.yaml:")
	require.Contains(t, out, "not covered: no scenario expects it to stay quiet (expect_none, or a \"*\" case with an event it judges):\n    logons (rules/rules.yaml:")
}
