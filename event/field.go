package event

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownField is matched by the error NewAccessor and its typed
// variants return for a path that names no field of the schema.
var ErrUnknownField = errors.New("unknown field")

// FieldType is the type of the values a field holds, as accessors return
// them.
type FieldType uint8

// Field types. Fields of the objects in a list (email.attachments.name)
// have the list form of their type.
const (
	FieldString  FieldType = iota + 1 // string
	FieldInt                          // int64
	FieldFloat                        // float64
	FieldBool                         // bool
	FieldTime                         // time.Time
	FieldStrings                      // []string
	FieldInts                         // []int64
)

// String returns the type's name in the JSON Schema's terms: "string",
// "integer", "number", "boolean", "timestamp", "array of strings" or
// "array of integers".
func (t FieldType) String() string {
	switch t {
	case FieldString:
		return "string"
	case FieldInt:
		return "integer"
	case FieldFloat:
		return "number"
	case FieldBool:
		return "boolean"
	case FieldTime:
		return "timestamp"
	case FieldStrings:
		return "array of strings"
	case FieldInts:
		return "array of integers"
	}
	return "FieldType(" + strconv.Itoa(int(t)) + ")"
}

// FieldInfo describes one leaf field of the schema.
type FieldInfo struct {
	// Path is the ECS dotted path, such as "file.path". "labels.*" stands
	// for every label: the accessor path names the key, as in
	// "labels.cost_center".
	Path string
	// Type is the type of the field's values.
	Type FieldType
	// Description says what the field holds.
	Description string
}

// labelsPrefix starts the paths of labels, which name the label's key.
const labelsPrefix = "labels."

// fieldList is every leaf field in schema order; fieldsByPath indexes it.
var (
	fieldList    = collectFields(eventPlan, "", false)
	fieldsByPath = func() map[string]int {
		m := make(map[string]int, len(fieldList))
		for i, f := range fieldList {
			m[f.Path] = i
		}
		return m
	}()
	fieldPathList = func() []string {
		out := make([]string, len(fieldList))
		for i, f := range fieldList {
			out[i] = f.Path
		}
		return out
	}()
)

func collectFields(p *structPlan, prefix string, inList bool) []FieldInfo {
	var out []FieldInfo
	for _, f := range p.fields {
		path := joinPath(prefix, f.name)
		leaf := f
		if f.kind == kindPtr {
			leaf = f.elem
		}
		var t FieldType
		switch leaf.kind {
		case kindStruct:
			out = append(out, collectFields(leaf.plan, path, inList)...)
			continue
		case kindSlice:
			out = append(out, collectFields(leaf.plan, path, true)...)
			continue
		case kindStringMap:
			path += ".*"
			t = FieldString
		case kindString:
			t = FieldString
		case kindInt:
			t = FieldInt
		case kindFloat:
			t = FieldFloat
		case kindBool:
			t = FieldBool
		case kindTime:
			t = FieldTime
		case kindStrings:
			t = FieldStrings
		}
		if inList {
			switch t {
			case FieldString:
				t = FieldStrings
			case FieldInt:
				t = FieldInts
			default:
				panic("event: unsupported field type in a list at " + path)
			}
		}
		out = append(out, FieldInfo{Path: path, Type: t, Description: fieldDocs[path]})
	}
	return out
}

// Fields returns every leaf field of the schema, in schema order.
func Fields() []FieldInfo {
	return append([]FieldInfo(nil), fieldList...)
}

// FieldPaths returns the path of every leaf field, in schema order, from
// "@timestamp" to "agent.bundle_revision". The JSON Schema and the
// documentation list exactly these fields.
func FieldPaths() []string {
	return append([]string(nil), fieldPathList...)
}

// LookupField describes the field at path. Label paths ("labels.<key>")
// resolve to the "labels.*" entry.
func LookupField(path string) (FieldInfo, bool) {
	if i, ok := fieldsByPath[path]; ok {
		return fieldList[i], true
	}
	if key, ok := strings.CutPrefix(path, labelsPrefix); ok && key != "" {
		return fieldList[fieldsByPath[labelsPrefix+"*"]], true
	}
	return FieldInfo{}, false
}

// unknownField is the error for a path that names no field.
func unknownField(path string) error {
	if path == "labels" || path == labelsPrefix+"*" {
		return fmt.Errorf("%w %q: name a label, as in \"labels.cost_center\"", ErrUnknownField, path)
	}
	return fmt.Errorf("%w %q%s", ErrUnknownField, path, didYouMean(path, fieldPathList))
}

// Accessor reads one field of an event. It returns the value and true, or
// nil and false when the field is absent: a field set on the way is nil, a
// string or list is empty, a time is zero or an optional value (such as
// process.exit_code) is unset. Numbers and booleans of a present field set
// are returned even when zero. Values are string, int64, float64, bool,
// time.Time, []string or []int64, as FieldInfo.Type says; lists may share
// memory with the event and must not be modified. A nil event has no
// fields.
type Accessor func(e *Event) (any, bool)

// StringAccessor reads a string field without allocating.
type StringAccessor func(e *Event) (string, bool)

// IntAccessor reads an integer field without allocating.
type IntAccessor func(e *Event) (int64, bool)

// NewAccessor returns the accessor for the field at path, an ECS dotted
// path such as "file.path", "@timestamp" or "labels.cost_center". Build it
// once (when a rule compiles) and call it per event: it does no reflection
// and no lookup. An unknown path is an error matching ErrUnknownField that
// suggests the nearest known path.
//
// Converting a string or a large integer to any allocates; the typed
// accessors (NewStringAccessor, NewIntAccessor) avoid that on hot paths.
func NewAccessor(path string) (Accessor, error) {
	if key, ok := labelKey(path); ok {
		return func(e *Event) (any, bool) {
			if e == nil {
				return nil, false
			}
			v := e.Labels[key]
			if v == "" {
				return nil, false
			}
			return v, true
		}, nil
	}
	g, ok := lookupGetter(path)
	if !ok {
		return nil, unknownField(path)
	}
	switch g.typ {
	case FieldString:
		return wrap(g.str), nil
	case FieldInt:
		return wrap(g.i64), nil
	case FieldFloat:
		return wrap(g.f64), nil
	case FieldBool:
		return wrap(g.b), nil
	case FieldTime:
		return wrap(g.t), nil
	case FieldStrings:
		return wrap(g.strs), nil
	case FieldInts:
		return wrap(g.ints), nil
	}
	return nil, fmt.Errorf("field %q: no accessor for type %v", path, g.typ)
}

func wrap[T any](get func(*Event) (T, bool)) Accessor {
	return func(e *Event) (any, bool) {
		v, ok := get(e)
		if !ok {
			return nil, false
		}
		return v, true
	}
}

// NewStringAccessor returns the accessor for the string field at path, or
// an error if the path is unknown or not a string field.
func NewStringAccessor(path string) (StringAccessor, error) {
	if key, ok := labelKey(path); ok {
		return func(e *Event) (string, bool) {
			if e == nil {
				return "", false
			}
			v := e.Labels[key]
			return v, v != ""
		}, nil
	}
	g, ok := lookupGetter(path)
	if !ok {
		return nil, unknownField(path)
	}
	if g.typ != FieldString {
		return nil, fmt.Errorf("field %q holds %v, not string", path, g.typ)
	}
	return g.str, nil
}

// NewIntAccessor returns the accessor for the integer field at path, or an
// error if the path is unknown or not an integer field.
func NewIntAccessor(path string) (IntAccessor, error) {
	g, ok := lookupGetter(path)
	if !ok {
		if _, isLabel := labelKey(path); isLabel {
			return nil, fmt.Errorf("field %q holds string, not integer", path)
		}
		return nil, unknownField(path)
	}
	if g.typ != FieldInt {
		return nil, fmt.Errorf("field %q holds %v, not integer", path, g.typ)
	}
	return g.i64, nil
}

// labelKey returns the key a "labels.<key>" path names.
func labelKey(path string) (string, bool) {
	key, ok := strings.CutPrefix(path, labelsPrefix)
	return key, ok && key != "" && key != "*"
}

// getter holds the typed read function of one field; the generated
// lookupGetter returns it.
type getter struct {
	typ  FieldType
	str  func(*Event) (string, bool)
	i64  func(*Event) (int64, bool)
	f64  func(*Event) (float64, bool)
	b    func(*Event) (bool, bool)
	t    func(*Event) (time.Time, bool)
	strs func(*Event) ([]string, bool)
	ints func(*Event) ([]int64, bool)
}
