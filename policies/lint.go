package policies

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-itm/vigil/event"
)

// tagRe is the tag format: a lower-case word ("exfiltration", "removable")
// or a namespaced tag ("attack.t1052", "attack.T1052.001", "team.hr").
var (
	tagRe       = regexp.MustCompile(`^[a-z][a-z0-9-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)*$`)
	attackTagRe = regexp.MustCompile(`^attack\.([Tt]\d{4}(\.\d{3})?|[a-z][a-z-]*)$`)
)

// Lint returns warnings about a loaded bundle that do not stop it from
// loading but are worth fixing: rules without tags or rationale, badly
// formed or repeated tags, unknown event actions, stateful rules without a
// key, evidence windows that capture nothing, data nothing refers to, rules
// no scenario tests, scenario events the event schema rejects, and a
// manifest without a name. Checks of CEL
// conditions belong to the engine, which adds its own diagnostics.
func Lint(b *Bundle) Diagnostics {
	ds := &diags{}
	if _, ok := b.Manifest.Metadata["name"].(string); !ok {
		ds.warnf(Position{File: ManifestFile, Line: 1, Column: 1}, codeNoName, "manifest: metadata.name is not set; decisions and alerts will name the bundle %q", b.Name())
	}
	for i, r := range b.Rules {
		lintRule(r, ruleLabel(r.ID, i), ds)
	}
	lintUnusedData(b, ds)
	if b.Dir != "" {
		lintUntested(b, ds)
	}
	lintScenarioEvents(b, ds)
	return ds.list.Sorted()
}

func lintRule(r *Rule, label string, ds *diags) {
	if len(r.Tags) == 0 {
		ds.warnf(r.Source, codeNoTags, "%s: no tags (such as [exfiltration, removable, attack.t1052]); tags let people filter alerts and map rules to ATT&CK", label)
	}
	if strings.TrimSpace(r.Rationale) == "" {
		ds.warnf(r.Source, codeNoRationale, "%s: no rationale: say why this behaviour matters, for the analyst who gets the alert", label)
	}
	seen := map[string]int{}
	for i, t := range r.Tags {
		p := "tags." + strconv.Itoa(i)
		if j, dup := seen[t]; dup {
			ds.warnf(r.Pos(p), codeDuplicateTag, "%s: %s: tag %q repeats tags.%d", label, p, t, j)
			continue
		}
		seen[t] = i
		switch {
		case t == "":
		case !tagRe.MatchString(t):
			ds.warnf(r.Pos(p), codeTagFormat, "%s: %s: tag %q: use lower-case words with '-', optionally namespaced with '.' (such as attack.t1052)", label, p, t)
		case strings.HasPrefix(t, "attack.") && !attackTagRe.MatchString(t):
			ds.warnf(r.Pos(p), codeTagFormat, "%s: %s: tag %q: ATT&CK tags are attack.<technique id> (attack.t1052, attack.t1052.001) or attack.<tactic> (attack.exfiltration)", label, p, t)
		}
	}
	for i, a := range r.Actions {
		if a != "" && !event.KnownAction(a) {
			ds.warnf(r.Pos("actions."+strconv.Itoa(i)), codeUnknownAct, "%s: actions.%d: %q is not in the event action vocabulary, so no event will match", label, i, a)
		}
	}
	type keyed struct {
		path string
		by   []string
	}
	var stateful []keyed
	if r.Threshold != nil {
		stateful = append(stateful, keyed{"threshold", r.Threshold.By})
	}
	if r.Sequence != nil {
		stateful = append(stateful, keyed{"sequence", r.Sequence.By})
	}
	if r.FirstSeen != nil {
		stateful = append(stateful, keyed{"first_seen", r.FirstSeen.By})
	}
	if r.Baseline != nil {
		stateful = append(stateful, keyed{"baseline", r.Baseline.By})
	}
	for _, k := range stateful {
		if len(k.by) == 0 {
			ds.warnf(r.Pos(k.path), codeNoKey, "%s: %s has no by: it keeps one state for all users and hosts together; add by: [user.name]", label, k.path)
		}
	}
	if r.Evidence != nil {
		for _, w := range []struct {
			name string
			rw   *RollWindow
		}{{"video", r.Evidence.Video}, {"keystrokes", r.Evidence.Keystrokes}, {"clipboard", r.Evidence.Clipboard}, {"terminal", r.Evidence.Terminal}} {
			if w.rw != nil && w.rw.Before == 0 && w.rw.After == 0 {
				ds.warnf(r.Pos("evidence."+w.name), codeEmptyRoll, "%s: evidence.%s: before and after are both 0, so nothing is captured", label, w.name)
			}
		}
	}
	if r.Baseline != nil && r.Baseline.MinHistory > r.Baseline.History {
		ds.warnf(r.Pos("baseline.min_history"), codeNeverFires, "%s: baseline.min_history (%s) is longer than baseline.history (%s)", label, r.Baseline.MinHistory, r.Baseline.History)
	}
	if r.FirstSeen != nil && r.FirstSeen.Learning > 0 && r.FirstSeen.Within > 0 && r.FirstSeen.Learning < r.FirstSeen.Within/10 {
		ds.warnf(r.Pos("first_seen.learning"), codeNeverFires, "%s: first_seen.learning (%s) is much shorter than first_seen.within (%s): expect many alerts after deployment", label, r.FirstSeen.Learning, r.FirstSeen.Within)
	}
}

// lintUnusedData warns about data under data.vigil that no rule condition,
// exception or Rego module mentions by name.
func lintUnusedData(b *Bundle, ds *diags) {
	vigil, _ := b.Data[RootVigil].(map[string]any)
	if len(vigil) == 0 {
		return
	}
	var texts []string
	for _, r := range b.Rules {
		texts = append(texts, r.When)
		if r.Sequence != nil {
			for _, s := range r.Sequence.Steps {
				texts = append(texts, s.When)
			}
		}
		for _, ex := range r.Exceptions {
			texts = append(texts, ex.When)
			if s, ok := ex.In.(string); ok {
				texts = append(texts, s)
			}
		}
	}
	for _, m := range b.Modules {
		texts = append(texts, string(m.Source))
	}
	all := strings.Join(texts, "\n")
	names := make([]string, 0, len(vigil))
	for name := range vigil {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if containsWord(all, name) {
			continue
		}
		pos, ok := b.dataPos[name]
		if !ok {
			pos = Position{File: dirData}
		}
		ds.warnf(pos, codeUnusedData, "data.vigil.%s is not used by any rule or Rego module", name)
	}
}

// lintUntested warns about enabled rules that no scenario names in expect
// or expect_none.
func lintUntested(b *Bundle, ds *diags) {
	tested := map[string]bool{}
	for _, sf := range b.Scenarios {
		for _, sc := range sf.Cases {
			for _, e := range sc.Expect {
				tested[e.Rule] = true
			}
			for _, id := range sc.ExpectNone {
				tested[id] = true
			}
		}
	}
	for i, r := range b.Rules {
		if !r.Disabled && !tested[r.ID] {
			ds.warnf(r.Source, codeUntested, "%s: no scenario in tests/ expects it or rules it out", ruleLabel(r.ID, i))
		}
	}
}

// lintScenarioEvents decodes every scenario event with the event schema,
// as the test runner will, and warns about what would fail there: unknown
// fields, values of the wrong type, actions outside the vocabulary. The
// warning points at the field.
func lintScenarioEvents(b *Bundle, ds *diags) {
	for _, sf := range b.Scenarios {
		for i, sc := range sf.Cases {
			var fp map[string]Position
			if i < len(sf.fieldPos) {
				fp = sf.fieldPos[i]
			}
			for j, ev := range sc.Events {
				p := "events." + strconv.Itoa(j) + ".event"
				for _, problem := range decodeProblems(ev.Event) {
					pos := ev.Source
					if field, _, ok := strings.Cut(problem, ": "); ok {
						if at, ok := fp[p+"."+field]; ok {
							pos = at
						}
					}
					ds.warnf(pos, codeBadEvent, "%s: %s: %s (the test will fail)", scenarioLabel(sc.Name, i), p, problem)
				}
			}
		}
	}
}

// decodeProblems decodes a scenario event as the test runner does (first
// copy, with a time and an id filled in when missing) and returns the
// schema's complaints, one per field.
func decodeProblems(ev map[string]any) []string {
	m, ok := substituteIndex(ev).(map[string]any)
	if !ok {
		return nil
	}
	meta, ok := m["event"].(map[string]any)
	if !ok {
		return nil // reported when the file was loaded
	}
	if _, ok := m["@timestamp"]; !ok {
		m["@timestamp"] = "2000-01-01T00:00:00Z"
	}
	if _, ok := meta["id"]; !ok {
		meta["id"] = "scenario"
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return []string{err.Error()}
	}
	if _, err := event.Decode(raw); err != nil {
		return strings.Split(err.Error(), "\n")
	}
	return nil
}

// substituteIndex copies v with "${i}" replaced by "0" in every string.
func substituteIndex(v any) any {
	switch t := v.(type) {
	case string:
		return strings.ReplaceAll(t, "${i}", "0")
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = substituteIndex(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = substituteIndex(x)
		}
		return out
	}
	return v
}

// scenarioAction finds event.action in a scenario event, written nested
// (event: {action: …}) or dotted ("event.action": …).
func scenarioAction(ev map[string]any) string {
	if meta, ok := ev["event"].(map[string]any); ok {
		if a, ok := meta["action"].(string); ok {
			return a
		}
	}
	if a, ok := ev["event.action"].(string); ok {
		return a
	}
	return ""
}

// containsWord reports whether word occurs in s between non-identifier
// characters.
func containsWord(s, word string) bool {
	isIdent := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !isIdent(s[start-1])) && (end == len(s) || !isIdent(s[end])) {
			return true
		}
		i = start + 1
	}
}
