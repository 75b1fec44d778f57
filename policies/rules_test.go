package policies

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRules(t *testing.T) {
	src := `# a comment
- id: usb-mass-copy
  title: Many files copied
  severity: high
  tags: [exfiltration]
  when: event.action == "file-copied-to-removable"
  threshold:
    count: 50
    window: 10m
  exceptions:
    - field: user.name
      in: data.vigil.usb_allowed_users
    - field: file.size
      equals: 0
`
	rules, err := ParseRules("rules/usb.yaml", []byte(src))
	require.NoError(t, err)
	require.Len(t, rules, 1)
	r := rules[0]
	require.Equal(t, pos("rules/usb.yaml", 2, 3), r.Source)
	require.Equal(t, pos("rules/usb.yaml", 9, 13), r.Pos("threshold.window"))
	require.Equal(t, pos("rules/usb.yaml", 12, 11), r.Pos("exceptions.0.in"))
	require.Equal(t, pos("rules/usb.yaml", 11, 7), r.Pos("exceptions.0"))
	require.Equal(t, pos("rules/usb.yaml", 5, 10), r.Pos("tags.0"))
	require.Equal(t, int64(0), r.Exceptions[1].Equals)
	require.Equal(t, 10*time.Minute, r.Threshold.Window.D())

	// Without the bundle, data references are only checked for syntax.
	_, err = ParseRules("rules/x.yaml", []byte(`- {id: x, title: X, severity: low, when: "true", exceptions: [{field: a, in: "data.no-such"}]}`))
	require.EqualError(t, err, `rules/x.yaml:1:78: rule "x": exceptions.0.in: "data.no-such" is not a data reference: write data.<name>.<name>… with names of letters, digits and '_'`)

	for _, empty := range []string{"", "# nothing yet\n", "[]", "~"} {
		rules, err := ParseRules("rules/empty.yaml", []byte(empty))
		require.NoError(t, err, "%q", empty)
		require.Empty(t, rules)
	}
}

func TestParseRulesErrors(t *testing.T) {
	const ok = "  title: T\n  severity: low\n  when: \"true\"\n"
	cases := []struct {
		name, src string
		want      []string
	}{
		{
			name: "duplicate id in one file",
			src:  "- id: a\n" + ok + "- id: a\n" + ok,
			want: []string{`f.yaml:5:7: rule "a": id: already defined at f.yaml:1:7`},
		},
		{
			name: "id too long",
			src:  "- id: " + strings.Repeat("a", 129) + "\n" + ok,
			want: []string{`f.yaml:1:7: rule "` + strings.Repeat("a", 129) + `": id: at most 128 characters`},
		},
		{
			name: "missing severity and when",
			src:  "- id: a\n  title: T\n",
			want: []string{
				`f.yaml:1:3: rule "a": severity: required (one of info, low, medium, high, critical)`,
				`f.yaml:1:3: rule "a": when: required (the CEL condition an event must match)`,
			},
		},
		{
			name: "empty strings",
			src:  "- id: a\n  title: \"  \"\n  severity: \"\"\n  when: \"\"\n  tags: [\"\"]\n  actions: [\"\"]\n",
			want: []string{
				`f.yaml:2:10: rule "a": title: empty`,
				`f.yaml:3:13: rule "a": severity: empty (use one of info, low, medium, high, critical)`,
				`f.yaml:4:9: rule "a": when: empty condition`,
				`f.yaml:5:10: rule "a": tags.0: empty tag`,
				`f.yaml:6:13: rule "a": actions.0: empty action`,
			},
		},
		{
			name: "null values",
			src:  "- id: a\n  title: ~\n" + ok[11:],
			want: []string{`f.yaml:2:10: rule "a": title: want a string, got nothing (null)`},
		},
		{
			name: "negative numbers",
			src:  "- id: a\n  version: -1\n" + ok + "  baseline: {window: 1h, history: 2h, factor: -1, sigma: 0, min: -3, by: [u]}\n",
			want: []string{
				`f.yaml:2:12: rule "a": version: must not be negative`,
				`f.yaml:6:47: rule "a": baseline.factor: must be greater than 0`,
				`f.yaml:6:58: rule "a": baseline.sigma: must be greater than 0`,
				`f.yaml:6:66: rule "a": baseline.min: must not be negative`,
			},
		},
		{
			name: "sequence with when only",
			src:  "- id: a\n  title: T\n  severity: low\n  sequence: {within: 5m, steps: [{when: x}, {when: \"\"}], by: [\"\"]}\n",
			want: []string{
				`f.yaml:4:52: rule "a": sequence.steps.1.when: empty condition`,
				`f.yaml:4:63: rule "a": sequence.by.0: empty field name`,
			},
		},
		{
			name: "duplicate step ids",
			src:  "- id: a\n  title: T\n  severity: low\n  sequence: {within: 5m, steps: [{id: s, when: x}, {id: s, when: y}]}\n",
			want: []string{`f.yaml:4:57: rule "a": sequence.steps.1.id: "s" is already the id of step 0`},
		},
		{
			name: "threshold sum with both bounds and no field",
			src:  "- id: a\n" + ok + "  threshold: {sum: {gt: 1, gte: 2}, window: 1m, by: [u]}\n",
			want: []string{
				`f.yaml:5:20: rule "a": threshold.sum.field: required`,
				`f.yaml:5:33: rule "a": threshold.sum.gte: conflicts with threshold.sum.gt (use one of gt and gte)`,
			},
		},
		{
			name: "exception in list with a mapping",
			src:  "- id: a\n" + ok + "  exceptions: [{field: f, in: [a, {b: c}]}]\n",
			want: []string{`f.yaml:5:35: rule "a": exceptions.0.in.1: want a string, number or boolean`},
		},
		{
			name: "exception when with in",
			src:  "- id: a\n" + ok + "  exceptions: [{when: x, in: [a]}]\n",
			want: []string{`f.yaml:5:30: rule "a": exceptions.0.in: needs field, not when (use when, or field with in or equals)`},
		},
		{
			name: "exception in with a number",
			src:  "- id: a\n" + ok + "  exceptions: [{field: f, in: 3}]\n",
			want: []string{`f.yaml:5:31: rule "a": exceptions.0.in: want a list or a data reference such as data.vigil.allowed_users`},
		},
		{
			name: "key that is not a string",
			src:  "- id: a\n" + ok + "  ? [x]\n  : y\n",
			want: []string{`f.yaml:5:5: rule "a": keys must be strings, got a list`},
		},
		{
			name: "merge key of a scalar",
			src:  "- id: a\n" + ok + "  <<: 3\n",
			want: []string{`f.yaml:5:7: rule "a": a merge key (<<) needs a mapping, got an integer (3)`},
		},
		{
			name: "bad float",
			src:  "- id: a\n" + ok + "  exceptions: [{field: f, equals: .nan}]\n",
			want: []string{`f.yaml:5:35: rule "a": exceptions.0.equals: number ".nan" cannot be represented in JSON`},
		},
		{
			name: "custom tag",
			src:  "- id: a\n" + ok + "  exceptions: [{field: f, equals: !secret x}]\n",
			want: []string{`f.yaml:5:35: rule "a": exceptions.0.equals: unsupported YAML tag !secret`},
		},
		{
			name: "tab indentation",
			src:  "- id: a\n\ttitle: T\n",
			want: []string{`f.yaml:2:1: YAML syntax: found a tab character that violates indentation`},
		},
		{
			name: "control character",
			src:  "- id: a\x01\n",
			want: []string{`f.yaml:1:8: control character U+0001 is not allowed`},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules, err := ParseRules("f.yaml", []byte(c.src))
			require.Nil(t, rules)
			require.Error(t, err)
			require.Equal(t, strings.Join(c.want, "\n"), err.Error())
		})
	}
}

// TestParseRulesAliasBomb checks that a small file of nested aliases (a
// "billion laughs") is refused after bounded work instead of expanding.
func TestParseRulesAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("- id: a\n  title: T\n  severity: low\n  when: \"true\"\n  exceptions:\n    - field: f\n      in: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "    - {field: f, in: &l%d [", i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]}\n")
	}
	start := time.Now()
	_, err := ParseRules("bomb.yaml", []byte(b.String()))
	require.Error(t, err)
	require.Contains(t, err.Error(), "too many aliases or nodes")
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestParseRulesDeepNesting(t *testing.T) {
	src := "- id: a\n  title: T\n  severity: low\n  when: \"true\"\n  exceptions: [{field: f, equals: " +
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "}]\n"
	_, err := ParseRules("deep.yaml", []byte(src))
	require.Error(t, err)
	var ds Diagnostics
	require.ErrorAs(t, err, &ds)
	for _, d := range ds {
		require.Positive(t, d.Pos.Line)
	}
}

func TestRuleHash(t *testing.T) {
	const rule = "- id: a\n  title: T\n  severity: low\n  when: event.action == \"logon\"\n  exceptions: [{field: f, in: [1, two]}]\n"
	a, err := ParseRules("a.yaml", []byte(rule))
	require.NoError(t, err)
	moved, err := ParseRules("b.yaml", []byte("# moved down and into another file\n\n"+rule))
	require.NoError(t, err)
	require.NotEqual(t, a[0].Source, moved[0].Source)
	require.Equal(t, a[0].Hash(), moved[0].Hash(), "where a rule is written does not change its hash")
	require.Len(t, a[0].Hash(), 64)

	changed, err := ParseRules("a.yaml", []byte(strings.Replace(rule, "logon", "logoff", 1)))
	require.NoError(t, err)
	require.NotEqual(t, a[0].Hash(), changed[0].Hash())

	// A built and reloaded bundle keeps every rule's hash.
	b := loadGood(t)
	built := buildBytes(t, b, BuildOptions{})
	reloaded := loadTarballBytes(t, built)
	for i, r := range b.Rules {
		require.Equal(t, r.Hash(), reloaded.Rules[i].Hash(), r.ID)
	}
}

func TestParseScenarios(t *testing.T) {
	src := `- name: one
  events:
    - at: "2026-11-28T09:00:00Z"
      every: 1m
      repeat: 3
      event: {event: {action: logon}, labels: {n: "${i}"}}
  expect: [{rule: r, count: 3}]
`
	sf, err := ParseScenarios("tests/s.yaml", []byte(src))
	require.NoError(t, err)
	require.Equal(t, "tests/s.yaml", sf.Path)
	require.Len(t, sf.Cases, 1)
	require.Equal(t, pos("tests/s.yaml", 1, 3), sf.Cases[0].Source)
	require.Equal(t, pos("tests/s.yaml", 3, 7), sf.Cases[0].Events[0].Source)
	require.Equal(t, pos("tests/s.yaml", 7, 12), sf.Cases[0].Expect[0].Source)
	require.Equal(t, time.Hour/60, sf.Cases[0].Events[0].Every.D())

	_, err = ParseScenarios("tests/s.yaml", []byte("name: not a list\n"))
	require.EqualError(t, err, `tests/s.yaml:1:1: a scenario file is a YAML list of cases ("- name: …"), got a mapping`)

	_, err = ParseScenarios("tests/s.yaml", []byte("- name: x\n  events: [{event: {event: {action: logon}, \"@timestamp\": \"2026-11-28T09:00:00Z\"}}]\n"))
	require.EqualError(t, err, `tests/s.yaml:1:3: scenario "x": expect: a case needs expect or expect_none (use expect_none: ["*"] for no alert at all)`)

	_, err = ParseScenarios("tests/s.yaml", []byte("- name: x\n  events: [{at: \"2026-11-28T09:00:00Z\", event: {event: {action: logon}}}]\n  expect: [{rule: \"\", count: -1, min_risk: -2}]\n  expect_none: [\"\"]\n"))
	require.EqualError(t, err, strings.Join([]string{
		`tests/s.yaml:3:19: scenario "x": expect.0.rule: required`,
		`tests/s.yaml:3:30: scenario "x": expect.0.count: must not be negative`,
		`tests/s.yaml:3:44: scenario "x": expect.0.min_risk: must not be negative`,
		`tests/s.yaml:4:17: scenario "x": expect_none.0: empty rule id`,
	}, "\n"))
}

func ExampleParseRules() {
	src := []byte(`- id: usb-mass-copy
  title: Many files copied to removable media
  severity: hihg
  when: event.action == "file-copied-to-removable"
  threshold: {count: 50, windw: 10m}
`)
	_, err := ParseRules("rules/usb.yaml", src)
	fmt.Println(err)
	// Output:
	// rules/usb.yaml:5:26: rule "usb-mass-copy": threshold: unknown key "windw" (did you mean "window"?)
}

func ExampleLoadDir() {
	b, err := LoadDir("testdata/good")
	if err != nil {
		fmt.Println(err)
		return
	}
	r := b.Rules[len(b.Rules)-2]
	fmt.Println(b.Name(), b.Revision(), len(b.Rules), "rules")
	fmt.Println(r.ID, r.Kind(), "at", r.Source, "window at", r.Pos("threshold.window"))
	// Output:
	// acme-itm 2026.11.1 8 rules
	// print-excess threshold at rules/removable.yaml:20:3 window at rules/removable.yaml:28:13
}
