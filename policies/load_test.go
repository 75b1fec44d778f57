package policies

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const goodDir = "testdata/good"

func loadGood(t *testing.T) *Bundle {
	t.Helper()
	b, err := LoadDir(goodDir)
	require.NoError(t, err)
	return b
}

func ruleByID(t *testing.T, b *Bundle, id string) *Rule {
	t.Helper()
	for _, r := range b.Rules {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %q", id)
	return nil
}

func pos(file string, line, col int) Position { return Position{File: file, Line: line, Column: col} }

func TestLoadDirGood(t *testing.T) {
	b := loadGood(t)

	require.Equal(t, "acme-itm", b.Name())
	require.Equal(t, "2026.11.1", b.Revision())
	require.Equal(t, "0.1", b.MinVigil())
	require.Equal(t, []string{"vigil"}, b.Manifest.Roots)
	require.Equal(t, goodDir, b.Dir)
	require.False(t, b.Signed)

	// Rules come in file order (exfil.yaml before removable.yaml), then
	// document order.
	var ids []string
	for _, r := range b.Rules {
		ids = append(ids, r.ID)
	}
	require.Equal(t, []string{
		"usb-then-cloud", "new-cloud-destination", "email-volume-spike", "secret-paste", "legacy-rule",
		"usb-mass-copy", "print-excess", "sensitive-cloud-sync",
	}, ids)

	usb := ruleByID(t, b, "usb-mass-copy")
	require.Equal(t, pos("rules/removable.yaml", 2, 3), usb.Source)
	require.Equal(t, pos("rules/removable.yaml", 10, 9), usb.Pos("when"))
	require.Equal(t, pos("rules/removable.yaml", 11, 34), usb.Pos("threshold.window"))
	require.Equal(t, pos("rules/removable.yaml", 16, 11), usb.Pos("exceptions.0.in"))
	require.Equal(t, pos("rules/removable.yaml", 12, 48), usb.Pos("evidence.video.before"))
	require.Equal(t, usb.Source, usb.Pos("no.such.key"))
	require.Equal(t, "threshold", usb.Kind())
	require.Equal(t, 2, usb.Version)
	require.Equal(t, SeverityHigh, usb.Severity)
	require.Equal(t, int64(50), usb.Threshold.Count)
	require.Equal(t, "10m", usb.Threshold.Window.String())
	require.Equal(t, []string{"user.name"}, usb.Threshold.By)
	require.Equal(t, &EvidenceSpec{
		Screenshot: true,
		Video:      &RollWindow{Before: mustDuration(t, "2m"), After: mustDuration(t, "1m")},
		Keystrokes: &RollWindow{Before: mustDuration(t, "5m")},
	}, usb.Evidence)
	require.Equal(t, []Exception{
		{Field: "user.name", In: "data.vigil.usb_allowed_users"},
		{Field: "volume.serial_number", In: []any{"AA00-1234", "BB11-5678"}},
	}, usb.Exceptions)

	printing := ruleByID(t, b, "print-excess")
	require.Equal(t, "print.pages", printing.Threshold.Sum.Field)
	require.InDelta(t, 200, *printing.Threshold.Sum.GT, 0)
	require.Nil(t, printing.Threshold.Sum.GTE)

	seq := ruleByID(t, b, "usb-then-cloud")
	require.Equal(t, "sequence", seq.Kind())
	require.Len(t, seq.Sequence.Steps, 2)
	require.Equal(t, pos("rules/exfil.yaml", 15, 15), seq.Pos("sequence.steps.1.when"))

	// new-cloud-destination takes its rationale and evidence from the
	// anchored rule through a merge key, and drops its sequence.
	fs := ruleByID(t, b, "new-cloud-destination")
	require.Equal(t, "first_seen", fs.Kind())
	require.Equal(t, seq.Rationale, fs.Rationale)
	require.Equal(t, seq.Evidence, fs.Evidence)
	require.Nil(t, fs.Sequence)
	require.Equal(t, "7d", fs.FirstSeen.Learning.String())

	bl := ruleByID(t, b, "email-volume-spike")
	require.Equal(t, "baseline", bl.Kind())
	require.InDelta(t, 3, bl.Baseline.Factor, 0)
	require.Contains(t, bl.When, "data.vigil.personal_mail_domains")
	require.NotContains(t, bl.When, "\n", "folded scalar")

	require.True(t, ruleByID(t, b, "legacy-rule").Disabled)
	require.Equal(t, "plain", ruleByID(t, b, "secret-paste").Kind())

	// Data: data/NAME.* at data.vigil.NAME, data/data.json at data.vigil.
	require.Equal(t, map[string]any{"vigil": map[string]any{
		"usb_allowed_users":     []any{"it-admin", "release-bot"},
		"personal_mail_domains": []any{"gmail.com", "outlook.com", "proton.me"},
		"settings":              map[string]any{"leaver_factor": int64(2), "capture": map[string]any{"keystrokes": true}},
		"sensitive_paths":       []any{"/srv/finance", "/home/*/Documents/contracts"},
	}}, b.Data)

	require.Len(t, b.Modules, 2)
	require.Equal(t, "policy/decision.rego", b.Modules[0].Path)
	require.Equal(t, "policy/decision_test.rego", b.Modules[1].Path)
	require.True(t, strings.HasPrefix(string(b.Modules[0].Source), "package vigil.decision\n"))

	require.Len(t, b.Scenarios, 2)
	require.Equal(t, "tests/exfil.yaml", b.Scenarios[0].Path)
	rem := b.Scenarios[1]
	require.Equal(t, "tests/removable.yaml", rem.Path)
	require.Len(t, rem.Cases, 2)
	c := rem.Cases[0]
	require.Equal(t, "fifty copies to USB raise one alert", c.Name)
	require.Equal(t, pos("tests/removable.yaml", 1, 3), c.Source)
	require.Equal(t, "jdoe", c.User.Name)
	require.Equal(t, "notice", c.User.Employment.Status)
	require.Equal(t, "2026-12-31", c.User.Employment.EndDate)
	require.Len(t, c.Events, 1)
	ev := c.Events[0]
	require.Equal(t, pos("tests/removable.yaml", 4, 7), ev.Source)
	require.Equal(t, 50, ev.Repeat)
	require.Equal(t, "5s", ev.Every.String())
	require.Equal(t, map[string]any{
		"event": map[string]any{"action": "file-copied-to-removable"},
		"user":  map[string]any{"name": "jdoe"},
		"file":  map[string]any{"path": "/media/jdoe/KINGSTON/q${i}.xlsx"},
	}, ev.Event)
	require.Equal(t, []ExpectedAlert{{
		Rule: "usb-mass-copy", Count: 1, Severity: SeverityHigh, MinRisk: 50,
		Source: pos("tests/removable.yaml", 12, 7),
	}}, c.Expect)
	require.Equal(t, []string{"usb-mass-copy"}, rem.Cases[1].ExpectNone)
}

func mustDuration(t *testing.T, s string) Duration {
	t.Helper()
	d, err := ParseDuration(s)
	require.NoError(t, err)
	return d
}

// TestLoadDirBad loads each broken bundle under testdata/bad and compares
// every diagnostic, in order, with the table.
func TestLoadDirBad(t *testing.T) {
	cases := map[string][]string{
		"unknown-keys": {
			`rules/r.yaml:5:3: rule "usb-mass-copy": unknown key "tresholds" (did you mean "threshold"?)`,
			`rules/r.yaml:6:14: rule "usb-mass-copy": evidence: unknown key "vidoe" (did you mean "video"?)`,
			`rules/r.yaml:14:9: rule "usb-then-cloud": sequence.steps.1: unknown key "whne" (did you mean "when"?)`,
			`rules/r.yaml:15:23: rule "usb-then-cloud": suppress: unknown key "bye" (did you mean "by"?)`,
		},
		"wrong-types": {
			`rules/r.yaml:3:13: rule "print-excess": severity: want a string, got a list`,
			`rules/r.yaml:4:9: rule "print-excess": tags: want a list, got "exfiltration"`,
			`rules/r.yaml:5:13: rule "print-excess": disabled: want true or false, got "yes"`,
			`rules/r.yaml:7:22: rule "print-excess": threshold.count: want an integer, got "fifty"`,
			`rules/r.yaml:7:37: rule "print-excess": threshold.window: bad duration: "10" has no unit (use s, m, h, d or w, such as "10s")`,
			`rules/r.yaml:7:45: rule "print-excess": threshold.by: want a list, got "user.name"`,
			`rules/r.yaml:12:22: rule "email-spike": baseline.window: bad duration: "1 day": unknown unit " day" (use s, m, h, d or w)`,
			`rules/r.yaml:12:51: rule "email-spike": baseline.factor: want a number, got "lots"`,
			`rules/r.yaml:13:48: rule "email-spike": evidence.video.before: bad duration: "-2m": expected a number`,
		},
		"structure": {
			`rules/r.yaml:1:3: rule #1: id: required`,
			`rules/r.yaml:4:7: rule "Bad_ID": id: must match [a-z0-9][a-z0-9-_.]* (lower-case letters, digits, '-', '_' and '.')`,
			`rules/r.yaml:6:13: rule "Bad_ID": severity: "hihg" is not one of info, low, medium, high, critical (did you mean "high"?)`,
			`rules/r.yaml:8:3: rule "no-title": title: required`,
			`rules/r.yaml:16:15: rule "two-kinds": first_seen: conflicts with threshold (a rule has at most one of threshold, sequence, first_seen and baseline)`,
			`rules/r.yaml:21:22: rule "bad-threshold": threshold.count: must be at least 1, got 0`,
			`rules/r.yaml:21:30: rule "bad-threshold": threshold.sum: conflicts with threshold.count (use exactly one of count, sum and distinct)`,
			`rules/r.yaml:21:30: rule "bad-threshold": threshold.sum: needs gt or gte`,
			`rules/r.yaml:21:60: rule "bad-threshold": threshold.window: must be greater than 0`,
			`rules/r.yaml:26:14: rule "no-aggregate": threshold: needs one of count, sum or distinct`,
			`rules/r.yaml:31:5: rule "bad-sequence": sequence.within: required`,
			`rules/r.yaml:32:7: rule "bad-sequence": sequence.steps: needs at least 2 steps, got 1`,
			`rules/r.yaml:32:9: rule "bad-sequence": sequence.steps.0.when: required`,
			`rules/s.yaml:5:15: rule "bad-first-seen": first_seen.field: required`,
			`rules/s.yaml:5:15: rule "bad-first-seen": first_seen.within: required`,
			`rules/s.yaml:10:13: rule "bad-baseline": baseline: needs factor or sigma`,
			`rules/s.yaml:10:35: rule "bad-baseline": baseline.history: must be at least twice baseline.window (2d), got 36h`,
			`rules/s.yaml:15:57: rule "bad-distinct": threshold.distinct.gte: conflicts with threshold.distinct.gt (use one of gt and gte)`,
			`rules/s.yaml:16:19: rule "bad-distinct": suppress.for: must be greater than 0`,
			`rules/s.yaml:22:7: rule "bad-exceptions": exceptions.0: needs when, or field with in or equals`,
			`rules/s.yaml:23:41: rule "bad-exceptions": exceptions.1.field: conflicts with exceptions.1.when (use when, or field with in or equals)`,
			`rules/s.yaml:24:7: rule "bad-exceptions": exceptions.2: field needs in or equals`,
			`rules/s.yaml:25:43: rule "bad-exceptions": exceptions.3.equals: conflicts with exceptions.3.in (use one of in and equals)`,
			`rules/s.yaml:26:30: rule "bad-exceptions": exceptions.4.in: "users" is neither a list nor a data reference such as data.vigil.allowed_users`,
			`rules/s.yaml:27:34: rule "bad-exceptions": exceptions.5.equals: want a single value (use in for a list)`,
			`rules/s.yaml:28:7: rule "bad-exceptions": exceptions.6.field: required`,
		},
		"duplicate-ids": {
			`rules/b.yaml:5:7: rule "usb-mass-copy": id: already defined at rules/a.yaml:1:7`,
		},
		"data": {
			`data/_private.json: data name "_private": names starting with '_' are reserved (_rules holds the compiled rules)`,
			`data/broken.json:1:13: JSON syntax: invalid character ']' looking for beginning of value`,
			`data/broken_yaml.yaml:1:1: YAML syntax: did not find expected ',' or ']'`,
			`data/motto.json:1:1: a data file holds an object or a list, got a string`,
			`data/usb-list.json: data name "usb-list": use letters, digits and '_' (such as "usb_list") so rules can write data.vigil.usb_list`,
			`data/usb_allowed.json: data name "usb_allowed" is already defined at data/data.json:3:3`,
			`rules/r.yaml:6:30: rule "usb-mass-copy": exceptions.0.in: data.vigil.usb_allowd is not in bundle data (did you mean data.vigil.usb_allowed?)`,
			`rules/r.yaml:7:30: rule "usb-mass-copy": exceptions.1.in: data.vigil.settings is an object, want a list`,
			`rules/r.yaml:8:30: rule "usb-mass-copy": exceptions.2.in: data.vigil.settings.missing is not in bundle data`,
			`rules/r.yaml:9:30: rule "usb-mass-copy": exceptions.3.in: "data.vigil['x']" is not a data reference: write data.<name>.<name>… with names of letters, digits and '_'`,
		},
		"layout": {
			`.manifest: missing: a bundle directory needs a .manifest such as {"revision": "1", "roots": ["vigil"], "metadata": {"name": "my-bundle"}}`,
			`data/list.csv: unexpected file: data/ holds only *.json and *.yaml data files`,
			`policy/README.md: unexpected file: policy/ holds only *.rego modules`,
			`rules/notes.txt: unexpected file: rules/ holds only *.yaml rule files`,
			`tests/sub: unexpected directory: tests/ holds only *.yaml scenario files`,
		},
		"manifest": {
			`.manifest:2:3: manifest: unknown key "revison" (did you mean "revision"?) (a Vigil manifest has revision, roots and metadata)`,
			`.manifest:3:22: manifest: roots.1: "data" is outside vigil; a Vigil bundle's roots are ["vigil"] or paths under vigil/`,
			`.manifest:3:30: manifest: roots.2: "vigil/acme" overlaps roots.0 "vigil"`,
			`.manifest:4:24: manifest: metadata.name: want a non-empty string`,
			`.manifest:4:40: manifest: metadata.min_vigil: want a version such as "1.4" or "v1.4.2", got "soon"`,
			`.manifest:5:3: manifest: unknown key "wasm" (a Vigil manifest has revision, roots and metadata)`,
		},
		"no-manifest": {
			`.manifest: missing: a bundle directory needs a .manifest such as {"revision": "1", "roots": ["vigil"], "metadata": {"name": "my-bundle"}}`,
		},
		"rego": {
			`policy/bad.rego:5:1: unexpected } token`,
			`policy/outside.rego:1:1: package acme.helpers is outside the bundle roots ["vigil"] (use package vigil.…)`,
		},
		"roots": {
			`data/lists.json: data.vigil.lists is outside the bundle roots ["vigil/acme"] in .manifest`,
			`policy/p.rego:1:1: package vigil.other is outside the bundle roots ["vigil/acme"] (use package vigil.…)`,
			`rules/r.yaml:1:3: rule "ok": the bundle roots ["vigil/acme"] in .manifest do not cover data.vigil._rules, where a built bundle keeps its rules; add "vigil/_rules" to roots`,
		},
		"scenarios": {
			`tests/t.yaml:6:13: scenario "typo in a rule id": expect.0.rule: no rule "usb-mass-cpy" in the bundle (did you mean "usb-mass-copy"?)`,
			`tests/t.yaml:7:17: scenario "typo in a rule id": expect.0.severity: "hihg" is not one of info, low, medium, high, critical (did you mean "high"?)`,
			`tests/t.yaml:8:17: scenario "typo in a rule id": expect_none.0: no rule "print-excess" in the bundle`,
			`tests/t.yaml:10:11: scenario "no events": events: needs at least one event`,
			`tests/t.yaml:14:11: scenario "bad times": events.0.at: want an RFC 3339 time such as "2026-01-05T09:00:00Z" or an offset such as "+5m", got "yesterday"`,
			`tests/t.yaml:16:11: scenario "bad times": events.1.at: bad offset "+5": missing unit (use s, m, h, d or w)`,
			`tests/t.yaml:17:15: scenario "bad times": events.1.repeat: must be between 0 and 100000`,
			`tests/t.yaml:18:14: scenario "bad times": events.1.event: required (the event's fields, such as event: {action: file-created})`,
			`tests/t.yaml:23:3: scenario "asserts nothing": unknown key "expectations" (did you mean "expect"?)`,
			`tests/t.yaml:25:22: scenario "asserts nothing": user: unknown key "departement" (did you mean "department"?)`,
			`tests/t.yaml:31:11: scenario "starts relative": events.0.at: the first event needs an absolute time; "+5m" is relative to an earlier event`,
			`tests/t.yaml:33:14: scenario "starts relative": events.1.event: needs event.action (such as event: {action: file-created})`,
			`tests/t.yaml:37:7: scenario "starts without a time": events.0: the first event needs at: (such as "2026-01-05T09:00:00Z") or an @timestamp`,
		},
		"yaml-syntax": {
			`rules/a.yaml:4:1: YAML syntax: found unexpected end of stream`,
			`rules/b.yaml:5:1: a file holds one YAML document; found a second one`,
			`rules/c.yaml:2:14: invalid UTF-8 (byte 0xe9)`,
			`rules/d.yaml:1:1: a rules file is a YAML list of rules ("- id: …"), got a mapping`,
			`rules/e.yaml:3:3: rule "e": key "title" appears twice`,
			`rules/e.yaml:6:3: rule #2: want a mapping with id, title, severity, when…, got "just a string"`,
		},
	}

	dirs, err := os.ReadDir("testdata/bad")
	require.NoError(t, err)
	require.Len(t, dirs, len(cases), "every testdata/bad bundle has a row in the table, and every row a bundle")

	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := LoadDir(filepath.Join("testdata", "bad", name))
			require.Nil(t, b)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalidBundle)
			var ds Diagnostics
			require.ErrorAs(t, err, &ds)
			for _, d := range ds {
				require.Equal(t, DiagError, d.Severity)
				require.NotEmpty(t, d.Code)
				require.NotEmpty(t, d.Pos.File)
			}
			require.Equal(t, strings.Join(want, "\n"), err.Error())
		})
	}
}

func TestLintGoodIsClean(t *testing.T) {
	require.Empty(t, Lint(loadGood(t)))
}

func TestLint(t *testing.T) {
	b, err := LoadDir("testdata/lint")
	require.NoError(t, err)
	ds := Lint(b)
	require.False(t, ds.HasErrors())
	require.NoError(t, ds.Err())
	want := []string{
		`.manifest:1:1: warning: manifest: metadata.name is not set; decisions and alerts will name the bundle "unnamed"`,
		`data/unused_list.json: warning: data.vigil.unused_list is not used by any rule or Rego module`,
		`rules/r.yaml:1:3: warning: rule "bare": no rationale: say why this behaviour matters, for the analyst who gets the alert`,
		`rules/r.yaml:1:3: warning: rule "bare": no tags (such as [exfiltration, removable, attack.t1052]); tags let people filter alerts and map rules to ATT&CK`,
		`rules/r.yaml:9:10: warning: rule "tagged-badly": tags.0: tag "Exfiltration": use lower-case words with '-', optionally namespaced with '.' (such as attack.t1052)`,
		`rules/r.yaml:9:35: warning: rule "tagged-badly": tags.2: tag "removable" repeats tags.1`,
		`rules/r.yaml:9:46: warning: rule "tagged-badly": tags.3: tag "attack.exfil_x": ATT&CK tags are attack.<technique id> (attack.t1052, attack.t1052.001) or attack.<tactic> (attack.exfiltration)`,
		`rules/r.yaml:9:62: warning: rule "tagged-badly": tags.4: tag "attack.t10": ATT&CK tags are attack.<technique id> (attack.t1052, attack.t1052.001) or attack.<tactic> (attack.exfiltration)`,
		`rules/r.yaml:11:20: warning: rule "tagged-badly": actions.1: "file-copyed-to-removable" is not in the event action vocabulary, so no event will match`,
		`rules/r.yaml:18:14: warning: rule "unkeyed": threshold has no by: it keeps one state for all users and hosts together; add by: [user.name]`,
		`rules/r.yaml:19:21: warning: rule "unkeyed": evidence.video: before and after are both 0, so nothing is captured`,
		`rules/r.yaml:20:3: warning: rule "odd-windows": no scenario in tests/ expects it or rules it out`,
		`rules/r.yaml:26:70: warning: rule "odd-windows": baseline.min_history (30d) is longer than baseline.history (14d)`,
		`rules/r.yaml:27:3: warning: rule "tiny-learning": no scenario in tests/ expects it or rules it out`,
		`rules/r.yaml:33:83: warning: rule "tiny-learning": first_seen.learning (1d) is much shorter than first_seen.within (90d): expect many alerts after deployment`,
		`tests/t.yaml:4:31: warning: scenario "only some rules are tested": events.0.event: event.action: unknown value "log-on" (did you mean "logon"?) (the test will fail)`,
		`tests/t.yaml:7:43: warning: scenario "only some rules are tested": events.1.event: file.sizee: unknown field (did you mean "size"?) (the test will fail)`,
		`tests/t.yaml:7:53: warning: scenario "only some rules are tested": events.1.event: file.size: want integer, got string (the test will fail)`,
	}
	require.Equal(t, strings.Join(want, "\n"), ds.Error())
	for _, d := range ds {
		require.Equal(t, DiagWarning, d.Severity)
	}
}

func TestDiagnostics(t *testing.T) {
	ds := Diagnostics{
		{Pos: pos("rules/b.yaml", 3, 1), Severity: DiagError, Code: "x", Msg: "third"},
		{Pos: pos("rules/a.yaml", 10, 2), Severity: DiagWarning, Code: "x", Msg: "second"},
		{Pos: pos("rules/a.yaml", 2, 5), Severity: DiagError, Code: "x", Msg: "first"},
		{Pos: Position{File: ".manifest"}, Severity: DiagError, Code: "x", Msg: "zeroth"},
	}
	require.Equal(t, ".manifest: zeroth\nrules/a.yaml:2:5: first\nrules/a.yaml:10:2: warning: second\nrules/b.yaml:3:1: third", ds.Error())
	require.True(t, ds.HasErrors())
	require.Len(t, ds.Errors(), 3)
	require.Len(t, ds.Warnings(), 1)
	require.ErrorIs(t, ds, ErrInvalidBundle)
	require.ErrorIs(t, ds.Err(), ErrInvalidBundle)
	require.NotContains(t, ds.Err().Error(), "second")
	require.Equal(t, "rules/b.yaml:3:1: third", ds[0].String())

	warnings := ds.Warnings()
	require.NoError(t, warnings.Err())
	require.NotErrorIs(t, warnings, ErrInvalidBundle)
}

func TestLoadOptions(t *testing.T) {
	t.Run("min_vigil", func(t *testing.T) {
		_, err := LoadDir(goodDir, WithVigilVersion("0.0.9"))
		require.EqualError(t, err, `load bundle "acme-itm": needs Vigil 0.1 or newer (metadata.min_vigil), this is 0.0.9`)
		for _, v := range []string{"0.1", "v0.1.0", "1.0.0-rc.1", "", "dev"} {
			_, err := LoadDir(goodDir, WithVigilVersion(v))
			require.NoError(t, err, v)
		}
	})
	t.Run("directory cannot be verified", func(t *testing.T) {
		_, pub, err := GenerateKey("")
		require.NoError(t, err)
		_, err = LoadDir(goodDir, WithVerificationKey(pub, ""))
		require.ErrorIs(t, err, ErrSignature)
	})
	t.Run("file size limit", func(t *testing.T) {
		_, err := LoadDir(goodDir, WithMaxSize(0, 1000))
		require.ErrorIs(t, err, ErrTooLarge)
		require.ErrorContains(t, err, "rules/exfil.yaml is larger than 1000 bytes")
	})
	t.Run("total size limit", func(t *testing.T) {
		_, err := LoadDir(goodDir, WithMaxSize(4000, 0))
		require.ErrorIs(t, err, ErrTooLarge)
		require.ErrorContains(t, err, "files add up to more than 4000 bytes")
	})
	t.Run("file count limit", func(t *testing.T) {
		_, err := LoadDir(goodDir, WithMaxFiles(3))
		require.ErrorIs(t, err, ErrTooLarge)
		require.ErrorContains(t, err, "more than 3 files")
	})
	t.Run("not a directory", func(t *testing.T) {
		_, err := LoadDir(filepath.Join(goodDir, ".manifest"))
		require.ErrorContains(t, err, "not a directory")
		_, err = LoadDir(filepath.Join(t.TempDir(), "missing"))
		require.True(t, errors.Is(err, os.ErrNotExist))
	})
}

func TestLoadDispatchesOnPath(t *testing.T) {
	fromDir, err := Load(goodDir)
	require.NoError(t, err)
	require.Equal(t, goodDir, fromDir.Dir)

	p := filepath.Join(t.TempDir(), "bundle.tar.gz")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, Build(fromDir, f, BuildOptions{}))
	require.NoError(t, f.Close())

	fromTar, err := Load(p)
	require.NoError(t, err)
	require.Empty(t, fromTar.Dir)
	require.Equal(t, fromDir.Rules, fromTar.Rules)

	_, err = Load(filepath.Join(t.TempDir(), "nope.tar.gz"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestLoadDirSymlinks checks that a rule file may be a link to a regular
// file, and that a link to anything else is reported.
func TestLoadDirSymlinks(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(goodDir)))
	target := filepath.Join(t.TempDir(), "shared.yaml")
	require.NoError(t, os.WriteFile(target, []byte("- id: shared\n  title: Shared\n  severity: low\n  when: \"true\"\n"), 0o600))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "rules", "shared.yaml")))
	b, err := LoadDir(dir)
	require.NoError(t, err)
	require.Equal(t, "shared", b.Rules[len(b.Rules)-1].ID)

	require.NoError(t, os.Symlink(t.TempDir(), filepath.Join(dir, "rules", "linked.yaml")))
	_, err = LoadDir(dir)
	require.EqualError(t, err, "rules/linked.yaml: not a regular file")
}

// TestLoadDirLargeData checks that a large YAML list (100,000 entries) is
// well inside the work budget that stops alias bombs.
func TestLoadDirLargeData(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(goodDir)))
	var sb strings.Builder
	for i := range 100_000 {
		sb.WriteString("- serial-")
		sb.WriteString(strconv.Itoa(i))
		sb.WriteString("\n")
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "usb_serials.yaml"), []byte(sb.String()), 0o600))
	b, err := LoadDir(dir)
	require.NoError(t, err)
	list, ok := b.Data["vigil"].(map[string]any)["usb_serials"].([]any)
	require.True(t, ok)
	require.Len(t, list, 100_000)
	require.Equal(t, "serial-99999", list[99_999])
}
