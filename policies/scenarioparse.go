package policies

import (
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxRepeat bounds ScenarioEvent.Repeat, so that a typo cannot make a test
// run feed billions of events.
const maxRepeat = 100_000

// scenarioPositions keeps the key positions of the cases of one file, for
// checks made once the bundle's rules are known.
type scenarioPositions []map[string]Position

// ParseScenarios parses one scenario file: a YAML list of scenario cases.
// path is the file's path inside the bundle (such as "tests/usb.yaml").
// Rule ids are not checked against a bundle; LoadDir does that. The error,
// if any, is a Diagnostics.
func ParseScenarios(path string, data []byte) (*ScenarioFile, error) {
	var ds diags
	sf, _ := parseScenarioFile(path, data, &ds)
	if err := ds.list.Err(); err != nil {
		return nil, err
	}
	return sf, nil
}

func parseScenarioFile(path string, raw []byte, ds *diags) (*ScenarioFile, scenarioPositions) {
	sf := &ScenarioFile{Path: path}
	root := parseYAML(path, raw, ds)
	if root == nil {
		return sf, nil
	}
	dec := newNodeDecoder(path, len(raw), ds)
	root, ok := dec.resolve(root)
	if !ok || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
		return sf, nil
	}
	if root.Kind != yaml.SequenceNode {
		ds.errorf(dec.pos(root), codeWrongType, "a scenario file is a YAML list of cases (\"- name: …\"), got %s", describe(root))
		return sf, nil
	}
	var positions scenarioPositions
	names := map[string]Position{}
	for i, item := range root.Content {
		sc := &Scenario{}
		fp := map[string]Position{}
		dec.label = scenarioLabel(scalarKey(item, "name"), i)
		dec.fieldPos = fp
		if !dec.decode(item, reflect.ValueOf(sc).Elem(), "") {
			continue
		}
		c := scenarioCheck{sc: sc, fp: fp, label: dec.label, ds: ds}
		c.validate()
		if sc.Name != "" {
			if first, dup := names[sc.Name]; dup {
				c.errorf("name", codeDuplicateID, "already used by the case at %s", first)
			} else {
				names[sc.Name] = c.pos("name")
			}
		}
		sf.Cases = append(sf.Cases, sc)
		positions = append(positions, fp)
	}
	sf.fieldPos = positions
	return sf, positions
}

// scalarKey returns the scalar value of key in a mapping node, or "".
func scalarKey(n *yaml.Node, key string) string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func scenarioLabel(name string, index int) string {
	if name != "" {
		return "scenario " + strconv.Quote(name)
	}
	return "scenario #" + strconv.Itoa(index+1)
}

type scenarioCheck struct {
	sc    *Scenario
	fp    map[string]Position
	label string
	ds    *diags
}

func (c *scenarioCheck) pos(path string) Position {
	for {
		if p, ok := c.fp[path]; ok {
			return p
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return c.sc.Source
		}
		path = path[:i]
	}
}

func (c *scenarioCheck) errorf(path, code, format string, args ...any) {
	args = append([]any{c.label, path}, args...)
	c.ds.errorf(c.pos(path), code, "%s: %s: "+format, args...)
}

func (c *scenarioCheck) validate() {
	sc := c.sc
	if strings.TrimSpace(sc.Name) == "" {
		c.errorf("name", codeRequired, "required")
	}
	if len(sc.Events) == 0 {
		c.errorf("events", codeRequired, "needs at least one event")
	}
	for i := range sc.Events {
		c.event("events."+strconv.Itoa(i), &sc.Events[i], i == 0)
	}
	if len(sc.Expect) == 0 && len(sc.ExpectNone) == 0 {
		c.errorf("expect", codeRequired, "a case needs expect or expect_none (use expect_none: [\"*\"] for no alert at all)")
	}
	for i, e := range sc.Expect {
		p := "expect." + strconv.Itoa(i)
		if strings.TrimSpace(e.Rule) == "" {
			c.errorf(p+".rule", codeRequired, "required")
		}
		if e.Count < 0 {
			c.errorf(p+".count", codeBadValue, "must not be negative")
		}
		if e.Severity != "" && e.Severity.Rank() < 0 {
			c.errorf(p+".severity", codeBadValue, "%q is not one of %s%s", string(e.Severity),
				strings.Join(severityNames, ", "), didYouMean(string(e.Severity), severityNames))
		}
		if e.MinRisk < 0 {
			c.errorf(p+".min_risk", codeBadValue, "must not be negative")
		}
	}
	for i, id := range sc.ExpectNone {
		if strings.TrimSpace(id) == "" {
			c.errorf("expect_none."+strconv.Itoa(i), codeRequired, "empty rule id")
		}
	}
}

func (c *scenarioCheck) event(p string, ev *ScenarioEvent, first bool) {
	_, stamped := ev.Event["@timestamp"]
	switch {
	case len(ev.Event) == 0:
		c.errorf(p+".event", codeRequired, "required (the event's fields, such as event: {action: file-created})")
	case scenarioAction(ev.Event) == "":
		c.errorf(p+".event", codeRequired, "needs event.action (such as event: {action: file-created})")
	}
	switch {
	case ev.At != "":
		if err := checkAt(ev.At); err != "" {
			c.errorf(p+".at", codeBadValue, "%s", err)
		} else if first && strings.HasPrefix(ev.At, "+") && !stamped {
			c.errorf(p+".at", codeBadValue, "the first event needs an absolute time; %q is relative to an earlier event", ev.At)
		}
	case first && !stamped:
		c.errorf(p, codeRequired, "the first event needs at: (such as \"2026-01-05T09:00:00Z\") or an @timestamp")
	}
	if ev.Repeat < 0 || ev.Repeat > maxRepeat {
		c.errorf(p+".repeat", codeBadValue, "must be between 0 and %d", maxRepeat)
	}
	if ev.Every < 0 {
		c.errorf(p+".every", codeBadValue, "must not be negative")
	}
}

// checkAt checks an event time: RFC 3339, or "+10m" after the previous event.
func checkAt(at string) string {
	if rest, ok := strings.CutPrefix(at, "+"); ok {
		if _, err := ParseDuration(rest); err != nil {
			msg := strings.TrimPrefix(err.Error(), ErrBadDuration.Error()+": ")
			msg = strings.TrimPrefix(msg, strconv.Quote(rest)+": ")
			return "bad offset " + strconv.Quote(at) + ": " + msg
		}
		return ""
	}
	if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
		return "want an RFC 3339 time such as \"2026-01-05T09:00:00Z\" or an offset such as \"+5m\", got " + strconv.Quote(at)
	}
	return ""
}

// checkScenarioRules checks that the rule ids a file's cases name exist.
func checkScenarioRules(sf *ScenarioFile, positions scenarioPositions, rules map[string]*Rule, ds *diags) {
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	for i, sc := range sf.Cases {
		var fp map[string]Position
		if i < len(positions) {
			fp = positions[i]
		}
		c := scenarioCheck{sc: sc, fp: fp, label: scenarioLabel(sc.Name, i), ds: ds}
		for j, e := range sc.Expect {
			if e.Rule != "" && rules[e.Rule] == nil {
				c.errorf("expect."+strconv.Itoa(j)+".rule", codeBadRef, "no rule %q in the bundle%s", e.Rule, didYouMean(e.Rule, ids))
			}
		}
		for j, id := range sc.ExpectNone {
			if id != "" && id != "*" && rules[id] == nil {
				c.errorf("expect_none."+strconv.Itoa(j), codeBadRef, "no rule %q in the bundle%s", id, didYouMean(id, ids))
			}
		}
	}
}
