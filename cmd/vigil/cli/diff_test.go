package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/engine"
)

// changeBundle applies the edits of a rule change under review to a copy of
// the rules file of the bundle in dir: print-job is removed, a rule on
// downloads is added, usb-copy becomes critical and uploads to WeTransfer
// are excepted from cloud-upload.
func changeBundle(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "rules", "rules.yaml")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(b)
	i := strings.Index(s, "- id: print-job")
	j := strings.Index(s, "- id: usb-document")
	require.True(t, i > 0 && j > i)
	s = s[:i] + s[j:]
	s = strings.Replace(s, "  severity: high\n  tags: [exfiltration, removable]\n  when: event.action == \"file-copied-to-removable\"\n",
		"  severity: critical\n  tags: [exfiltration, removable]\n  when: event.action == \"file-copied-to-removable\"\n", 1)
	s = strings.Replace(s, "  when: event.action == \"web-upload\" && domain_in(destination.domain, data.vigil.domains.cloud)\n",
		"  when: event.action == \"web-upload\" && domain_in(destination.domain, data.vigil.domains.cloud)\n"+
			"  exceptions:\n    - {field: destination.domain, equals: wetransfer.com}\n", 1)
	s += `
- id: web-download
  title: Any download
  rationale: Added by the change under review.
  severity: low
  tags: [web]
  when: event.action == "web-download"
`
	require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
	// The scenarios of the removed rule go too.
	tests := filepath.Join(dir, "tests", "rules.yaml")
	tb, err := os.ReadFile(tests)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tests, []byte(strings.Replace(string(tb), "    - {rule: print-job, count: 1}\n", "", 1)), 0o644))
}

func changedCopy(t *testing.T) string {
	t.Helper()
	dir := copyDir(t, testBundle)
	changeBundle(t, dir)
	code, out, errOut := run(t, "policy", "lint", dir)
	require.Equal(t, ExitOK, code, out+errOut)
	return dir
}

func decodeDiff(t *testing.T, out string) DiffReport {
	t.Helper()
	var rep DiffReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	return rep
}

func ruleRow(t *testing.T, rep *DiffReport, rule string) AlertDiff {
	t.Helper()
	for _, a := range rep.Rules {
		if a.Rule == rule {
			return a
		}
	}
	require.Failf(t, "no row", "rule %s in %+v", rule, rep.Rules)
	return AlertDiff{}
}

func TestPolicyDiffDirectories(t *testing.T) {
	newDir := changedCopy(t)
	events := filepath.Join(examples, "mixed-day.jsonl")

	code, out, errOut := run(t, "policy", "diff", testBundle, newDir, "--events", events, "--json")
	require.Equal(t, ExitOK, code, "a difference alone does not fail: "+out+errOut)
	rep := decodeDiff(t, out)
	require.Equal(t, int64(1000), rep.Events)
	require.Equal(t, testBundle, rep.Old.Label)
	require.Equal(t, "cli-test@1.0.0", rep.Old.Report.Bundle)
	require.Equal(t, int64(1000), rep.New.Report.Events)

	require.Equal(t, AlertDiff{Rule: "print-job", Status: "removed", Old: 9, Lost: 9}, ruleRow(t, &rep, "print-job"))
	require.Equal(t, AlertDiff{Rule: "web-download", Status: "added", New: 15, Gained: 15}, ruleRow(t, &rep, "web-download"))
	usb := ruleRow(t, &rep, "usb-copy")
	require.Equal(t, AlertDiff{Rule: "usb-copy", Status: "changed", Old: 7, New: 7, SeverityChanged: 7}, usb)
	require.Equal(t, AlertDiff{Rule: "usb-document", Status: "changed", Old: 3, New: 3, SeverityChanged: 3}, ruleRow(t, &rep, "usb-document"))
	cloud := ruleRow(t, &rep, "cloud-upload")
	require.Equal(t, "changed", cloud.Status)
	require.Positive(t, cloud.Lost)
	require.Zero(t, cloud.Gained)
	require.Equal(t, cloud.Old-cloud.Lost, cloud.New)
	require.Equal(t, AlertDiff{Rule: "cloud-sync-copy", Status: "same", Old: 12, New: 12}, ruleRow(t, &rep, "cloud-sync-copy"))

	require.Equal(t, int64(15), rep.Gained)
	require.Equal(t, 9+cloud.Lost, rep.Lost)
	require.Equal(t, int64(10), rep.SeverityChanged)
	require.Equal(t, rep.Old.Report.Alerts+rep.Gained-rep.Lost, rep.New.Report.Alerts)
	// Per rule and user: only what changed, adding up to the rule rows.
	var lostPrint int64
	for _, a := range rep.RuleUsers {
		require.NotEmpty(t, a.User)
		require.True(t, a.Gained+a.Lost+a.SeverityChanged > 0)
		if a.Rule == "print-job" {
			lostPrint += a.Lost
			require.Equal(t, "removed", a.Status)
		}
		require.NotEqual(t, "cloud-sync-copy", a.Rule)
	}
	require.Equal(t, int64(9), lostPrint)

	code, out, errOut = run(t, "policy", "diff", testBundle, newDir, "--events", events)
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, out, "policy diff on 1000 events from "+events+" (jsonl), 0 malformed")
	require.Regexp(t, `(?m)^alerts: \d+ → \d+: \+15 gained, -\d+ lost, 10 with a changed severity$`, out)
	require.Regexp(t, `(?m)^RULE\s+STATUS\s+OLD\s+NEW\s+GAINED\s+LOST\s+SEVERITY CHANGED$`, out)
	require.Regexp(t, `(?m)^web-download\s+added\s+0\s+15\s+\+15\s+0\s+0$`, out)
	require.Regexp(t, `(?m)^print-job\s+removed\s+9\s+0\s+0\s+-9\s+0$`, out)
	require.Regexp(t, `(?m)^RULE\s+USER\s+OLD\s+NEW`, out)

	code, out, errOut = run(t, "policy", "diff", testBundle, newDir, "--events", events, "--markdown")
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, out, "### Policy diff: `"+testBundle+"` → `"+newDir+"`")
	require.Contains(t, out, "| `web-download` | added | 0 | 15 | +15 | 0 | 0 |")
	require.Contains(t, out, "<details><summary>By rule and user (")

	code, _, errOut = run(t, "policy", "diff", testBundle, newDir, "--events", events, "--fail-on-change")
	require.Equal(t, ExitFailed, code)
	require.Contains(t, errOut, "vigil: policy diff: alerts changed: 15 gained")
}

func TestPolicyDiffNoChange(t *testing.T) {
	tarball := filepath.Join(t.TempDir(), "b.tar.gz")
	code, out, errOut := run(t, "policy", "build", testBundle, "-o", tarball)
	require.Equal(t, ExitOK, code, out+errOut)
	// A directory against its own built tarball: the same alerts.
	code, out, errOut = run(t, "policy", "diff", testBundle, tarball, "--events", filepath.Join(examples, "mixed-day.jsonl"), "--fail-on-change")
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, out, "no change: both bundles raise the same 39 alerts")
	require.Regexp(t, `(?m)^cloud-sync-copy\s+same\s+12\s+12\s+0\s+0\s+0$`, out)
	require.NotContains(t, out, "USER")

	code, out, errOut = run(t, "policy", "diff", testBundle, tarball, "--events", filepath.Join(examples, "mixed-day.jsonl"), "--markdown")
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, out, "**No change**: both bundles raise the same 39 alerts.")
	require.NotContains(t, out, "<details>")
}

// The events are read once, whatever the source: standard input cannot be
// read twice.
func TestPolicyDiffReadsEventsOnce(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(examples, "usb-exfiltration.jsonl"))
	require.NoError(t, err)
	newDir := changedCopy(t)
	code, out, errOut := runIn(t, string(data), "policy", "diff", testBundle, newDir, "--events", "-", "--json")
	require.Equal(t, ExitOK, code, out+errOut)
	rep := decodeDiff(t, out)
	require.Equal(t, int64(9), rep.Old.Report.Events)
	require.Equal(t, int64(9), rep.New.Report.Events)
	require.Equal(t, AlertDiff{Rule: "print-job", Status: "removed", Old: 1, Lost: 1}, ruleRow(t, &rep, "print-job"))
	require.Equal(t, []AlertDiff{
		{Rule: "print-job", User: "jdoe", Status: "removed", Old: 1, Lost: 1},
		{Rule: "usb-copy", User: "jdoe", Status: "changed", Old: 1, New: 1, SeverityChanged: 1},
		{Rule: "usb-document", User: "jdoe", Status: "changed", Old: 1, New: 1, SeverityChanged: 1},
	}, rep.RuleUsers)
}

func TestPolicyDiffCERT(t *testing.T) {
	dir := writeCERT(t)
	code, out, errOut := run(t, "policy", "diff", testBundle, changedCopy(t), "--format", "cert", "--events", dir, "--json")
	require.Equal(t, ExitOK, code, out+errOut)
	rep := decodeDiff(t, out)
	require.Equal(t, "cert", rep.Source.Format)
	require.Equal(t, map[string]int64{"bad date": 1, "unmapped activity": 1}, rep.Source.Skipped)
	require.Equal(t, int64(5), rep.Events)
	require.Equal(t, int64(2), rep.SeverityChanged, "the USB copy is critical now")

	code, out, errOut = run(t, "policy", "diff", testBundle, testBundle, "--format", "cert", "--events", dir)
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, out, "2 rows skipped: bad date 1, unmapped activity 1")
}

func TestPolicyDiffMalformedEvents(t *testing.T) {
	code, out, errOut := run(t, "policy", "diff", testBundle, testBundle, "--events", filepath.Join(examples, "malformed.jsonl"))
	require.Equal(t, ExitFailed, code, out+errOut)
	require.Contains(t, errOut, "events line 1:")
	require.Contains(t, out, "policy diff on 1 events")
	require.Contains(t, errOut, "4 malformed event(s) skipped")
}

func TestPolicyDiffUsage(t *testing.T) {
	events := filepath.Join(examples, "usb-exfiltration.jsonl")
	for _, args := range [][]string{
		{"policy", "diff", testBundle, "--events", events},
		{"policy", "diff", testBundle, testBundle},
		{"policy", "diff", testBundle, testBundle, "--events", events, "--markdown", "--json"},
		{"policy", "diff", testBundle, testBundle, "--events", events, "--format", "xml"},
	} {
		code, _, errOut := run(t, args...)
		require.Equal(t, ExitUsage, code, "%v: %s", args, errOut)
	}
	code, _, _ := run(t, "policy", "diff", testBundle, filepath.Join(t.TempDir(), "missing"), "--events", events)
	require.Equal(t, ExitError, code)
}

// gitRepo makes a git repository with two commits of the test bundle in
// policies/lib: as it is, then with the change under review.
func gitRepo(t *testing.T) string {
	t.Helper()
	repo := t.TempDir()
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=Test", "-c", "user.email=test@example.com",
			"-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
	}
	gitRun("init", "-q")
	lib := filepath.Join(repo, "policies", "lib")
	require.NoError(t, os.MkdirAll(filepath.Dir(lib), 0o755))
	require.NoError(t, os.Rename(copyDir(t, testBundle), lib))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "README.md"), []byte("test\n"), 0o644))
	gitRun("add", "-A")
	gitRun("commit", "-q", "-m", "bundle")
	changeBundle(t, lib)
	gitRun("commit", "-q", "-a", "-m", "change rules")
	return repo
}

func TestPolicyDiffGitRevisions(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := gitRepo(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	lib := filepath.Join(repo, "policies", "lib")
	events := filepath.Join(examples, "mixed-day.jsonl")

	code, out, errOut := run(t, "policy", "diff", "HEAD~1", "HEAD", "--dir", lib, "--events", events, "--json")
	require.Equal(t, ExitOK, code, out+errOut)
	rep := decodeDiff(t, out)
	require.Equal(t, "HEAD~1", rep.Old.Label)
	require.Equal(t, "HEAD", rep.New.Label)
	require.Regexp(t, `^[0-9a-f]{40}$`, rep.Old.Commit)
	require.Regexp(t, `^[0-9a-f]{40}$`, rep.New.Commit)
	require.NotEqual(t, rep.Old.Commit, rep.New.Commit)
	require.Equal(t, int64(15), rep.Gained)
	require.Equal(t, int64(10), rep.SeverityChanged)

	// The same answer as comparing directories.
	code, dirOut, errOut := run(t, "policy", "diff", testBundle, changedCopy(t), "--events", events, "--json")
	require.Equal(t, ExitOK, code, dirOut+errOut)
	dirRep := decodeDiff(t, dirOut)
	require.Equal(t, dirRep.Rules, rep.Rules)
	require.Equal(t, dirRep.RuleUsers, rep.RuleUsers)

	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, entries, "the materialised revisions are removed")

	code, out, errOut = run(t, "policy", "diff", "HEAD~1", "HEAD", "--dir", lib, "--events", events, "--markdown", "--fail-on-change")
	require.Equal(t, ExitFailed, code, out+errOut)
	require.Contains(t, out, "### Policy diff: `HEAD~1` → `HEAD`")
	require.Contains(t, out, "`cli-test@1.0.0` at `"+rep.Old.Commit[:12]+"`")

	// Two names for one commit: no change.
	code, out, errOut = run(t, "policy", "diff", "HEAD", "main", "--dir", lib, "--events", events, "--fail-on-change")
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, out, "no change")

	// The directory need not exist in the working tree any more.
	require.NoError(t, os.RemoveAll(lib))
	code, out, errOut = run(t, "policy", "diff", "HEAD~1", "HEAD", "--dir", lib, "--events", events, "--json")
	require.Equal(t, ExitOK, code, out+errOut)
	require.Equal(t, int64(15), decodeDiff(t, out).Gained)

	code, _, errOut = run(t, "policy", "diff", "HEAD~1", "no-such-rev", "--dir", lib, "--events", events)
	require.Equal(t, ExitError, code)
	require.Contains(t, errOut, `git revision "no-such-rev": not a commit`)

	code, _, errOut = run(t, "policy", "diff", "HEAD~1", "HEAD", "--dir", filepath.Join(repo, "policies", "other"), "--events", events)
	require.Equal(t, ExitError, code)
	require.Contains(t, errOut, "no directory policies/other in commit")

	code, _, errOut = run(t, "policy", "diff", "HEAD~1", "HEAD", "--dir", t.TempDir(), "--events", events)
	require.Equal(t, ExitError, code)
	require.Contains(t, errOut, "not in a git repository")

	entries, err = os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, entries, "the materialised revisions are removed on failure too")
}

func TestDiffReportRendersGolden(t *testing.T) {
	newDir := changedCopy(t)
	src := &eventSource{path: filepath.Join(examples, "mixed-day.jsonl"), format: "jsonl"}
	e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	rep, err := e.diff([2]*engine.Program{compileDir(t, testBundle), compileDir(t, newDir)}, src, true)
	require.NoError(t, err)
	rep.Source.Path = "examples/events/mixed-day.jsonl" // the same on every machine
	rep.Old.Label, rep.New.Label = "main", "HEAD"
	rep.Old.Commit, rep.New.Commit = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	var text, md bytes.Buffer
	require.NoError(t, rep.Text(&text))
	require.NoError(t, rep.Markdown(&md))
	golden(t, "diff.txt", text.String())
	golden(t, "diff.md", md.String())
}
