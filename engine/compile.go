package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"

	"github.com/vigil-itm/vigil/engine/state"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

// ErrCompile is wrapped by every error Compile returns for a bad bundle.
var ErrCompile = errors.New("compile bundle")

// CompileError lists every problem that stopped a bundle from compiling,
// each with its file, line and column.
type CompileError struct {
	Bundle      string
	Diagnostics policies.Diagnostics
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("compile bundle %q: %d error(s):\n%s", e.Bundle, len(e.Diagnostics), e.Diagnostics.Sorted().Error())
}

// Unwrap lets callers test with errors.Is(err, ErrCompile) and reach the
// diagnostics with errors.As.
func (e *CompileError) Unwrap() []error { return []error{ErrCompile, e.Diagnostics} }

// condition is one compiled CEL condition: a native closure when the
// expression allows it, else a cel-go program.
type condition struct {
	src     string
	ast     *cel.Ast
	fast    boolFn
	guard   boolFn // when fast is nil: false means the condition is false
	prg     cel.Program
	estCost uint64
}

// compiledRule is one rule ready to evaluate.
type compiledRule struct {
	rule       *policies.Rule
	hash       string
	cond       *condition // nil for sequences without a top-level when
	steps      []*condition
	exceptions []*condition
	by         []*field
	aggField   *field // sum/distinct/first_seen/baseline field
	suppressBy []*field
	actions    []string // nil when unindexed

	threshold *state.Threshold
	sequence  *state.Sequence
	firstSeen *state.FirstSeen
	baseline  *state.Baseline
	suppress  *state.Suppressor

	errors     atomic.Uint64
	findings   atomic.Uint64
	suppressed atomic.Uint64
	lastLog    atomic.Int64
	metrics    *ruleMetrics
}

// Program is a compiled bundle. It is immutable apart from rule state, and
// safe for concurrent use by many goroutines.
type Program struct {
	name, revision string
	rules          []*compiledRule
	byID           map[string]*compiledRule
	index          map[string][]*compiledRule
	unindexed      []*compiledRule
	env            *celEnv
	decision       *regoDecision
	regoEveryEvent bool
	maskFields     []*field
	warnings       policies.Diagnostics
	logger         *slog.Logger
	metrics        *Metrics
	costLimit      uint64
	compiledAt     time.Time
}

// Name is the compiled bundle's name.
func (p *Program) Name() string { return p.name }

// Revision is the compiled bundle's revision.
func (p *Program) Revision() string { return p.revision }

// Warnings lists what compiled but deserves attention, such as rules that
// cannot be indexed by event.action.
func (p *Program) Warnings() policies.Diagnostics { return p.warnings }

// RuleIDs lists the compiled rules' ids in bundle order.
func (p *Program) RuleIDs() []string {
	out := make([]string, len(p.rules))
	for i, r := range p.rules {
		out[i] = r.rule.ID
	}
	return out
}

// Compile compiles a bundle into a Program. Every problem in the bundle is
// reported at once, each with its file, line and column.
func Compile(b *policies.Bundle, opts ...Option) (*Program, error) {
	o := options{
		maxEstimatedCost: DefaultMaxEstimatedCost,
		costLimit:        DefaultCostLimit,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	p := &Program{
		name:       b.Name(),
		revision:   b.Revision(),
		byID:       map[string]*compiledRule{},
		index:      map[string][]*compiledRule{},
		logger:     o.logger.With("component", "engine", "bundle", b.Name(), "revision", b.Revision()),
		metrics:    o.metrics,
		costLimit:  o.costLimit,
		compiledAt: time.Now(),
	}
	if v, ok := b.Manifest.Metadata["rego_every_event"].(bool); ok {
		p.regoEveryEvent = v
	}
	if o.regoEveryEvent != nil {
		p.regoEveryEvent = *o.regoEveryEvent
	}
	for _, mp := range maskPaths(b.Data) {
		f, err := lookupField(mp)
		if err != nil || f.kind != kindString {
			return nil, &CompileError{Bundle: b.Name(), Diagnostics: policies.Diagnostics{{
				Pos: policies.Position{File: "data"}, Severity: policies.DiagError, Code: "bad-mask",
				Msg: fmt.Sprintf("data.vigil.config.mask: %q is not a string event field", mp)}}}
		}
		p.maskFields = append(p.maskFields, f)
	}

	env, err := newCELEnv(b.Data)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrCompile, b.Name(), err)
	}
	p.env = env
	c := &compiler{o: &o, p: p, b: b}
	for _, r := range b.Rules {
		if r.Disabled {
			continue
		}
		if prev, ok := p.byID[r.ID]; ok {
			c.errorf(r, r.Source, "duplicate rule id (first defined at %s)", prev.rule.Source)
			continue
		}
		cr := c.rule(r)
		if cr == nil {
			continue
		}
		p.rules = append(p.rules, cr)
		p.byID[r.ID] = cr
	}
	dec, derrs := compileDecision(b)
	c.problems = append(c.problems, derrs...)
	p.decision = dec
	if len(c.problems) > 0 {
		return nil, &CompileError{Bundle: b.Name(), Diagnostics: c.problems}
	}
	for _, cr := range p.rules {
		if cr.actions == nil {
			p.unindexed = append(p.unindexed, cr)
			continue
		}
		for _, a := range cr.actions {
			p.index[a] = append(p.index[a], cr)
		}
	}
	p.warnings = c.warnings
	if o.metrics != nil {
		for _, cr := range p.rules {
			cr.metrics = o.metrics.forRule(cr.rule.ID)
		}
	}
	return p, nil
}

type compiler struct {
	o        *options
	p        *Program
	b        *policies.Bundle
	problems policies.Diagnostics
	warnings policies.Diagnostics
}

func (c *compiler) errorf(r *policies.Rule, pos policies.Position, format string, args ...any) {
	c.problems = append(c.problems, policies.Diagnostic{Pos: pos, Severity: policies.DiagError, Code: "rule-compile",
		Msg: fmt.Sprintf("rule %q: ", r.ID) + fmt.Sprintf(format, args...)})
}

func (c *compiler) warnf(r *policies.Rule, pos policies.Position, code, format string, args ...any) {
	c.warnings = append(c.warnings, policies.Diagnostic{Pos: pos, Severity: policies.DiagWarning, Code: code,
		Msg: fmt.Sprintf("rule %q: ", r.ID) + fmt.Sprintf(format, args...)})
}

func (c *compiler) rule(r *policies.Rule) *compiledRule {
	before := len(c.problems)
	cr := &compiledRule{rule: r, hash: stateHash(r)}
	var actions []string
	indexed := true

	if r.When != "" {
		cond, ast := c.condition(r, "when", r.When)
		cr.cond = cond
		if ast != nil {
			if a, ok := indexActions(ast); ok {
				actions = a
			} else {
				indexed = false
			}
		}
	} else if r.Sequence == nil {
		c.errorf(r, r.Pos("id"), "when: a condition is required")
	}
	if s := r.Sequence; s != nil {
		var union []string
		stepsIndexed := true
		for i, st := range s.Steps {
			key := fmt.Sprintf("sequence.steps.%d.when", i)
			cond, ast := c.condition(r, key, st.When)
			cr.steps = append(cr.steps, cond)
			if ast == nil {
				continue
			}
			if a, ok := indexActions(ast); ok {
				union = append(union, a...)
			} else {
				stepsIndexed = false
			}
		}
		switch {
		case r.When != "" && indexed:
			// The top-level condition already restricts the actions.
		case stepsIndexed:
			actions, indexed = dedupe(union), true
		default:
			indexed = false
		}
	}
	if len(r.Actions) > 0 {
		actions, indexed = r.Actions, true
	}
	for _, a := range actions {
		if !event.KnownAction(a) {
			c.errorf(r, r.Pos("when"), "event.action %q is not in the action vocabulary%s", a, suggest(a, knownActions()))
		}
	}
	if indexed {
		cr.actions = dedupe(actions)
		// The index guarantees the action: drop that test from the closure.
		if len(cr.actions) == 1 && cr.cond != nil && cr.cond.fast != nil {
			if fast, ok := compileFast(cr.cond.ast, c.p.env, cr.actions[0]); ok {
				cr.cond.fast = fast
			}
		}
	} else {
		c.warnf(r, r.Pos("when"), "unindexed-rule", "cannot be indexed by event.action, so it is evaluated for every event: start the condition with event.action == \"...\" or event.action in [...], or list actions:")
	}

	for i, ex := range r.Exceptions {
		key := fmt.Sprintf("exceptions.%d", i)
		src, err := exceptionCEL(ex, c.b.Data)
		if err != nil {
			c.errorf(r, r.Pos(key), "%s: %v", key, err)
			continue
		}
		cond, _ := c.condition(r, key, src)
		cr.exceptions = append(cr.exceptions, cond)
	}

	stateOpts := c.o.stateOpts
	var err error
	switch {
	case r.Threshold != nil:
		cr.by = c.fields(r, "threshold.by", r.Threshold.By)
		if r.Threshold.Sum != nil {
			cr.aggField = c.field(r, "threshold.sum.field", r.Threshold.Sum.Field)
		}
		if r.Threshold.Distinct != nil {
			cr.aggField = c.field(r, "threshold.distinct.field", r.Threshold.Distinct.Field)
		}
		cr.threshold, err = state.NewThreshold(r.Threshold, stateOpts)
	case r.Sequence != nil:
		cr.by = c.fields(r, "sequence.by", r.Sequence.By)
		cr.sequence, err = state.NewSequence(r.Sequence, stateOpts)
	case r.FirstSeen != nil:
		cr.by = c.fields(r, "first_seen.by", r.FirstSeen.By)
		cr.aggField = c.field(r, "first_seen.field", r.FirstSeen.Field)
		cr.firstSeen, err = state.NewFirstSeen(r.FirstSeen, stateOpts)
	case r.Baseline != nil:
		cr.by = c.fields(r, "baseline.by", r.Baseline.By)
		if r.Baseline.Field != "" {
			cr.aggField = c.field(r, "baseline.field", r.Baseline.Field)
		}
		cr.baseline, err = state.NewBaseline(r.Baseline, stateOpts)
	}
	if err != nil {
		c.errorf(r, r.Pos(r.Kind()), "%s: %v", r.Kind(), err)
	}
	if r.Suppress != nil {
		if len(r.Suppress.By) > 0 {
			cr.suppressBy = c.fields(r, "suppress.by", r.Suppress.By)
		}
		cr.suppress = state.NewSuppressor(r.Suppress, stateOpts)
	}
	if len(c.problems) > before {
		return nil
	}
	c.inheritState(cr)
	return cr
}

// stateHash identifies what a rule's window state depends on: everything
// but its wording, severity, tags and evidence settings. Editing a title or
// raising a severity keeps the rule's windows and learnt history.
func stateHash(r *policies.Rule) string {
	cp := *r
	cp.Title, cp.Description, cp.Rationale, cp.Tuning = "", "", "", ""
	cp.Severity, cp.Tags, cp.Evidence, cp.Version = "", nil, nil, 0
	return cp.Hash()
}

// inheritState keeps the window state of an unchanged rule across reloads.
func (c *compiler) inheritState(cr *compiledRule) {
	prev := c.o.previous
	if prev == nil {
		return
	}
	old, ok := prev.byID[cr.rule.ID]
	if !ok || old.hash != cr.hash {
		return
	}
	cr.threshold, cr.sequence, cr.firstSeen, cr.baseline, cr.suppress =
		old.threshold, old.sequence, old.firstSeen, old.baseline, old.suppress
}

func (c *compiler) fields(r *policies.Rule, key string, paths []string) []*field {
	out := make([]*field, 0, len(paths))
	for i, p := range paths {
		f := c.field(r, key+"."+strconv.Itoa(i), p)
		if f != nil {
			out = append(out, f)
		}
	}
	return out
}

func (c *compiler) field(r *policies.Rule, key, path string) *field {
	f, err := lookupField(path)
	if err != nil {
		pos := r.Pos(key)
		if _, ok := r.FieldPos[key]; !ok {
			pos = r.Pos(key[:strings.LastIndexByte(key+".", '.')])
		}
		c.errorf(r, pos, "%s: %v", key, err)
		return nil
	}
	return f
}

// condition compiles one CEL condition, checks its type and cost, and
// prepares the fast path.
func (c *compiler) condition(r *policies.Rule, key, src string) (*condition, *cel.Ast) {
	pos := r.Pos(key)
	if strings.TrimSpace(src) == "" {
		c.errorf(r, pos, "%s: empty condition", key)
		return nil, nil
	}
	ast, iss := c.p.env.env.Compile(src)
	if iss != nil && iss.Err() != nil {
		c.errorf(r, pos, "%s: %s", key, celIssues(iss, src, c.p.env))
		return nil, nil
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		c.errorf(r, pos, "%s: condition must be a bool, is %s", key, ast.OutputType())
		return nil, nil
	}
	est, err := c.p.env.env.EstimateCost(ast, costEstimator{data: c.p.env.data})
	if err != nil {
		c.errorf(r, pos, "%s: estimate cost: %v", key, err)
		return nil, nil
	}
	if est.Max > c.o.maxEstimatedCost {
		c.errorf(r, pos, "%s: estimated cost %d exceeds the limit of %d per condition; narrow the condition (for example test event.action and cheap fields first)", key, est.Max, c.o.maxEstimatedCost)
		return nil, nil
	}
	prg, err := c.p.env.env.Program(ast,
		cel.EvalOptions(cel.OptOptimize),
		cel.CostLimit(c.o.costLimit),
		cel.InterruptCheckFrequency(100),
	)
	if err != nil {
		c.errorf(r, pos, "%s: %v", key, err)
		return nil, nil
	}
	cond := &condition{src: src, prg: prg, estCost: est.Max}
	if !c.o.noFastPath {
		cond.fast, _ = compileFast(ast, c.p.env, "")
		cond.ast = ast
		if cond.fast == nil {
			cond.guard, _ = compileGuard(ast, c.p.env)
		}
	}
	return cond, ast
}

// celIssues renders cel-go's issues on one line, each with its line and
// column inside the condition.
func celIssues(iss *cel.Issues, src string, env *celEnv) string {
	errs := iss.Errors()
	parts := make([]string, 0, len(errs))
	lines := strings.Split(src, "\n")
	for _, e := range errs {
		msg := strings.TrimSuffix(e.Message, " (in container '')")
		if strings.HasPrefix(msg, "undeclared reference to ") && e.Location != nil {
			if l := e.Location.Line(); l >= 1 && l <= len(lines) {
				if name := identChain(lines[l-1], e.Location.Column()); name != "" {
					msg = fmt.Sprintf("unknown name %q%s", name, suggest(name, env.names()))
					if _, known := fieldsByCEL[name]; known {
						msg = fmt.Sprintf("%q cannot be used here: has() and field-set selection are not supported on event fields; absent fields read as \"\", 0 or false, so compare with those", name)
					}
				}
			}
		}
		if e.Location != nil && e.Location.Line() > 0 {
			msg = fmt.Sprintf("%s (at condition %d:%d)", msg, e.Location.Line(), e.Location.Column()+1)
		}
		parts = append(parts, msg)
	}
	return strings.Join(parts, "; ")
}

// exceptionCEL turns an exception into a CEL condition.
func exceptionCEL(ex policies.Exception, data map[string]any) (string, error) {
	if ex.When != "" {
		return ex.When, nil
	}
	if ex.Field == "" {
		return "", errors.New("needs when, or field with in or equals")
	}
	f, err := lookupField(ex.Field)
	if err != nil {
		return "", err
	}
	switch {
	case ex.In != nil:
		if ref, ok := ex.In.(string); ok {
			v, err := lookupData(data, ref)
			if err != nil {
				return "", err
			}
			if _, ok := v.([]any); !ok {
				if _, ok := v.([]string); !ok {
					return "", fmt.Errorf("in: %s is not a list", ref)
				}
			}
			if f.kind == kindStrings {
				return fmt.Sprintf("any_in(%s, %s)", f.ident, ref), nil
			}
			return fmt.Sprintf("%s in %s", f.ident, ref), nil
		}
		lit, err := json.Marshal(ex.In)
		if err != nil || !strings.HasPrefix(string(lit), "[") {
			return "", errors.New("in: want a list or a data.… reference")
		}
		return fmt.Sprintf("%s in %s", f.ident, lit), nil
	case ex.Equals != nil:
		lit, err := json.Marshal(ex.Equals)
		if err != nil {
			return "", fmt.Errorf("equals: %w", err)
		}
		return fmt.Sprintf("%s == %s", f.ident, lit), nil
	}
	return "", errors.New("field needs in or equals")
}

// indexActions finds the event actions a condition can match, from its
// top-level conjunction: event.action == "x", event.action in ["x", "y"],
// or a disjunction of indexable conditions.
func indexActions(ast *cel.Ast) ([]string, bool) {
	a := ast.NativeRep()
	var walk func(e celast.Expr) ([]string, bool)
	walk = func(e celast.Expr) ([]string, bool) {
		if e.Kind() != celast.CallKind {
			return nil, false
		}
		call := e.AsCall()
		args := call.Args()
		switch call.FunctionName() {
		case "_&&_":
			var set []string
			found := false
			for _, arg := range args {
				if acts, ok := walk(arg); ok {
					if !found {
						set, found = acts, true
					} else {
						set = intersect(set, acts)
					}
				}
			}
			return set, found
		case "_||_":
			var union []string
			for _, arg := range args {
				acts, ok := walk(arg)
				if !ok {
					return nil, false
				}
				union = append(union, acts...)
			}
			return dedupe(union), true
		case "_==_":
			for i := range 2 {
				if isActionRef(a, args[i]) && args[1-i].Kind() == celast.LiteralKind {
					if s, ok := args[1-i].AsLiteral().(types.String); ok {
						return []string{string(s)}, true
					}
				}
			}
		case "@in":
			if isActionRef(a, args[0]) && args[1].Kind() == celast.ListKind {
				var out []string
				for _, el := range args[1].AsList().Elements() {
					if el.Kind() != celast.LiteralKind {
						return nil, false
					}
					s, ok := el.AsLiteral().(types.String)
					if !ok {
						return nil, false
					}
					out = append(out, string(s))
				}
				return out, true
			}
		}
		return nil, false
	}
	return walk(a.Expr())
}

func isActionRef(a *celast.AST, e celast.Expr) bool {
	r, ok := a.ReferenceMap()[e.ID()]
	return ok && r.Name == "event.action"
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func knownActions() []string {
	infos := event.Actions()
	out := make([]string, len(infos))
	for i, a := range infos {
		out[i] = a.Name
	}
	return out
}

// maskPaths lists the event fields replaced by "**masked**" in the input
// copy a decision records: clipboard content always, plus the bundle's
// data.vigil.config.mask list.
func maskPaths(data map[string]any) []string {
	out := []string{"clipboard.content"}
	if v, err := lookupData(data, "data.vigil.config.mask"); err == nil {
		if l, ok := v.([]any); ok {
			for _, it := range l {
				if s, ok := it.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// identChain returns the dotted identifier that starts at col in line.
func identChain(line string, col int) string {
	if col < 0 || col >= len(line) {
		return ""
	}
	end := col
	for end < len(line) {
		ch := line[end]
		if ch == '.' || ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' {
			end++
			continue
		}
		break
	}
	return strings.TrimRight(line[col:end], ".")
}
