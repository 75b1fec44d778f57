package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const library = "../../../policies/library"
const examples = "../../../examples/events"

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestLibraryLintsAndTests(t *testing.T) {
	code, out, errOut := run(t, "policy", "lint", library)
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, errOut, "0 error(s), 0 warning(s)")

	code, out, errOut = run(t, "policy", "test", library)
	require.Equal(t, ExitOK, code, out+errOut)
	require.Regexp(t, `(?m)^\d+ passed, 0 failed$`, out)
}

// copyDir copies the library so a test can break it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	require.NoError(t, filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	}))
	return dst
}

func TestBrokenBundleFailsWithPreciseMessages(t *testing.T) {
	dir := copyDir(t, library)
	rules := filepath.Join(dir, "rules", "printing.yaml")
	b, err := os.ReadFile(rules)
	require.NoError(t, err)
	broken := strings.Replace(string(b), `when: event.action == "print-job"`, `when: event.action == "print-jobs" && print.pagez > 3`, 1)
	broken = strings.Replace(broken, "severity: medium", "severity: urgent", 1)
	require.NoError(t, os.WriteFile(rules, []byte(broken), 0o644))
	rego := filepath.Join(dir, "policy", "decision.rego")
	rb, err := os.ReadFile(rego)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(rego, append(rb, []byte("\nbroken := input.x +\n")...), 0o644))

	code, out, errOut := run(t, "policy", "lint", dir)
	require.Equal(t, ExitFailed, code, out+errOut)
	require.Contains(t, out, "rules/printing.yaml:")
	require.Contains(t, out, `"urgent"`)
	require.Contains(t, out, "policy/decision.rego:")

	// Fix the severity so the file loads, and look at the engine's messages.
	require.NoError(t, os.WriteFile(rules, []byte(strings.Replace(broken, "severity: urgent", "severity: medium", 1)), 0o644))
	require.NoError(t, os.WriteFile(rego, rb, 0o644))
	code, out, errOut = run(t, "policy", "lint", dir)
	require.Equal(t, ExitFailed, code, out+errOut)
	require.Regexp(t, `rules/printing\.yaml:\d+:\d+: rule "print-volume-hour": when: unknown name "print\.pagez" \(did you mean "print\.pages"\?\)`, out)

	code, _, errOut = run(t, "policy", "build", dir, "-o", filepath.Join(t.TempDir(), "x.tar.gz"))
	require.Equal(t, ExitFailed, code)
	require.Contains(t, errOut, "nothing was written")
}

func TestBuildVerifyRoundTripAndTamper(t *testing.T) {
	tmp := t.TempDir()
	prefix := filepath.Join(tmp, "keys", "bundle")
	code, out, errOut := run(t, "policy", "keygen", "--out", prefix)
	require.Equal(t, ExitOK, code, out+errOut)
	code, _, _ = run(t, "policy", "keygen", "--out", prefix)
	require.Equal(t, ExitError, code, "keys are never overwritten")

	tarball := filepath.Join(tmp, "library.tar.gz")
	code, out, errOut = run(t, "policy", "build", library, "-o", tarball, "--signing-key", prefix+".key", "--revision", "test-rev")
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, out, "signed ES256")

	code, out, errOut = run(t, "policy", "verify", tarball, "--verification-key", prefix+".pub")
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, out, "revision test-rev")

	// The signed tarball evaluates like the directory.
	code, out, errOut = run(t, "eval", "--bundle", tarball, "--verification-key", prefix+".pub", "--event", filepath.Join(examples, "usb-copy.json"))
	require.Equal(t, ExitOK, code, out+errOut)
	var d map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	require.Equal(t, true, d["alert"])

	// Flip one byte anywhere in the compressed stream.
	raw, err := os.ReadFile(tarball)
	require.NoError(t, err)
	for _, off := range []int{len(raw) / 3, len(raw) / 2, len(raw) - 9} {
		bad := append([]byte(nil), raw...)
		bad[off] ^= 0x01
		badPath := filepath.Join(tmp, "flipped.tar.gz")
		require.NoError(t, os.WriteFile(badPath, bad, 0o644))
		code, out, errOut = run(t, "policy", "verify", badPath, "--verification-key", prefix+".pub")
		require.Equal(t, ExitFailed, code, "offset %d: %s%s", off, out, errOut)
	}

	// A different key does not verify.
	other := filepath.Join(tmp, "other")
	code, _, _ = run(t, "policy", "keygen", "--out", other)
	require.Equal(t, ExitOK, code)
	code, _, errOut = run(t, "policy", "verify", tarball, "--verification-key", other+".pub")
	require.Equal(t, ExitFailed, code)
	require.NotEmpty(t, errOut)
}

func TestBuiltBundleVerifiesWithOPAReader(t *testing.T) {
	// Covered in depth by the policies package; here: gzip magic and a
	// manifest in the tarball the CLI wrote.
	tmp := t.TempDir()
	tarball := filepath.Join(tmp, "b.tar.gz")
	code, out, errOut := run(t, "policy", "build", library, "-o", tarball)
	require.Equal(t, ExitOK, code, out+errOut)
	f, err := os.Open(tarball)
	require.NoError(t, err)
	defer f.Close()
	_, err = gzip.NewReader(f)
	require.NoError(t, err)
}

func TestReplayWritesAlertLines(t *testing.T) {
	alerts := filepath.Join(t.TempDir(), "alerts.jsonl")
	code, out, errOut := run(t, "replay", "--bundle", library, "--events", filepath.Join(examples, "usb-exfiltration.jsonl"), "--alerts", alerts)
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, errOut, "replayed 9 events (0 malformed)")
	f, err := os.Open(alerts)
	require.NoError(t, err)
	defer f.Close()
	rules := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a))
		for _, k := range []string{"rule", "severity", "@timestamp", "decision_id", "user", "host"} {
			require.Contains(t, a, k)
		}
		require.Equal(t, "jdoe", a["user"].(map[string]any)["name"])
		require.Equal(t, "ws-042", a["host"].(map[string]any)["name"])
		rules[a["rule"].(string)] = true
	}
	require.Equal(t, map[string]bool{"usb-sensitive-file": true, "sensitive-download-then-usb": true,
		"cloud-upload-personal": true, "email-attachment-personal": true,
		"email-sensitive-attachment-personal": true, "exfil-multi-channel": true,
		"print-sensitive-title": true, "sensitive-download-then-cloud": true}, rules)
}

func TestReplayReportsMalformedLinesAndKeepsGoing(t *testing.T) {
	code, out, errOut := run(t, "replay", "--bundle", library, "--events", filepath.Join(examples, "malformed.jsonl"), "--alerts", "-")
	require.Equal(t, ExitFailed, code)
	require.Empty(t, out)
	require.Contains(t, errOut, `events line 1: event.action: unknown value "fil-created" (did you mean "file-created"?)`)
	require.Contains(t, errOut, `events line 2: print.pages: want integer, got string`)
	require.Contains(t, errOut, `events line 3: print.pagez: unknown field`)
	require.Contains(t, errOut, `events line 4:`)
	require.Contains(t, errOut, "replayed 1 events (4 malformed)")
}

func TestEvalExplains(t *testing.T) {
	code, out, errOut := run(t, "eval", "--bundle", library, "--event", filepath.Join(examples, "usb-copy.json"))
	require.Equal(t, ExitOK, code, out+errOut)
	var d struct {
		DecisionID string `json:"decision_id"`
		Alert      bool   `json:"alert"`
		DecidedBy  string `json:"decided_by"`
		Bundle     struct{ Name, Revision string }
		Findings   []struct {
			Rule, Source, Condition string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	require.True(t, d.Alert)
	require.NotEmpty(t, d.DecisionID)
	require.Equal(t, "rego", d.DecidedBy)
	require.Equal(t, "vigil-library", d.Bundle.Name)
	require.Len(t, d.Findings, 1)
	require.Equal(t, "usb-sensitive-file", d.Findings[0].Rule)
	require.Regexp(t, `^rules/removable\.yaml:\d+:\d+$`, d.Findings[0].Source)
}

func TestUsageErrors(t *testing.T) {
	code, _, _ := run(t, "policy", "lint")
	require.Equal(t, ExitUsage, code)
	code, _, _ = run(t, "nope")
	require.Equal(t, ExitUsage, code)
	code, _, _ = run(t, "eval", "--bundle", library)
	require.Equal(t, ExitUsage, code)
	code, out, _ := run(t, "version")
	require.Equal(t, ExitOK, code)
	require.True(t, strings.HasPrefix(out, "vigil "))
}

func TestBenchRuns(t *testing.T) {
	code, out, errOut := run(t, "bench", "--rules", "20", "--events", "2000", "--rego-events", "200", "--passes", "1", "--library", library, "--json")
	require.Equal(t, ExitOK, code, out+errOut)
	var rep benchReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Results, 4, "decode, library, vigil, rego")
	require.Positive(t, rep.Ratios["rules=20"])
	require.Positive(t, rep.ThresholdKeyB)
}
