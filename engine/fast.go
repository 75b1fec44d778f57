package engine

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/vigil-itm/vigil/event"
)

// The native fast path. Most conditions are conjunctions of simple tests on
// event fields and bundle lists; for those, the checked CEL expression is
// translated into Go closures that read fields directly, with no
// activation, no boxing and no interpreter. The translation covers a subset
// of CEL whose semantics cannot produce errors (typed fields, no arithmetic),
// and refuses anything else: those conditions run in cel-go's interpreter.
// A differential test (fast_test.go) holds the two to the same answers.

type evalCtx struct {
	e   *event.Event
	tz  string
	ctx context.Context
}

type (
	boolFn func(*evalCtx) bool
	strFn  func(*evalCtx) string
	intFn  func(*evalCtx) int64
	dblFn  func(*evalCtx) float64
	tsFn   func(*evalCtx) time.Time
	// listFn returns a list of strings; set is non-nil for constant lists,
	// for hash membership, and constant holds their items, for
	// preparing them once.
	listFn struct {
		get      func(*evalCtx) []string
		set      map[string]struct{}
		constant []string
	}
)

type fastCompiler struct {
	ast    *celast.AST
	env    *celEnv
	action string
}

// compileFast translates a checked boolean CEL expression into a closure, or
// returns false when the expression is outside the supported subset.
//
// indexedAction, when not empty, is the one action the index guarantees
// every evaluated event has: a conjunct event.action == indexedAction is
// then known true and left out of the closure.
func compileFast(ast *cel.Ast, env *celEnv, indexedAction string) (boolFn, bool) {
	if !ast.IsChecked() || !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, false
	}
	fc := &fastCompiler{ast: ast.NativeRep(), env: env, action: indexedAction}
	return fc.boolean(fc.ast.Expr())
}

// compileGuard returns, for a condition the fast path refuses, a closure
// over the top-level conjuncts it can translate: when the closure is false
// the condition is false, and the interpreter need not run. In CEL a false
// conjunct makes a conjunction false whatever the others evaluate to (even
// an error), so the guard never changes an answer; when it is true, the
// interpreter evaluates the whole condition as before.
func compileGuard(ast *cel.Ast, env *celEnv) (boolFn, bool) {
	if !ast.IsChecked() || !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, false
	}
	fc := &fastCompiler{ast: ast.NativeRep(), env: env}
	var fns []boolFn
	var walk func(e celast.Expr)
	walk = func(e celast.Expr) {
		if e.Kind() == celast.CallKind && e.AsCall().FunctionName() == "_&&_" {
			for _, a := range e.AsCall().Args() {
				walk(a)
			}
			return
		}
		if f, ok := fc.boolean(e); ok {
			fns = append(fns, f)
		}
	}
	walk(fc.ast.Expr())
	if len(fns) == 0 {
		return nil, false
	}
	return func(c *evalCtx) bool {
		for _, f := range fns {
			if !f(c) {
				return false
			}
		}
		return true
	}, true
}

// knownTrue reports whether e is event.action == the indexed action.
func (fc *fastCompiler) knownTrue(e celast.Expr) bool {
	if fc.action == "" || e.Kind() != celast.CallKind || e.AsCall().FunctionName() != "_==_" {
		return false
	}
	args := e.AsCall().Args()
	for i := range 2 {
		if isActionRef(fc.ast, args[i]) && args[1-i].Kind() == celast.LiteralKind {
			if s, ok := args[1-i].AsLiteral().(types.String); ok && string(s) == fc.action {
				return true
			}
		}
	}
	return false
}

func (fc *fastCompiler) typeOf(e celast.Expr) *types.Type { return fc.ast.GetType(e.ID()) }

// varName returns the variable an identifier or qualified select refers to.
func (fc *fastCompiler) varName(e celast.Expr) (string, bool) {
	if r, ok := fc.ast.ReferenceMap()[e.ID()]; ok && r.Name != "" && len(r.OverloadIDs) == 0 {
		return r.Name, true
	}
	return "", false
}

func isType(t *types.Type, want *types.Type) bool { return t != nil && t.IsExactType(want) }

var listOfString = cel.ListType(cel.StringType)

func (fc *fastCompiler) boolean(e celast.Expr) (boolFn, bool) {
	if e.Kind() == celast.CallKind {
		return fc.boolCall(e)
	}
	return leaf(fc, e, kindBool, (*field).boolean, celBool)
}

// leaf compiles a constant (a literal or a bundle data value) or an event
// field of the given kind into a closure returning T; conv reads a CEL
// constant as T.
func leaf[T any](fc *fastCompiler, e celast.Expr, kind fieldKind, read func(*field, *event.Event) T, conv func(ref.Val) (T, bool)) (func(*evalCtx) T, bool) {
	var constant ref.Val
	switch e.Kind() {
	case celast.LiteralKind:
		constant = e.AsLiteral()
	case celast.IdentKind, celast.SelectKind:
		name, ok := fc.varName(e)
		if !ok {
			return nil, false
		}
		if f, ok := fieldsByCEL[name]; ok && f.kind == kind {
			return func(c *evalCtx) T { return read(f, c.e) }, true
		}
		dv, ok := fc.env.data[name]
		if !ok {
			return nil, false
		}
		constant = dv.val
	default:
		return nil, false
	}
	v, ok := conv(constant)
	if !ok {
		return nil, false
	}
	return func(*evalCtx) T { return v }, true
}

func celBool(v ref.Val) (bool, bool) {
	b, ok := v.(types.Bool)
	return bool(b), ok
}

func celString(v ref.Val) (string, bool) {
	s, ok := v.(types.String)
	return string(s), ok
}

func celInt(v ref.Val) (int64, bool) {
	i, ok := v.(types.Int)
	return int64(i), ok
}

func celDouble(v ref.Val) (float64, bool) {
	d, ok := v.(types.Double)
	return float64(d), ok
}

func (fc *fastCompiler) boolCall(e celast.Expr) (boolFn, bool) {
	call := e.AsCall()
	args := call.Args()
	if call.IsMemberFunction() {
		args = append([]celast.Expr{call.Target()}, args...)
	}
	switch call.FunctionName() {
	case "_&&_", "_||_":
		if call.FunctionName() == "_&&_" && len(args) == 2 {
			if fc.knownTrue(args[0]) {
				return fc.boolean(args[1])
			}
			if fc.knownTrue(args[1]) {
				return fc.boolean(args[0])
			}
		}
		fns := make([]boolFn, 0, len(args))
		for _, a := range args {
			f, ok := fc.boolean(a)
			if !ok {
				return nil, false
			}
			fns = append(fns, f)
		}
		if len(fns) != 2 {
			return nil, false
		}
		l, r := fns[0], fns[1]
		if call.FunctionName() == "_&&_" {
			return func(c *evalCtx) bool { return l(c) && r(c) }, true
		}
		return func(c *evalCtx) bool { return l(c) || r(c) }, true
	case "!_":
		f, ok := fc.boolean(args[0])
		if !ok {
			return nil, false
		}
		return func(c *evalCtx) bool { return !f(c) }, true
	case "_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_":
		return fc.compare(call.FunctionName(), args[0], args[1])
	case "@in":
		s, ok := fc.str(args[0])
		if !ok {
			return nil, false
		}
		l, ok := fc.list(args[1])
		if !ok {
			return nil, false
		}
		if l.set != nil {
			set := l.set
			return func(c *evalCtx) bool { _, ok := set[s(c)]; return ok }, true
		}
		return func(c *evalCtx) bool {
			v := s(c)
			for _, it := range l.get(c) {
				if it == v {
					return true
				}
			}
			return false
		}, true
	case "startsWith", "endsWith", "contains":
		if !call.IsMemberFunction() || len(args) != 2 {
			return nil, false
		}
		a, ok1 := fc.str(args[0])
		b, ok2 := fc.str(args[1])
		if !ok1 || !ok2 {
			return nil, false
		}
		switch call.FunctionName() {
		case "startsWith":
			return func(c *evalCtx) bool { return strings.HasPrefix(a(c), b(c)) }, true
		case "endsWith":
			return func(c *evalCtx) bool { return strings.HasSuffix(a(c), b(c)) }, true
		}
		return func(c *evalCtx) bool { return strings.Contains(a(c), b(c)) }, true
	case "matches":
		if len(args) != 2 || args[1].Kind() != celast.LiteralKind {
			return nil, false
		}
		a, ok := fc.str(args[0])
		pat, isStr := args[1].AsLiteral().(types.String)
		if !ok || !isStr {
			return nil, false
		}
		re, err := compileMatch(string(pat))
		if err != nil {
			return nil, false
		}
		return func(c *evalCtx) bool { return re.MatchString(a(c)) }, true
	case "glob", "domain_in", "cidr_match":
		if len(args) != 2 {
			return nil, false
		}
		if call.FunctionName() == "domain_in" && isType(fc.typeOf(args[0]), listOfString) {
			a, ok1 := fc.list(args[0])
			b, ok2 := fc.list(args[1])
			if !ok1 || !ok2 {
				return nil, false
			}
			if b.constant != nil {
				ds := newDomainSet(b.constant)
				return func(c *evalCtx) bool {
					for _, s := range a.get(c) {
						if ds.contains(s) {
							return true
						}
					}
					return false
				}, true
			}
			return func(c *evalCtx) bool {
				l := b.get(c)
				for _, s := range a.get(c) {
					if domainIn(s, l) {
						return true
					}
				}
				return false
			}, true
		}
		a, ok := fc.str(args[0])
		if !ok {
			return nil, false
		}
		var l listFn
		if isType(fc.typeOf(args[1]), cel.StringType) {
			b, ok := fc.str(args[1])
			if !ok {
				return nil, false
			}
			l = listFn{get: func(c *evalCtx) []string { return []string{b(c)} }}
			if args[1].Kind() == celast.LiteralKind {
				lit, _ := args[1].AsLiteral().(types.String)
				v := []string{string(lit)}
				l = listFn{get: func(*evalCtx) []string { return v }, constant: v}
			}
		} else {
			l, ok = fc.list(args[1])
			if !ok {
				return nil, false
			}
		}
		switch call.FunctionName() {
		case "glob":
			if l.constant != nil {
				globs := make([]compiledGlob, len(l.constant))
				for i, p := range l.constant {
					globs[i] = compileGlob(p)
				}
				return func(c *evalCtx) bool {
					v := a(c)
					for i := range globs {
						if globs[i].match(v) {
							return true
						}
					}
					return false
				}, true
			}
			return func(c *evalCtx) bool {
				v := a(c)
				for _, p := range l.get(c) {
					if globMatch(v, p) {
						return true
					}
				}
				return false
			}, true
		case "domain_in":
			if l.constant != nil {
				ds := newDomainSet(l.constant)
				return func(c *evalCtx) bool { return ds.contains(a(c)) }, true
			}
			return func(c *evalCtx) bool { return domainIn(a(c), l.get(c)) }, true
		}
		return func(c *evalCtx) bool { return cidrMatch(a(c), l.get(c)) }, true
	case "contains_any":
		if len(args) != 2 {
			return nil, false
		}
		b, ok := fc.list(args[1])
		if !ok {
			return nil, false
		}
		if isType(fc.typeOf(args[0]), listOfString) {
			a, ok := fc.list(args[0])
			if !ok {
				return nil, false
			}
			return func(c *evalCtx) bool {
				subs := b.get(c)
				for _, s := range a.get(c) {
					if containsAny(s, subs) {
						return true
					}
				}
				return false
			}, true
		}
		a, ok := fc.str(args[0])
		if !ok {
			return nil, false
		}
		return func(c *evalCtx) bool { return containsAny(a(c), b.get(c)) }, true
	case "any_in":
		if len(args) != 2 {
			return nil, false
		}
		a, ok1 := fc.list(args[0])
		b, ok2 := fc.list(args[1])
		if !ok1 || !ok2 {
			return nil, false
		}
		return func(c *evalCtx) bool {
			items := b.get(c)
			for _, x := range a.get(c) {
				if b.set != nil {
					if _, ok := b.set[x]; ok {
						return true
					}
					continue
				}
				for _, y := range items {
					if x == y {
						return true
					}
				}
			}
			return false
		}, true
	}
	return nil, false
}

func (fc *fastCompiler) compare(op string, l, r celast.Expr) (boolFn, bool) {
	lt, rt := fc.typeOf(l), fc.typeOf(r)
	// A dyn operand (a number from bundle data) takes the other side's type
	// when its value has exactly that type; a mixed int/double comparison
	// stays in the interpreter.
	if isType(rt, cel.DynType) {
		rt = fc.dataNumberType(r, lt)
	}
	if isType(lt, cel.DynType) {
		lt = fc.dataNumberType(l, rt)
	}
	switch {
	case isType(lt, cel.StringType) && isType(rt, cel.StringType):
		a, ok1 := fc.str(l)
		b, ok2 := fc.str(r)
		if !ok1 || !ok2 {
			return nil, false
		}
		return cmpFn(op, a, b)
	case isType(lt, cel.IntType) && isType(rt, cel.IntType):
		a, ok1 := fc.integer(l)
		b, ok2 := fc.integer(r)
		if !ok1 || !ok2 {
			return nil, false
		}
		return cmpFn(op, a, b)
	case isType(lt, cel.DoubleType) && isType(rt, cel.DoubleType):
		a, ok1 := fc.double(l)
		b, ok2 := fc.double(r)
		if !ok1 || !ok2 {
			return nil, false
		}
		return cmpFn(op, a, b)
	case isType(lt, cel.BoolType) && isType(rt, cel.BoolType) && (op == "_==_" || op == "_!=_"):
		a, ok1 := fc.boolean(l)
		b, ok2 := fc.boolean(r)
		if !ok1 || !ok2 {
			return nil, false
		}
		if op == "_==_" {
			return func(c *evalCtx) bool { return a(c) == b(c) }, true
		}
		return func(c *evalCtx) bool { return a(c) != b(c) }, true
	}
	return nil, false
}

func cmpFn[T string | int64 | float64](op string, a, b func(*evalCtx) T) (boolFn, bool) {
	switch op {
	case "_==_":
		return func(c *evalCtx) bool { return a(c) == b(c) }, true
	case "_!=_":
		return func(c *evalCtx) bool { return a(c) != b(c) }, true
	case "_<_":
		return func(c *evalCtx) bool { return a(c) < b(c) }, true
	case "_<=_":
		return func(c *evalCtx) bool { return a(c) <= b(c) }, true
	case "_>_":
		return func(c *evalCtx) bool { return a(c) > b(c) }, true
	case "_>=_":
		return func(c *evalCtx) bool { return a(c) >= b(c) }, true
	}
	return nil, false
}

func (fc *fastCompiler) str(e celast.Expr) (strFn, bool) {
	switch e.Kind() {
	case celast.LiteralKind:
		return leaf(fc, e, kindString, (*field).str, celString)
	case celast.IdentKind, celast.SelectKind:
		if name, ok := fc.varName(e); ok && name == "tz" {
			return func(c *evalCtx) string { return c.tz }, true
		}
		return leaf(fc, e, kindString, (*field).str, celString)
	case celast.CallKind:
		call := e.AsCall()
		args := call.Args()
		if call.IsMemberFunction() {
			args = append([]celast.Expr{call.Target()}, args...)
		}
		if len(args) != 1 {
			return nil, false
		}
		a, ok := fc.str(args[0])
		if !ok {
			return nil, false
		}
		switch call.FunctionName() {
		case "domain":
			return func(c *evalCtx) string { return domainOf(a(c)) }, true
		case "base_domain":
			return func(c *evalCtx) string { return baseDomain(a(c)) }, true
		case "lowerAscii":
			return func(c *evalCtx) string { return lowerASCII(a(c)) }, true
		case "local_part":
			return func(c *evalCtx) string { return localPart(a(c)) }, true
		}
	}
	return nil, false
}

func lowerASCII(s string) string {
	if !utf8.ValidString(s) {
		// Like cel-go, read every invalid byte as U+FFFD.
		s = string([]rune(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func (fc *fastCompiler) integer(e celast.Expr) (intFn, bool) {
	switch e.Kind() {
	case celast.LiteralKind, celast.IdentKind, celast.SelectKind:
		return leaf(fc, e, kindInt, (*field).integer, celInt)
	case celast.CallKind:
		call := e.AsCall()
		args := call.Args()
		if call.IsMemberFunction() {
			args = append([]celast.Expr{call.Target()}, args...)
		}
		switch call.FunctionName() {
		case "size":
			if len(args) != 1 {
				return nil, false
			}
			if isType(fc.typeOf(args[0]), cel.StringType) {
				// CEL counts code points, not bytes.
				s, ok := fc.str(args[0])
				if !ok {
					return nil, false
				}
				return func(c *evalCtx) int64 { return int64(len([]rune(s(c)))) }, true
			}
			if isType(fc.typeOf(args[0]), listOfString) {
				l, ok := fc.list(args[0])
				if !ok {
					return nil, false
				}
				return func(c *evalCtx) int64 { return int64(len(l.get(c))) }, true
			}
		case "local_hour", "local_weekday":
			if len(args) != 2 {
				return nil, false
			}
			t, ok1 := fc.timestamp(args[0])
			z, ok2 := fc.str(args[1])
			if !ok1 || !ok2 {
				return nil, false
			}
			if call.FunctionName() == "local_hour" {
				return func(c *evalCtx) int64 { return localHour(t(c), z(c)) }, true
			}
			return func(c *evalCtx) int64 { return localWeekday(t(c), z(c)) }, true
		case "days_until":
			if len(args) != 2 {
				return nil, false
			}
			d, ok1 := fc.str(args[0])
			t, ok2 := fc.timestamp(args[1])
			if !ok1 || !ok2 {
				return nil, false
			}
			return func(c *evalCtx) int64 { return daysUntil(d(c), t(c)) }, true
		}
	}
	return nil, false
}

func (fc *fastCompiler) double(e celast.Expr) (dblFn, bool) {
	return leaf(fc, e, kindFloat, (*field).float, celDouble)
}

func (fc *fastCompiler) timestamp(e celast.Expr) (tsFn, bool) {
	name, ok := fc.varName(e)
	if !ok {
		return nil, false
	}
	if f, ok := fieldsByCEL[name]; ok && f.kind == kindTime {
		return func(c *evalCtx) time.Time { return f.time(c.e) }, true
	}
	return nil, false
}

func (fc *fastCompiler) list(e celast.Expr) (listFn, bool) {
	if !isType(fc.typeOf(e), listOfString) {
		return listFn{}, false
	}
	switch e.Kind() {
	case celast.ListKind:
		l := e.AsList()
		if len(l.OptionalIndices()) > 0 {
			return listFn{}, false
		}
		items := make([]string, 0, len(l.Elements()))
		for _, el := range l.Elements() {
			if el.Kind() != celast.LiteralKind {
				return listFn{}, false
			}
			s, ok := el.AsLiteral().(types.String)
			if !ok {
				return listFn{}, false
			}
			items = append(items, string(s))
		}
		set := make(map[string]struct{}, len(items))
		for _, it := range items {
			set[it] = struct{}{}
		}
		return listFn{get: func(*evalCtx) []string { return items }, set: set, constant: items}, true
	case celast.IdentKind, celast.SelectKind:
		name, ok := fc.varName(e)
		if !ok {
			return listFn{}, false
		}
		if f, ok := fieldsByCEL[name]; ok && f.kind == kindStrings {
			return listFn{get: func(c *evalCtx) []string { return f.strings(c.e) }}, true
		}
		if dv, ok := fc.env.data[name]; ok && dv.strings != nil || ok && dv.isList && dv.typ.IsExactType(listOfString) {
			items := dv.strings
			ss, ok := dv.val.(*stringSet)
			if !ok {
				return listFn{}, false
			}
			set := ss.set
			return listFn{get: func(*evalCtx) []string { return items }, set: set, constant: items}, true
		}
	}
	return listFn{}, false
}

// dataNumberType returns want when e is a bundle data number of exactly
// that CEL type, else e's own type.
func (fc *fastCompiler) dataNumberType(e celast.Expr, want *types.Type) *types.Type {
	own := fc.typeOf(e)
	name, ok := fc.varName(e)
	if !ok {
		return own
	}
	dv, ok := fc.env.data[name]
	if !ok {
		return own
	}
	switch dv.val.(type) {
	case types.Int:
		if isType(want, cel.IntType) {
			return want
		}
	case types.Double:
		if isType(want, cel.DoubleType) {
			return want
		}
	}
	return own
}
