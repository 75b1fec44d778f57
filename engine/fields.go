package engine

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/vigil-itm/vigil/event"
)

// fieldKind is the Go shape of an event field, which decides its CEL type and
// how it is read without allocation.
type fieldKind int

const (
	kindString fieldKind = iota
	kindInt
	kindFloat
	kindBool
	kindStrings
	kindTime
	kindIntPtr
	kindTimePtr
	kindStringMap
	kindObjects
)

// field is one leaf of the event schema, addressable by its ECS dotted path.
type field struct {
	path  string // ECS path, e.g. "file.size"
	ident string // CEL identifier: path, except "@timestamp" → "timestamp"
	kind  fieldKind
	index [][]int // reflect field indexes through pointer hops
}

var (
	eventType    = reflect.TypeFor[event.Event]()
	timeType     = reflect.TypeFor[time.Time]()
	fieldsByPath map[string]*field
	fieldsByCEL  map[string]*field
	fieldList    []*field
)

func init() {
	fieldsByPath = map[string]*field{}
	fieldsByCEL = map[string]*field{}
	walkFields(eventType, "", nil)
	sort.Slice(fieldList, func(i, j int) bool { return fieldList[i].path < fieldList[j].path })
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name
}

// walkFields records every leaf below t. hops holds the index path so far,
// one slice per pointer dereference.
func walkFields(t reflect.Type, prefix string, hops [][]int) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() || sf.Tag.Get("json") == "-" {
			continue
		}
		path := jsonName(sf)
		if prefix != "" {
			path = prefix + "." + path
		}
		idx := cloneHops(hops)
		idx[len(idx)-1] = append(idx[len(idx)-1], i)
		ft := sf.Type
		switch {
		case ft == timeType:
			addField(path, kindTime, idx)
		case ft.Kind() == reflect.Pointer && ft.Elem() == timeType:
			addField(path, kindTimePtr, idx)
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Int64:
			addField(path, kindIntPtr, idx)
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Bool:
			// Optional booleans read as false when absent.
			addField(path, kindBool, append(idx, []int{}))
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			walkFields(ft.Elem(), path, append(idx, []int{}))
		case ft.Kind() == reflect.Struct:
			walkFields(ft, path, idx)
		case ft.Kind() == reflect.String:
			addField(path, kindString, idx)
		case ft.Kind() == reflect.Int64:
			addField(path, kindInt, idx)
		case ft.Kind() == reflect.Float64:
			addField(path, kindFloat, idx)
		case ft.Kind() == reflect.Bool:
			addField(path, kindBool, idx)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			addField(path, kindStrings, idx)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			addField(path, kindObjects, idx)
		case ft.Kind() == reflect.Map:
			addField(path, kindStringMap, idx)
		default:
			panic(fmt.Sprintf("engine: event field %s has unsupported type %s", path, ft))
		}
	}
}

func cloneHops(h [][]int) [][]int {
	if len(h) == 0 {
		return [][]int{nil}
	}
	out := make([][]int, len(h))
	for i := range h {
		out[i] = append([]int(nil), h[i]...)
	}
	return out
}

func addField(path string, k fieldKind, idx [][]int) {
	ident := path
	if path == "@timestamp" {
		ident = "timestamp"
	}
	f := &field{path: path, ident: ident, kind: k, index: idx}
	fieldList = append(fieldList, f)
	fieldsByPath[path] = f
	fieldsByCEL[ident] = f
}

// lookupField finds a field by ECS path or CEL identifier.
func lookupField(path string) (*field, error) {
	if f, ok := fieldsByPath[path]; ok {
		return f, nil
	}
	if f, ok := fieldsByCEL[path]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("unknown event field %q%s", path, suggest(path, fieldPaths()))
}

func fieldPaths() []string {
	out := make([]string, len(fieldList))
	for i, f := range fieldList {
		out[i] = f.path
	}
	return out
}

// value returns the reflect.Value of the field in e, and false when a field
// set on the way is absent.
func (f *field) value(e *event.Event) (reflect.Value, bool) {
	v := reflect.ValueOf(e).Elem()
	for i, hop := range f.index {
		if i > 0 {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		for _, j := range hop {
			v = v.Field(j)
		}
	}
	if f.kind == kindIntPtr || f.kind == kindTimePtr {
		if v.IsNil() {
			return reflect.Value{}, false
		}
		v = v.Elem()
	}
	return v, true
}

func (f *field) str(e *event.Event) string {
	v, ok := f.value(e)
	if !ok {
		return ""
	}
	return v.String()
}

func (f *field) integer(e *event.Event) int64 {
	v, ok := f.value(e)
	if !ok {
		return 0
	}
	return v.Int()
}

func (f *field) float(e *event.Event) float64 {
	v, ok := f.value(e)
	if !ok {
		return 0
	}
	return v.Float()
}

func (f *field) boolean(e *event.Event) bool {
	v, ok := f.value(e)
	if !ok {
		return false
	}
	return v.Bool()
}

func (f *field) strings(e *event.Event) []string {
	v, ok := f.value(e)
	if !ok || v.IsNil() {
		return nil
	}
	s, _ := v.Interface().([]string)
	return s
}

func (f *field) time(e *event.Event) time.Time {
	v, ok := f.value(e)
	if !ok {
		return time.Time{}
	}
	t, _ := v.Interface().(time.Time)
	return t
}

// number reads a numeric field as float64, for sums and baselines.
func (f *field) number(e *event.Event) float64 {
	switch f.kind {
	case kindInt, kindIntPtr:
		return float64(f.integer(e))
	case kindFloat:
		return f.float(e)
	case kindBool:
		if f.boolean(e) {
			return 1
		}
	case kindStrings, kindObjects:
		v, ok := f.value(e)
		if ok {
			return float64(v.Len())
		}
	}
	return 0
}

// text reads any field as a string, for window keys and distinct values.
func (f *field) text(e *event.Event) string {
	switch f.kind {
	case kindString:
		return f.str(e)
	case kindInt, kindIntPtr:
		v, ok := f.value(e)
		if !ok {
			return ""
		}
		return fmt.Sprint(v.Int())
	case kindFloat:
		return fmt.Sprint(f.float(e))
	case kindBool:
		return fmt.Sprint(f.boolean(e))
	case kindStrings:
		return strings.Join(f.strings(e), ",")
	case kindTime, kindTimePtr:
		t := f.time(e)
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	v, ok := f.value(e)
	if !ok {
		return ""
	}
	return fmt.Sprint(v.Interface())
}

func (f *field) celType() *cel.Type {
	switch f.kind {
	case kindString:
		return cel.StringType
	case kindInt, kindIntPtr:
		return cel.IntType
	case kindFloat:
		return cel.DoubleType
	case kindBool:
		return cel.BoolType
	case kindStrings:
		return cel.ListType(cel.StringType)
	case kindTime, kindTimePtr:
		return cel.TimestampType
	case kindStringMap:
		return cel.MapType(cel.StringType, cel.StringType)
	}
	return cel.ListType(cel.MapType(cel.StringType, cel.DynType))
}

var emptyStringList = types.NewStringList(types.DefaultTypeAdapter, nil)

// celValue reads the field as a CEL value.
func (f *field) celValue(e *event.Event) ref.Val {
	switch f.kind {
	case kindString:
		return types.String(f.str(e))
	case kindInt, kindIntPtr:
		return types.Int(f.integer(e))
	case kindFloat:
		return types.Double(f.float(e))
	case kindBool:
		return types.Bool(f.boolean(e))
	case kindStrings:
		s := f.strings(e)
		if len(s) == 0 {
			return emptyStringList
		}
		return types.NewStringList(types.DefaultTypeAdapter, s)
	case kindTime, kindTimePtr:
		return types.Timestamp{Time: f.time(e)}
	case kindStringMap:
		v, ok := f.value(e)
		if !ok || v.IsNil() {
			return types.DefaultTypeAdapter.NativeToValue(map[string]string{})
		}
		return types.DefaultTypeAdapter.NativeToValue(v.Interface())
	}
	// Lists of objects (email.attachments) become lists of maps keyed by
	// their JSON names.
	v, ok := f.value(e)
	if !ok {
		return types.DefaultTypeAdapter.NativeToValue([]any{})
	}
	out := make([]any, v.Len())
	for i := range out {
		el := v.Index(i)
		m := map[string]any{}
		for j := 0; j < el.NumField(); j++ {
			m[jsonName(el.Type().Field(j))] = el.Field(j).Interface()
		}
		out[i] = m
	}
	return types.DefaultTypeAdapter.NativeToValue(out)
}
