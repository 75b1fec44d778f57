package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/vigil-itm/vigil/engine/state"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

// ErrNoEvent is returned by Evaluate for a nil event or one without an
// action or timestamp.
var ErrNoEvent = errors.New("event has no action or timestamp")

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// eval runs a condition. Failures (including a runtime cost overrun) are
// returned, never panics.
func (c *condition) eval(ec *evalCtx, act *activation) (bool, error) {
	if c.fast != nil {
		return c.fast(ec), nil
	}
	if c.guard != nil && !c.guard(ec) {
		return false, nil
	}
	out, _, err := c.prg.ContextEval(ec.ctx, act)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("condition returned %s, not bool", out.Type())
	}
	return bool(b), nil
}

// Evaluate judges one event. The event must not be modified while Evaluate
// runs. Rule failures do not fail the evaluation: they are counted, logged
// and listed in Decision.Errors.
func (p *Program) Evaluate(ctx context.Context, e *event.Event) (d Decision, err error) {
	if e == nil || e.Event.Action == "" || e.Timestamp.IsZero() {
		return Decision{}, ErrNoEvent
	}
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("evaluate event %q: internal error: %v", e.Event.ID, r)
		}
	}()
	if p.metrics != nil {
		p.metrics.events.Inc()
	}
	ec := evalCtx{e: e, tz: timezoneOf(e), ctx: ctx}
	act := activation{e: e, tz: ec.tz, data: p.env.data}
	var findings []Finding
	var errs []string
	var stateNS int64

	evalRules := func(rules []*compiledRule) {
		for _, cr := range rules {
			f, fired, sns, serr := p.evalRule(cr, &ec, &act)
			stateNS += sns
			if serr != nil {
				errs = append(errs, fmt.Sprintf("rule %s: %v", cr.rule.ID, serr))
				continue
			}
			if fired {
				findings = append(findings, f)
			}
		}
	}
	evalRules(p.index[e.Event.Action])
	evalRules(p.unindexed)
	matched := time.Now()

	d.Timestamp = e.Timestamp
	d.EventID = e.Event.ID
	d.Action = e.Event.Action
	d.Bundle = BundleRef{Name: p.name, Revision: p.revision}
	d.Errors = errs
	if len(findings) == 0 && !p.regoEveryEvent {
		d.Timings = Timings{MatchNS: int64(matched.Sub(start)) - stateNS, StateNS: stateNS, TotalNS: int64(matched.Sub(start))}
		return d, nil
	}

	// One decision per event and bundle, whatever the revision: the agent
	// and the server name their decisions on an event alike even while one
	// of them still runs the previous revision, and one alert results.
	d.DecisionID = event.DerivedID(e.Timestamp, "decision", e.Event.ID, p.name)
	if e.User != nil {
		d.UserName = e.User.Name
	}
	if e.Host != nil {
		d.HostName = e.Host.Name
	}
	d.Findings = findings
	for _, f := range findings {
		d.Rules = append(d.Rules, RuleRef{ID: f.Rule, Version: f.RuleVersion})
	}
	p.decide(ctx, &d, e)
	d.Input = &DecisionInput{Event: p.maskEvent(e), Bundle: d.Bundle}
	end := time.Now()
	d.Timings = Timings{
		MatchNS: int64(matched.Sub(start)) - stateNS,
		StateNS: stateNS,
		RegoNS:  int64(end.Sub(matched)),
		TotalNS: int64(end.Sub(start)),
	}
	if p.metrics != nil {
		p.metrics.decisions.WithLabelValues(strconv.FormatBool(d.Alert)).Inc()
	}
	return d, nil
}

// evalRule evaluates one rule against the event. It returns the finding
// when the rule fires, and the time spent in rule state.
func (p *Program) evalRule(cr *compiledRule, ec *evalCtx, act *activation) (f Finding, fired bool, stateNS int64, err error) {
	r := cr.rule
	fail := func(err error) (Finding, bool, int64, error) {
		p.ruleError(cr, err)
		return Finding{}, false, 0, err
	}
	if cr.cond != nil {
		ok, err := cr.cond.eval(ec, act)
		if err != nil {
			return fail(fmt.Errorf("when: %w", err))
		}
		if !ok {
			return Finding{}, false, 0, nil
		}
	}
	var matched []bool
	if cr.sequence != nil {
		anyStep := false
		matched = make([]bool, len(cr.steps))
		for i, st := range cr.steps {
			ok, err := st.eval(ec, act)
			if err != nil {
				return fail(fmt.Errorf("sequence step %d: %w", i, err))
			}
			matched[i] = ok
			anyStep = anyStep || ok
		}
		if !anyStep {
			return Finding{}, false, 0, nil
		}
	}
	for i, ex := range cr.exceptions {
		ok, err := ex.eval(ec, act)
		if err != nil {
			return fail(fmt.Errorf("exception %d: %w", i, err))
		}
		if ok {
			return Finding{}, false, 0, nil
		}
	}

	st := time.Now()
	e := ec.e
	key := keyOf(cr.by, e)
	f = Finding{
		Rule:        r.ID,
		RuleVersion: r.Version,
		Title:       r.Title,
		Severity:    string(r.Severity),
		Tags:        r.Tags,
		Kind:        r.Kind(),
		Source:      r.Source.String(),
		Condition:   r.When,
		Evidence:    r.Evidence,
	}
	fired = true
	switch {
	case cr.threshold != nil:
		var val float64
		var distinct string
		if cr.aggField != nil {
			val = cr.aggField.number(e)
			distinct = cr.aggField.text(e)
		}
		res := cr.threshold.Observe(key, e.Timestamp, val, distinct)
		fired = res.Fired
		if fired {
			w := &WindowExplanation{Aggregate: res.Aggregate, Op: res.Op, Limit: res.Limit,
				Window: r.Threshold.Window.String(), Start: res.WindowStart, End: res.WindowEnd}
			switch res.Aggregate {
			case "sum":
				w.Value, w.Field = res.Sum, r.Threshold.Sum.Field
			case "distinct":
				w.Value, w.Field = float64(res.Distinct), r.Threshold.Distinct.Field
			default:
				w.Value = float64(res.Count)
			}
			f.Window = w
			f.Message = fmt.Sprintf("%s: %s %s%s within %s (%s %s)", r.Title, w.Aggregate, fieldSuffix(w.Field),
				trimFloat(w.Value), w.Window, w.Op, trimFloat(w.Limit))
		}
	case cr.sequence != nil:
		res := cr.sequence.Observe(key, e.Timestamp, matched)
		fired = res.Fired
		if fired {
			se := &SequenceExplanation{Within: r.Sequence.Within.String()}
			for i, at := range res.StepTimes {
				sm := StepMatch{At: at}
				if i < len(r.Sequence.Steps) {
					sm.ID, sm.When = r.Sequence.Steps[i].ID, r.Sequence.Steps[i].When
				}
				se.Steps = append(se.Steps, sm)
			}
			f.Sequence = se
			f.Message = fmt.Sprintf("%s: %d steps in order within %s", r.Title, len(se.Steps), se.Within)
		}
	case cr.firstSeen != nil:
		v := cr.aggField.text(e)
		res := cr.firstSeen.Observe(key, v, e.Timestamp)
		fired = res.Fired
		if fired {
			f.FirstSeen = &FirstSeenExplanation{Field: r.FirstSeen.Field, Value: v,
				Within: r.FirstSeen.Within.String(), KnownValues: res.KnownValues}
			f.Message = fmt.Sprintf("%s: %s %q not seen in the last %s", r.Title, r.FirstSeen.Field, v, r.FirstSeen.Within)
		}
	case cr.baseline != nil:
		v := 1.0
		if cr.aggField != nil {
			v = cr.aggField.number(e)
		}
		res := cr.baseline.Observe(key, e.Timestamp, v)
		fired = res.Fired
		if fired {
			f.Baseline = &BaselineExplanation{Field: r.Baseline.Field, Window: r.Baseline.Window.String(),
				Current: res.Current, Mean: res.Mean, StdDev: res.StdDev, Limit: res.Limit, HistoryBuckets: res.HistoryBuckets}
			f.Message = fmt.Sprintf("%s: %s in the current %s against a usual %s (limit %s)", r.Title,
				trimFloat(res.Current), r.Baseline.Window, trimFloat(res.Mean), trimFloat(res.Limit))
		}
	default:
		f.Message = r.Title
	}
	if fired && cr.suppress != nil {
		skey := key
		if len(cr.suppressBy) > 0 {
			skey = keyOf(cr.suppressBy, e)
		}
		if ok, _ := cr.suppress.Allow(skey, e.Timestamp); !ok {
			fired = false
			cr.suppressed.Add(1)
			if cr.metrics != nil {
				cr.metrics.suppressed.Inc()
			}
		}
	}
	sns := int64(time.Since(st))
	if !fired {
		return Finding{}, false, sns, nil
	}
	if len(cr.by) > 0 {
		f.Key = make(map[string]string, len(cr.by))
		for _, bf := range cr.by {
			f.Key[bf.path] = bf.text(e)
		}
	}
	cr.findings.Add(1)
	if cr.metrics != nil {
		cr.metrics.findings.Inc()
	}
	return f, true, sns, nil
}

func fieldSuffix(f string) string {
	if f == "" {
		return ""
	}
	return "of " + f + " "
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func keyOf(fields []*field, e *event.Event) string {
	switch len(fields) {
	case 0:
		return ""
	case 1:
		return state.Key(fields[0].text(e))
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.text(e)
	}
	return state.Key(parts...)
}

// ruleError counts a failed evaluation and logs it at most once a minute
// per rule, so a broken rule cannot flood the log.
func (p *Program) ruleError(cr *compiledRule, err error) {
	cr.errors.Add(1)
	if cr.metrics != nil {
		cr.metrics.errors.Inc()
	}
	now := time.Now().UnixNano()
	last := cr.lastLog.Load()
	if now-last > int64(time.Minute) && cr.lastLog.CompareAndSwap(last, now) {
		p.logger.Warn("rule evaluation failed", "rule", cr.rule.ID, "rule_source", cr.rule.Source.String(),
			"err", err, "failures", cr.errors.Load())
	}
}

// regoInputAST builds the Rego input as an ast.Value, directly from JSON;
// where that fails (it should not), it converts the map regoInput builds.
func (p *Program) regoInputAST(e *event.Event, findings []Finding) ast.Value {
	if v, err := p.regoInputValue(e, findings); err == nil {
		return v
	}
	v, err := ast.InterfaceToValue(p.regoInput(e, findings))
	if err != nil {
		return ast.NewObject()
	}
	return v
}

// regoInput builds the Rego input: {event, user, findings, bundle}.
func (p *Program) regoInput(e *event.Event, findings []Finding) map[string]any {
	ev := toMap(e)
	user, _ := ev["user"].(map[string]any)
	if user == nil {
		user = map[string]any{}
	}
	fs := make([]any, len(findings))
	for i := range findings {
		fs[i] = toMap(&findings[i])
	}
	return map[string]any{
		"event":    ev,
		"user":     user,
		"findings": fs,
		"bundle":   map[string]any{"name": p.name, "revision": p.revision},
	}
}

func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{}
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return map[string]any{}
	}
	return m
}

// decide fills the verdict from the Rego policy, or from the default when
// the bundle has none or it fails.
func (p *Program) decide(ctx context.Context, d *Decision, e *event.Event) {
	if p.decision != nil {
		t := time.Now()
		res, err := p.decision.eval(ctx, p.regoInputAST(e, d.Findings))
		if p.metrics != nil {
			p.metrics.regoTime.Observe(time.Since(t).Seconds())
		}
		if err == nil {
			d.DecidedBy = "rego"
			d.Alert, d.Severity, d.RiskScore = res.alert, res.severity, res.riskScore
			d.Reasons, d.Evidence, d.Actions = res.reasons, res.evidence, res.actions
			if d.Severity == "" {
				d.Severity = maxSeverity(d.Findings)
			}
			return
		}
		if p.metrics != nil {
			p.metrics.regoErrors.Inc()
		}
		p.logger.Warn("decision policy failed; using the default decision", "err", err, "event_id", d.EventID)
		d.Errors = append(d.Errors, "decision: "+err.Error())
	}
	d.DecidedBy = "default"
	d.Alert = len(d.Findings) > 0
	d.Severity = maxSeverity(d.Findings)
	specs := make([]*policies.EvidenceSpec, 0, len(d.Findings))
	for _, f := range d.Findings {
		d.Reasons = append(d.Reasons, f.Message)
		specs = append(specs, f.Evidence)
		d.RiskScore = max(d.RiskScore, severityScore(f.Severity))
	}
	d.Evidence = mergeEvidence(specs...)
}

func maxSeverity(fs []Finding) string {
	best := ""
	for _, f := range fs {
		if policies.Severity(f.Severity).Rank() > policies.Severity(best).Rank() {
			best = f.Severity
		}
	}
	return best
}

// maskEvent returns a copy of e with the mask fields replaced by
// "**masked**". The copy shares every field set it does not change with e.
func (p *Program) maskEvent(e *event.Event) *event.Event {
	cp := *e
	root := reflect.ValueOf(&cp).Elem()
	for _, f := range p.maskFields {
		if f.str(&cp) != "" {
			setString(root, f.path, "**masked**")
		}
	}
	return &cp
}

// RuleStats are counters of one rule since its Program was compiled.
type RuleStats struct {
	Rule       string `json:"rule"`
	Findings   uint64 `json:"findings"`
	Errors     uint64 `json:"errors"`
	Suppressed uint64 `json:"suppressed"`
	Keys       int    `json:"keys"`
	Evictions  uint64 `json:"evictions"`
	FastPath   bool   `json:"fast_path"`
	Indexed    bool   `json:"indexed"`
}

// Stats returns per-rule counters, sorted by rule id.
func (p *Program) Stats() []RuleStats {
	out := make([]RuleStats, 0, len(p.rules))
	for _, cr := range p.rules {
		s := RuleStats{Rule: cr.rule.ID, Findings: cr.findings.Load(), Errors: cr.errors.Load(),
			Suppressed: cr.suppressed.Load(), Indexed: cr.actions != nil, FastPath: true}
		conds := append([]*condition{cr.cond}, cr.steps...)
		conds = append(conds, cr.exceptions...)
		for _, c := range conds {
			if c != nil && c.fast == nil {
				s.FastPath = false
			}
		}
		switch {
		case cr.threshold != nil:
			s.Keys, s.Evictions = cr.threshold.Keys(), cr.threshold.Evictions()
		case cr.sequence != nil:
			s.Keys, s.Evictions = cr.sequence.Keys(), cr.sequence.Evictions()
		case cr.firstSeen != nil:
			s.Keys, s.Evictions = cr.firstSeen.Keys(), cr.firstSeen.Evictions()
		case cr.baseline != nil:
			s.Keys, s.Evictions = cr.baseline.Keys(), cr.baseline.Evictions()
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rule < out[j].Rule })
	return out
}

// RuleActions returns the event actions the index routes to the rule with
// the given id, and whether the rule is indexed at all (an unindexed rule
// meets every event). ok is false when the Program has no such rule.
func (p *Program) RuleActions(id string) (actions []string, indexed, ok bool) {
	cr, ok := p.byID[id]
	if !ok {
		return nil, false, false
	}
	if cr.actions == nil {
		return nil, false, true
	}
	return append([]string(nil), cr.actions...), true, true
}
