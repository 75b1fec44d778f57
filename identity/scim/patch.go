package scim

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// patchPath is the path of a PATCH operation (RFC 7644 section 3.5.2):
// `attrPath` or `attrPath[valFilter]` optionally followed by `.subAttr`.
type patchPath struct {
	attrPath
	// filter selects elements of a multi-valued attribute; nil when the
	// path has none.
	filter Filter
}

func (p patchPath) String() string {
	if p.filter == nil {
		return p.attrPath.String()
	}
	s := attrPath{URN: p.URN, Attr: p.Attr}.String() + "[" + p.filter.String() + "]"
	if p.Sub != "" {
		s += "." + p.Sub
	}
	return s
}

// parsePatchPath parses a PATCH path. Errors wrap errInvalidPath.
func parsePatchPath(s string) (patchPath, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return patchPath{}, fmt.Errorf("%w: empty", errInvalidPath)
	}
	if len(s) > maxFilterLen {
		return patchPath{}, fmt.Errorf("%w: longer than %d bytes", errInvalidPath, maxFilterLen)
	}
	open := strings.IndexByte(s, '[')
	if open < 0 {
		p, err := parseAttrPath(s)
		if err != nil {
			return patchPath{}, fmt.Errorf("%w: %v", errInvalidPath, err) //nolint:errorlint // the detail is text; the kind is errInvalidPath
		}
		return patchPath{attrPath: p}, nil
	}
	head, err := parseAttrPath(s[:open])
	if err != nil {
		return patchPath{}, fmt.Errorf("%w: %v", errInvalidPath, err) //nolint:errorlint // as above
	}
	if head.Sub != "" {
		return patchPath{}, fmt.Errorf("%w: %q: a value filter applies to an attribute, not a sub-attribute", errInvalidPath, s)
	}
	// Find the ']' that closes the filter, skipping quoted strings.
	closing, inString := -1, false
	for i := open + 1; i < len(s) && closing < 0; i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && c == ']':
			closing = i
		}
	}
	if closing < 0 {
		return patchPath{}, fmt.Errorf("%w: %q: '[' is not closed", errInvalidPath, s)
	}
	f, err := ParseFilter(s[open+1 : closing])
	if err != nil {
		return patchPath{}, fmt.Errorf("%w: %q: %w", errInvalidPath, s, err)
	}
	p := patchPath{attrPath: head, filter: f}
	if rest := s[closing+1:]; rest != "" {
		sub, ok := strings.CutPrefix(rest, ".")
		if !ok || !validAttrName(sub) {
			return patchPath{}, fmt.Errorf("%w: %q: want .subAttribute after ']', got %q", errInvalidPath, s, rest)
		}
		p.Sub = sub
	}
	return p, nil
}

// patchOp is one operation of a PatchOp request. encoding/json matches the
// field names ignoring case, so "Op", "op" and "OP" all work.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// patchRequest is the body of a PATCH.
type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

// scimError is a failure with its SCIM status and scimType.
type scimError struct {
	status   int
	scimType string
	detail   string
}

func (e *scimError) Error() string { return e.detail }

func badRequest(scimType, format string, args ...any) error {
	return &scimError{status: 400, scimType: scimType, detail: fmt.Sprintf(format, args...)}
}

// multiValued lists the multi-valued attributes of the User and Group
// schemas: a single value added to one becomes a one-element list.
var multiValued = map[string]bool{
	"emails": true, "phoneNumbers": true, "ims": true, "photos": true, "addresses": true, "groups": true,
	"entitlements": true, "roles": true, "x509Certificates": true, "members": true, "schemas": true,
}

// readOnly lists attributes a client's add or replace without a path
// cannot change; they are skipped silently, as RFC 7644 allows (Okta sends
// the id along with a group rename).
var readOnly = map[string]bool{"id": true, "meta": true, "schemas": true, "groups": true}

// applyPatch applies one operation to res, in place. Errors are
// *scimError.
func applyPatch(res map[string]any, op patchOp) error {
	kind := strings.ToLower(strings.TrimSpace(op.Op))
	switch kind {
	case "add", "replace":
	case "remove":
		if op.Path == "" {
			return badRequest("noTarget", "remove: a path is required")
		}
	default:
		return badRequest("invalidSyntax", "op %q: want add, replace or remove", op.Op)
	}
	if op.Path == "" {
		m, ok := op.Value.(map[string]any)
		if !ok {
			return badRequest("invalidValue", "%s without a path: value must be an object of attributes", kind)
		}
		for k, v := range m {
			if isURN(k) {
				if ext, isObj := v.(map[string]any); isObj {
					for sk, sv := range ext {
						if err := applyPath(res, k+":"+sk, sv, kind); err != nil {
							return err
						}
					}
					continue
				}
			}
			if readOnly[canonicalName(k)] {
				continue
			}
			if err := applyPath(res, k, v, kind); err != nil {
				return err
			}
		}
		return nil
	}
	if kind == "remove" {
		p, err := parsePatchPath(op.Path)
		if err != nil {
			return badRequest("invalidPath", "%v", err)
		}
		return removeAt(res, p, op.Value)
	}
	return applyPath(res, op.Path, op.Value, kind)
}

func isURN(s string) bool { return len(s) > 4 && strings.EqualFold(s[:4], "urn:") }

func applyPath(res map[string]any, path string, v any, kind string) error {
	p, err := parsePatchPath(path)
	if err != nil {
		return badRequest("invalidPath", "%v", err)
	}
	if p.URN == "" && p.filter == nil && p.Sub == "" && readOnly[canonicalName(p.Attr)] {
		return badRequest("mutability", "attribute %q cannot be changed", p.Attr)
	}
	return setAt(res, p, deepCopy(v), kind == "replace")
}

// setAt adds or replaces the value at p.
func setAt(res map[string]any, p patchPath, v any, replace bool) error {
	c := container(res, p.URN, true)
	name := canonicalName(p.Attr)
	cur, _, exists := getCI(c, name)
	if p.filter == nil {
		if p.Sub != "" {
			sub := canonicalName(p.Sub)
			switch x := cur.(type) {
			case map[string]any:
				setCI(x, sub, v)
			case []any:
				each(x, func(e map[string]any) { setCI(e, sub, v) })
			default:
				setCI(c, name, map[string]any{sub: v})
			}
			return nil
		}
		if multiValued[name] {
			list, isList := v.([]any)
			if !isList {
				list = []any{v}
			}
			if replace || !exists {
				setCI(c, name, list)
				return nil
			}
			old, _ := cur.([]any)
			setCI(c, name, appendUnique(old, list))
			return nil
		}
		if old, isMap := cur.(map[string]any); isMap {
			if nv, ok := v.(map[string]any); ok {
				for k, sv := range nv {
					setCI(old, canonicalName(k), sv)
				}
				return nil
			}
		}
		setCI(c, name, v)
		return nil
	}
	list, _ := cur.([]any)
	matched := false
	for i, e := range list {
		elem, ok := e.(map[string]any)
		if !ok || !p.filter.match(elem) {
			continue
		}
		matched = true
		switch {
		case p.Sub != "":
			setCI(elem, canonicalName(p.Sub), v)
		case replace:
			list[i] = v
		default:
			if nv, ok := v.(map[string]any); ok {
				for k, sv := range nv {
					setCI(elem, canonicalName(k), sv)
				}
			}
		}
	}
	if matched {
		return nil
	}
	// Nothing matched: create the element the filter describes, as Entra
	// ID expects of `replace emails[type eq "work"].value`.
	elem, ok := eqAttributes(p.filter)
	if !ok {
		return badRequest("noTarget", "path %q matches no value", p.String())
	}
	if p.Sub != "" {
		elem[canonicalName(p.Sub)] = v
	} else if nv, isMap := v.(map[string]any); isMap {
		for k, sv := range nv {
			elem[canonicalName(k)] = sv
		}
	} else {
		return badRequest("invalidValue", "path %q: value must be an object", p.String())
	}
	setCI(c, name, append(list, elem))
	return nil
}

// eqAttributes returns the attributes an `a eq "x" and b eq "y"` filter
// pins down, or false for any other filter.
func eqAttributes(f Filter) (map[string]any, bool) {
	out := map[string]any{}
	var walk func(Filter) bool
	walk = func(f Filter) bool {
		switch x := f.(type) {
		case *compareFilter:
			if x.op != "eq" || x.path.URN != "" || x.path.Sub != "" {
				return false
			}
			out[canonicalName(x.path.Attr)] = x.value
			return true
		case *logicalFilter:
			return x.and && walk(x.left) && walk(x.right)
		}
		return false
	}
	return out, walk(f)
}

// appendUnique appends the values of add not already in list: objects
// with a "value" are the same when their values are; others when equal.
func appendUnique(list, add []any) []any {
	out := append([]any(nil), list...)
	for _, a := range add {
		dup := false
		for _, e := range out {
			if sameValue(e, a) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, a)
		}
	}
	return out
}

func sameValue(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		av, _, ah := getCI(am, "value")
		bv, _, bh := getCI(bm, "value")
		if ah && bh {
			return reflect.DeepEqual(av, bv)
		}
	}
	return reflect.DeepEqual(a, b)
}

// removeAt removes the value at p. value, when given for a multi-valued
// attribute without a filter, names the elements to remove (Entra ID
// removes group members that way).
func removeAt(res map[string]any, p patchPath, value any) error {
	c := container(res, p.URN, false)
	if c == nil {
		return nil
	}
	cur, key, exists := getCI(c, p.Attr)
	if !exists {
		return nil
	}
	list, isList := cur.([]any)
	switch {
	case p.filter == nil && p.Sub == "" && isList && value != nil:
		drop, ok := value.([]any)
		if !ok {
			drop = []any{value}
		}
		kept := list[:0:0]
		for _, e := range list {
			remove := false
			for _, d := range drop {
				if sameValue(e, d) {
					remove = true
					break
				}
			}
			if !remove {
				kept = append(kept, e)
			}
		}
		c[key] = kept
	case p.filter == nil && p.Sub == "":
		delete(c, key)
	case p.filter == nil:
		each(cur, func(e map[string]any) { deleteCI(e, p.Sub) })
	default:
		if !isList {
			return badRequest("noTarget", "path %q: %q is not multi-valued", p.String(), p.Attr)
		}
		kept := list[:0:0]
		for _, e := range list {
			elem, ok := e.(map[string]any)
			if !ok || !p.filter.match(elem) {
				kept = append(kept, e)
				continue
			}
			if p.Sub != "" {
				deleteCI(elem, p.Sub)
				kept = append(kept, elem)
			}
		}
		c[key] = kept
	}
	return nil
}

// asSCIMError returns err as a *scimError, or nil.
func asSCIMError(err error) *scimError {
	var se *scimError
	if errors.As(err, &se) {
		return se
	}
	return nil
}
