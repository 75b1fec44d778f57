package policies

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	ruleIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	identRe  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

const maxIDLen = 128

var severityNames = []string{"info", "low", "medium", "high", "critical"}

// ruleCheck validates one rule and reports with its label.
type ruleCheck struct {
	r     *Rule
	label string
	ds    *diags
}

func (c *ruleCheck) errorf(path, code, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	c.ds.errorf(c.r.Pos(path), code, "%s: %s", c.label, msg)
}

// required reports a missing key at the nearest parent that was written.
func (c *ruleCheck) required(path string) {
	parent := path
	for {
		i := strings.LastIndexByte(parent, '.')
		if i < 0 {
			parent = ""
			break
		}
		parent = parent[:i]
		if c.r.has(parent) {
			break
		}
	}
	c.ds.errorf(c.r.Pos(parent), codeRequired, "%s: %s: required", c.label, path)
}

// positiveDuration checks a duration that must be set and greater than 0.
func (c *ruleCheck) positiveDuration(path string, d Duration) {
	switch {
	case d < 0:
		c.errorf(path, codeBadValue, "must not be negative")
	case d > 0:
	case c.r.has(path):
		c.errorf(path, codeBadValue, "must be greater than 0")
	default:
		c.required(path)
	}
}

func (c *ruleCheck) fieldNames(path string, list []string) {
	for i, f := range list {
		if strings.TrimSpace(f) == "" {
			c.errorf(path+"."+strconv.Itoa(i), codeBadValue, "empty field name")
		}
	}
}

// validateRule checks one rule's structure. data, when not nil, is the
// bundle data that "in: data.…" references must resolve in.
func validateRule(r *Rule, index int, ds *diags, data map[string]any) {
	c := &ruleCheck{r: r, label: ruleLabel(r.ID, index), ds: ds}

	switch {
	case r.ID == "":
		c.required("id")
	case len(r.ID) > maxIDLen:
		c.errorf("id", codeBadID, "at most %d characters", maxIDLen)
	case !ruleIDRe.MatchString(r.ID):
		c.errorf("id", codeBadID, "must match [a-z0-9][a-z0-9-_.]* (lower-case letters, digits, '-', '_' and '.')")
	}
	if r.Version < 0 {
		c.errorf("version", codeBadValue, "must not be negative")
	}
	if strings.TrimSpace(r.Title) == "" {
		if r.has("title") {
			c.errorf("title", codeRequired, "empty")
		} else {
			c.required("title")
		}
	}
	switch {
	case r.Severity == "":
		if r.has("severity") {
			c.errorf("severity", codeRequired, "empty (use one of %s)", strings.Join(severityNames, ", "))
		} else {
			c.ds.errorf(r.Source, codeRequired, "%s: severity: required (one of %s)", c.label, strings.Join(severityNames, ", "))
		}
	case r.Severity.Rank() < 0:
		c.errorf("severity", codeBadValue, "%q is not one of %s%s", string(r.Severity),
			strings.Join(severityNames, ", "), didYouMean(string(r.Severity), severityNames))
	}
	for i, t := range r.Tags {
		if strings.TrimSpace(t) == "" {
			c.errorf("tags."+strconv.Itoa(i), codeBadValue, "empty tag")
		}
	}
	for i, a := range r.Actions {
		if strings.TrimSpace(a) == "" {
			c.errorf("actions."+strconv.Itoa(i), codeBadValue, "empty action")
		}
	}
	if strings.TrimSpace(r.When) == "" && r.Sequence == nil {
		if r.has("when") {
			c.errorf("when", codeRequired, "empty condition")
		} else {
			c.ds.errorf(r.Source, codeRequired, "%s: when: required (the CEL condition an event must match)", c.label)
		}
	}

	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{
		{"threshold", r.Threshold != nil},
		{"sequence", r.Sequence != nil},
		{"first_seen", r.FirstSeen != nil},
		{"baseline", r.Baseline != nil},
	} {
		if k.set {
			if len(kinds) > 0 {
				c.errorf(k.name, codeConflict, "conflicts with %s (a rule has at most one of threshold, sequence, first_seen and baseline)", kinds[0])
			}
			kinds = append(kinds, k.name)
		}
	}
	if r.Threshold != nil {
		c.threshold(r.Threshold)
	}
	if r.Sequence != nil {
		c.sequence(r.Sequence)
	}
	if r.FirstSeen != nil {
		c.firstSeen(r.FirstSeen)
	}
	if r.Baseline != nil {
		c.baseline(r.Baseline)
	}
	if r.Suppress != nil {
		c.positiveDuration("suppress.for", r.Suppress.For)
		c.fieldNames("suppress.by", r.Suppress.By)
	}
	if r.Evidence != nil {
		c.evidence(r.Evidence)
	}
	for i := range r.Exceptions {
		c.exception(i, &r.Exceptions[i], data)
	}
}

func (c *ruleCheck) threshold(t *Threshold) {
	var set []string
	if t.Count != 0 || c.r.has("threshold.count") {
		set = append(set, "count")
	}
	if t.Sum != nil {
		set = append(set, "sum")
	}
	if t.Distinct != nil {
		set = append(set, "distinct")
	}
	switch {
	case len(set) == 0:
		c.errorf("threshold", codeRequired, "needs one of count, sum or distinct")
	case len(set) > 1:
		for _, s := range set[1:] {
			c.errorf("threshold."+s, codeConflict, "conflicts with threshold.%s (use exactly one of count, sum and distinct)", set[0])
		}
	}
	if (t.Count != 0 || c.r.has("threshold.count")) && t.Count < 1 {
		c.errorf("threshold.count", codeBadValue, "must be at least 1, got %d", t.Count)
	}
	if t.Sum != nil {
		c.fieldBound("threshold.sum", t.Sum)
	}
	if t.Distinct != nil {
		c.fieldBound("threshold.distinct", t.Distinct)
	}
	c.positiveDuration("threshold.window", t.Window)
	c.fieldNames("threshold.by", t.By)
}

func (c *ruleCheck) fieldBound(path string, b *FieldBound) {
	if strings.TrimSpace(b.Field) == "" {
		c.required(path + ".field")
	}
	switch {
	case b.GT == nil && b.GTE == nil:
		c.errorf(path, codeRequired, "needs gt or gte")
	case b.GT != nil && b.GTE != nil:
		c.errorf(path+".gte", codeConflict, "conflicts with %s.gt (use one of gt and gte)", path)
	}
}

func (c *ruleCheck) sequence(s *Sequence) {
	if len(s.Steps) < 2 {
		if c.r.has("sequence.steps") {
			c.errorf("sequence.steps", codeBadValue, "needs at least 2 steps, got %d", len(s.Steps))
		} else {
			c.required("sequence.steps")
		}
	}
	ids := map[string]int{}
	for i, st := range s.Steps {
		p := "sequence.steps." + strconv.Itoa(i)
		if strings.TrimSpace(st.When) == "" {
			if c.r.has(p + ".when") {
				c.errorf(p+".when", codeRequired, "empty condition")
			} else {
				c.required(p + ".when")
			}
		}
		if st.ID != "" {
			if j, dup := ids[st.ID]; dup {
				c.errorf(p+".id", codeDuplicateID, "%q is already the id of step %d", st.ID, j)
			} else {
				ids[st.ID] = i
			}
		}
	}
	c.positiveDuration("sequence.within", s.Within)
	c.fieldNames("sequence.by", s.By)
}

func (c *ruleCheck) firstSeen(f *FirstSeen) {
	if strings.TrimSpace(f.Field) == "" {
		c.required("first_seen.field")
	}
	c.positiveDuration("first_seen.within", f.Within)
	if f.Learning < 0 {
		c.errorf("first_seen.learning", codeBadValue, "must not be negative")
	}
	c.fieldNames("first_seen.by", f.By)
}

func (c *ruleCheck) baseline(b *Baseline) {
	c.positiveDuration("baseline.window", b.Window)
	c.positiveDuration("baseline.history", b.History)
	if b.Window > 0 && b.History > 0 && b.History < 2*b.Window {
		c.errorf("baseline.history", codeBadValue, "must be at least twice baseline.window (%s), got %s", 2*b.Window, b.History)
	}
	if b.Factor == 0 && b.Sigma == 0 && !c.r.has("baseline.factor") && !c.r.has("baseline.sigma") {
		c.errorf("baseline", codeRequired, "needs factor or sigma")
	}
	if b.Factor < 0 || (b.Factor == 0 && c.r.has("baseline.factor")) {
		c.errorf("baseline.factor", codeBadValue, "must be greater than 0")
	}
	if b.Sigma < 0 || (b.Sigma == 0 && c.r.has("baseline.sigma")) {
		c.errorf("baseline.sigma", codeBadValue, "must be greater than 0")
	}
	if b.Min < 0 {
		c.errorf("baseline.min", codeBadValue, "must not be negative")
	}
	if b.MinHistory < 0 {
		c.errorf("baseline.min_history", codeBadValue, "must not be negative")
	}
	c.fieldNames("baseline.by", b.By)
}

func (c *ruleCheck) evidence(e *EvidenceSpec) {
	for _, w := range []struct {
		name string
		rw   *RollWindow
	}{{"video", e.Video}, {"keystrokes", e.Keystrokes}, {"clipboard", e.Clipboard}, {"terminal", e.Terminal}} {
		if w.rw == nil {
			continue
		}
		if w.rw.Before < 0 {
			c.errorf("evidence."+w.name+".before", codeBadValue, "must not be negative")
		}
		if w.rw.After < 0 {
			c.errorf("evidence."+w.name+".after", codeBadValue, "must not be negative")
		}
	}
}

func (c *ruleCheck) exception(i int, ex *Exception, data map[string]any) {
	p := "exceptions." + strconv.Itoa(i)
	hasWhen := strings.TrimSpace(ex.When) != "" || c.r.has(p+".when")
	hasField := ex.Field != "" || c.r.has(p+".field")
	hasIn := ex.In != nil || c.r.has(p+".in")
	hasEquals := ex.Equals != nil || c.r.has(p+".equals")
	switch {
	case hasWhen && hasField:
		c.errorf(p+".field", codeConflict, "conflicts with %s.when (use when, or field with in or equals)", p)
		return
	case hasWhen && (hasIn || hasEquals):
		k := "in"
		if !hasIn {
			k = "equals"
		}
		c.errorf(p+"."+k, codeConflict, "needs field, not when (use when, or field with in or equals)")
		return
	case hasWhen:
		if strings.TrimSpace(ex.When) == "" {
			c.errorf(p+".when", codeRequired, "empty condition")
		}
		return
	case !hasField && !hasIn && !hasEquals:
		c.errorf(p, codeRequired, "needs when, or field with in or equals")
		return
	case !hasField:
		c.required(p + ".field")
		return
	case strings.TrimSpace(ex.Field) == "":
		c.errorf(p+".field", codeRequired, "empty field name")
	}
	switch {
	case hasIn && hasEquals:
		c.errorf(p+".equals", codeConflict, "conflicts with %s.in (use one of in and equals)", p)
	case !hasIn && !hasEquals:
		c.errorf(p, codeRequired, "field needs in or equals")
	case hasIn:
		c.exceptionIn(p+".in", ex.In, data)
	default:
		switch ex.Equals.(type) {
		case string, bool, int64, float64, int:
		case nil:
			c.errorf(p+".equals", codeRequired, "empty value")
		default:
			c.errorf(p+".equals", codeWrongType, "want a single value (use in for a list)")
		}
	}
}

func (c *ruleCheck) exceptionIn(path string, in any, data map[string]any) {
	switch v := in.(type) {
	case []any:
		for i, item := range v {
			switch item.(type) {
			case string, bool, int64, float64, int:
			default:
				c.errorf(path+"."+strconv.Itoa(i), codeWrongType, "want a string, number or boolean")
			}
		}
	case []string:
	case string:
		if err := checkDataRef(v, data); err != "" {
			c.errorf(path, codeBadRef, "%s", err)
		}
	default:
		c.errorf(path, codeWrongType, "want a list or a data reference such as data.vigil.allowed_users")
	}
}

// checkDataRef checks a "data.a.b" reference. With data nil only its syntax
// is checked. It returns a message, or "" when the reference is good.
func checkDataRef(ref string, data map[string]any) string {
	rest, ok := strings.CutPrefix(ref, "data.")
	if !ok {
		return fmt.Sprintf("%q is neither a list nor a data reference such as data.vigil.allowed_users", ref)
	}
	parts := strings.Split(rest, ".")
	for _, p := range parts {
		if !identRe.MatchString(p) {
			return fmt.Sprintf("%q is not a data reference: write data.<name>.<name>… with names of letters, digits and '_'", ref)
		}
	}
	if data == nil {
		return ""
	}
	var cur any = data
	for i, p := range parts {
		m, ok := cur.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s is not in bundle data (data.%s is %s)", ref, strings.Join(parts[:i], "."), kindOf(cur))
		}
		next, ok := m[p]
		if !ok {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			hint := ""
			if best := nearest(p, keys); best != "" {
				hint = fmt.Sprintf(" (did you mean data.%s?)", strings.Join(append(append([]string(nil), parts[:i]...), best), "."))
			}
			return fmt.Sprintf("%s is not in bundle data%s", ref, hint)
		}
		cur = next
	}
	if _, ok := cur.([]any); !ok {
		return fmt.Sprintf("%s is %s, want a list", ref, kindOf(cur))
	}
	return ""
}

// kindOf names the JSON kind of a data value for messages.
func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}
