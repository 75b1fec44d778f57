package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

// testBundle is a small fixed bundle, so that what the tests expect does
// not move with the library.
const testBundle = "testdata/bundle"

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	require.Equal(t, string(want), got)
}

// runIn is run with standard input.
func runIn(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func compileDir(t *testing.T, dir string) *engine.Program {
	t.Helper()
	b, err := policies.Load(dir)
	require.NoError(t, err)
	p, err := engine.Compile(b)
	require.NoError(t, err)
	return p
}

// fixedReport replays a file through the test bundle by hand, with a fixed
// elapsed time, so its rendering is the same on every run.
func fixedReport(t *testing.T, events string) *ReplayReport {
	t.Helper()
	p := compileDir(t, testBundle)
	src := SourceReport{Format: "jsonl", Path: "examples/events/" + events}
	rep := newReplayReport(p, src)
	evs, err := event.DecodeFile(filepath.Join(examples, events))
	require.NoError(t, err)
	for _, ev := range evs {
		ev.Normalize()
		d, err := p.Evaluate(context.Background(), ev)
		require.NoError(t, err)
		rep.add(ev, &d)
	}
	rep.finish(0, src, 2*time.Second)
	return rep
}

func TestReplayReportRendersGolden(t *testing.T) {
	rep := fixedReport(t, "mixed-day.jsonl")
	var text, md bytes.Buffer
	require.NoError(t, rep.Text(&text))
	require.NoError(t, rep.Markdown(&md))
	golden(t, "replay-report.txt", text.String())
	golden(t, "replay-report.md", md.String())

	require.Equal(t, int64(1000), rep.Events)
	require.Equal(t, int64(500), int64(rep.EventsPerSecond))
	require.Len(t, rep.Users, 23, "every user with an alert")
	for i := 1; i < len(rep.Users); i++ {
		require.GreaterOrEqual(t, rep.Users[i-1].Risk, rep.Users[i].Risk, "highest risk first")
	}
	require.Contains(t, text.String(), "23 users with alerts; top 10 by summed risk score:")
	_, users, found := strings.Cut(md.String(), "#### Top users")
	require.True(t, found)
	require.Equal(t, 2+10, strings.Count(users, "\n|"), "header, rule and ten users")
}

func TestReplayReportSumsRiskPerDecision(t *testing.T) {
	rep := fixedReport(t, "usb-exfiltration.jsonl")
	require.Len(t, rep.Users, 1)
	u := rep.Users[0]
	require.Equal(t, "jdoe", u.User)
	require.Equal(t, int64(3), u.Decisions)
	require.Equal(t, int64(4), u.Alerts, "one decision has two findings")
	require.Equal(t, map[string]int64{"cloud-upload": 1, "print-job": 1, "usb-copy": 1, "usb-document": 1}, u.Rules)
	require.Equal(t, 70.0+45+5, u.Risk, "the USB decision counts once")
	for _, r := range rep.Rules {
		require.Equal(t, 1, r.Users)
	}
	// The risk is summed once per alerting decision, not per finding.
	p := compileDir(t, testBundle)
	evs, err := event.DecodeFile(filepath.Join(examples, "usb-exfiltration.jsonl"))
	require.NoError(t, err)
	var sum float64
	for _, ev := range evs {
		ev.Normalize()
		d, err := p.Evaluate(context.Background(), ev)
		require.NoError(t, err)
		if d.Alert {
			sum += d.RiskScore
		}
	}
	require.Positive(t, sum)
	require.InDelta(t, sum, u.Risk, 1e-9)
	require.Equal(t, time.Date(2026, 11, 2, 9, 55, 0, 0, time.UTC), rep.FirstAlert)
	require.Equal(t, time.Date(2026, 11, 2, 10, 21, 0, 0, time.UTC), rep.LastAlert)
	require.Equal(t, time.Date(2026, 11, 2, 9, 12, 0, 0, time.UTC), rep.FirstEvent)
	require.Equal(t, time.Date(2026, 11, 2, 17, 45, 0, 0, time.UTC), rep.LastEvent)
}

func TestReplayReportFormats(t *testing.T) {
	events := filepath.Join(examples, "usb-exfiltration.jsonl")

	code, out, errOut := run(t, "replay", "--bundle", testBundle, "--events", events)
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, errOut, "replayed 9 events (0 malformed)")
	require.Contains(t, errOut, "event time 2026-11-02T09:12:00Z … 2026-11-02T17:45:00Z")
	require.Contains(t, errOut, "alert time 2026-11-02T09:55:00Z … 2026-11-02T10:21:00Z")
	require.Contains(t, errOut, "3 decisions with findings, 4 alert lines, 0 rule evaluation errors")
	require.Regexp(t, `(?m)^usb-document\s+medium\s+1\s+1$`, errOut)
	require.Contains(t, errOut, "by severity: high 2, medium 1, info 1")
	require.Regexp(t, `(?m)^jdoe\s+120\s+3\s+4\s+cloud-upload 1, print-job 1, usb-copy 1, usb-document 1$`, errOut)

	code, out, errOut = run(t, "replay", "--bundle", testBundle, "--events", events, "--report", "markdown")
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, errOut, "### Replay of `cli-test@1.0.0`")
	require.Contains(t, errOut, "| `usb-copy` | high | 1 | 1 |")
	require.Contains(t, errOut, "| jdoe | 120 | 3 | 4 |")

	code, out, errOut = run(t, "replay", "--bundle", testBundle, "--events", events, "--report", "json")
	require.Equal(t, ExitOK, code, out+errOut)
	var rep ReplayReport
	require.NoError(t, json.Unmarshal([]byte(errOut), &rep))
	require.Equal(t, int64(9), rep.Events)
	require.Equal(t, int64(4), rep.Alerts)
	require.Equal(t, int64(3), rep.AlertDecisions)
	require.Equal(t, "cli-test@1.0.0", rep.Bundle)
	require.Equal(t, SourceReport{Format: "jsonl", Path: events}, rep.Source)
	require.Len(t, rep.Rules, 4)
	require.Equal(t, map[string]int64{"high": 2, "medium": 1, "info": 1}, rep.BySeverity)
	require.Positive(t, rep.EventsPerSecond)
}

func TestReplayReportToFileKeepsAlertLines(t *testing.T) {
	tmp := t.TempDir()
	reportPath := filepath.Join(tmp, "report.md")
	code, out, errOut := run(t, "replay", "--bundle", testBundle, "--events", filepath.Join(examples, "usb-exfiltration.jsonl"),
		"--alerts", "-", "--report", "markdown", "--report-out", reportPath)
	require.Equal(t, ExitOK, code, out+errOut)
	require.Regexp(t, `^replayed 9 events \(0 malformed\) in .*: 4 alert lines; markdown report in `, errOut)
	require.NotContains(t, errOut, "RULE")
	md, err := os.ReadFile(reportPath)
	require.NoError(t, err)
	require.Contains(t, string(md), "#### Alerts by rule")

	// The alert lines on standard output are unchanged.
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		var a AlertLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a))
		require.Equal(t, "jdoe", a.User.Name)
		require.Equal(t, "cli-test@1.0.0", a.Bundle)
		n++
	}
	require.Equal(t, 4, n)
}

func TestReplayReportUsage(t *testing.T) {
	events := filepath.Join(examples, "usb-exfiltration.jsonl")
	code, _, errOut := run(t, "replay", "--bundle", testBundle, "--events", events, "--report", "html")
	require.Equal(t, ExitUsage, code)
	require.Contains(t, errOut, `--report "html": want text, markdown or json`)
	code, _, _ = run(t, "replay", "--bundle", testBundle, "--events", events, "--format", "csv")
	require.Equal(t, ExitUsage, code)
	code, _, _ = run(t, "replay", "--bundle", testBundle, "--events", events, "--report-out", filepath.Join(t.TempDir(), "no", "such", "dir", "r.txt"))
	require.Equal(t, ExitError, code)
}

func TestReplayMalformedStillReports(t *testing.T) {
	code, out, errOut := run(t, "replay", "--bundle", testBundle, "--events", filepath.Join(examples, "malformed.jsonl"), "--report", "json")
	require.Equal(t, ExitFailed, code, out+errOut)
	i := strings.Index(errOut, "{")
	require.GreaterOrEqual(t, i, 0, errOut)
	dec := json.NewDecoder(strings.NewReader(errOut[i:]))
	var rep ReplayReport
	require.NoError(t, dec.Decode(&rep))
	require.Equal(t, int64(1), rep.Events)
	require.Equal(t, int64(4), rep.Malformed)
}

func TestReplayFromStandardInput(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(examples, "usb-exfiltration.jsonl"))
	require.NoError(t, err)
	code, out, errOut := runIn(t, string(data), "replay", "--bundle", testBundle, "--events", "-", "--alerts", "-")
	require.Equal(t, ExitOK, code, out+errOut)
	require.Equal(t, 4, strings.Count(out, "\n"))
	require.Contains(t, errOut, "replayed 9 events (0 malformed)")
}

func TestReplayMarkdownEscapesCells(t *testing.T) {
	rep := &ReplayReport{Bundle: "b@1", Source: SourceReport{Format: "jsonl", Path: "a|b`c.jsonl"},
		Rules: []RuleAlerts{{Rule: "r", Severity: "high", Alerts: 1, Users: 1}},
		Users: []UserAlerts{{User: "ev|l<script>", Risk: 0.1 + 0.2, Decisions: 1, Alerts: 1, Rules: map[string]int64{"r": 1}}}}
	var md bytes.Buffer
	require.NoError(t, rep.Markdown(&md))
	require.Contains(t, md.String(), "`a\\|b'c.jsonl`")
	require.Contains(t, md.String(), "| ev\\|l&lt;script&gt; | 0.3 | 1 | 1 | r 1 |")
}
