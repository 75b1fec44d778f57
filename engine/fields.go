package engine

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/vigil-itm/vigil/event"
)

// fieldKind is the type of an event field, which decides its CEL type.
type fieldKind int

const (
	kindString fieldKind = iota
	kindInt
	kindFloat
	kindBool
	kindStrings
	kindInts
	kindTime
	kindLabels
)

// field is one leaf of the event schema, addressable by its ECS dotted
// path, read through the event package's generated accessors (no
// reflection, no allocation).
type field struct {
	path  string // ECS path, e.g. "file.size"
	ident string // CEL identifier: path, except "@timestamp" → "timestamp"
	kind  fieldKind

	getStr   event.StringAccessor
	getInt   event.IntAccessor
	getFloat event.FloatAccessor
	getBool  event.BoolAccessor
	getTime  event.TimeAccessor
	getStrs  event.StringsAccessor
	getInts  event.IntsAccessor
}

var (
	fieldsByPath map[string]*field
	fieldsByCEL  map[string]*field
	fieldList    []*field
)

func init() {
	fieldsByPath = map[string]*field{}
	fieldsByCEL = map[string]*field{}
	for _, fi := range event.Fields() {
		if fi.Path == "labels.*" {
			f := &field{path: "labels", ident: "labels", kind: kindLabels}
			fieldList = append(fieldList, f)
			fieldsByCEL[f.ident] = f
			continue
		}
		f, err := newField(fi)
		if err != nil {
			panic(fmt.Sprintf("engine: event field %s: %v", fi.Path, err))
		}
		fieldList = append(fieldList, f)
		fieldsByPath[f.path] = f
		fieldsByCEL[f.ident] = f
	}
}

func newField(fi event.FieldInfo) (*field, error) {
	f := &field{path: fi.Path, ident: fi.Path}
	if fi.Path == "@timestamp" {
		f.ident = "timestamp"
	}
	var err error
	switch fi.Type {
	case event.FieldString:
		f.kind = kindString
		f.getStr, err = event.NewStringAccessor(fi.Path)
	case event.FieldInt:
		f.kind = kindInt
		f.getInt, err = event.NewIntAccessor(fi.Path)
	case event.FieldFloat:
		f.kind = kindFloat
		f.getFloat, err = event.NewFloatAccessor(fi.Path)
	case event.FieldBool:
		f.kind = kindBool
		f.getBool, err = event.NewBoolAccessor(fi.Path)
	case event.FieldTime:
		f.kind = kindTime
		f.getTime, err = event.NewTimeAccessor(fi.Path)
	case event.FieldStrings:
		f.kind = kindStrings
		f.getStrs, err = event.NewStringsAccessor(fi.Path)
	case event.FieldInts:
		f.kind = kindInts
		f.getInts, err = event.NewIntsAccessor(fi.Path)
	default:
		err = fmt.Errorf("unsupported type %v", fi.Type)
	}
	return f, err
}

// lookupField finds a field by ECS path or CEL identifier.
func lookupField(path string) (*field, error) {
	if f, ok := fieldsByPath[path]; ok {
		return f, nil
	}
	if f, ok := fieldsByCEL[path]; ok && f.kind != kindLabels {
		return f, nil
	}
	if key, ok := strings.CutPrefix(path, "labels."); ok && key != "" {
		return &field{path: path, ident: path, kind: kindString, getStr: func(e *event.Event) (string, bool) {
			v := e.Labels[key]
			return v, v != ""
		}}, nil
	}
	return nil, fmt.Errorf("unknown event field %q%s", path, suggest(path, fieldPaths()))
}

func fieldPaths() []string {
	out := make([]string, 0, len(fieldList))
	for _, f := range fieldList {
		if f.kind != kindLabels {
			out = append(out, f.path)
		}
	}
	return out
}

func (f *field) str(e *event.Event) string {
	if f.getStr == nil {
		return ""
	}
	v, _ := f.getStr(e)
	return v
}

func (f *field) integer(e *event.Event) int64 {
	if f.getInt == nil {
		return 0
	}
	v, _ := f.getInt(e)
	return v
}

func (f *field) float(e *event.Event) float64 {
	if f.getFloat == nil {
		return 0
	}
	v, _ := f.getFloat(e)
	return v
}

func (f *field) boolean(e *event.Event) bool {
	if f.getBool == nil {
		return false
	}
	v, _ := f.getBool(e)
	return v
}

func (f *field) strings(e *event.Event) []string {
	if f.getStrs == nil {
		return nil
	}
	v, _ := f.getStrs(e)
	return v
}

func (f *field) ints(e *event.Event) []int64 {
	if f.getInts == nil {
		return nil
	}
	v, _ := f.getInts(e)
	return v
}

func (f *field) time(e *event.Event) time.Time {
	if f.getTime == nil {
		return time.Time{}
	}
	v, _ := f.getTime(e)
	return v
}

// number reads a numeric field as float64, for sums and baselines: lists
// count their elements (or sum them, for lists of integers), booleans 0 or 1.
func (f *field) number(e *event.Event) float64 {
	switch f.kind {
	case kindInt:
		return float64(f.integer(e))
	case kindFloat:
		return f.float(e)
	case kindBool:
		if f.boolean(e) {
			return 1
		}
	case kindStrings:
		return float64(len(f.strings(e)))
	case kindInts:
		var sum float64
		for _, v := range f.ints(e) {
			sum += float64(v)
		}
		return sum
	}
	return 0
}

// text reads any field as a string, for window keys and distinct values.
func (f *field) text(e *event.Event) string {
	switch f.kind {
	case kindString:
		return f.str(e)
	case kindInt:
		if v, ok := f.getInt(e); ok {
			return strconv.FormatInt(v, 10)
		}
		return ""
	case kindFloat:
		if v, ok := f.getFloat(e); ok {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
		return ""
	case kindBool:
		return strconv.FormatBool(f.boolean(e))
	case kindStrings:
		return strings.Join(f.strings(e), ",")
	case kindInts:
		parts := make([]string, 0, len(f.ints(e)))
		for _, v := range f.ints(e) {
			parts = append(parts, strconv.FormatInt(v, 10))
		}
		return strings.Join(parts, ",")
	case kindTime:
		t := f.time(e)
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return ""
}

func (f *field) celType() *cel.Type {
	switch f.kind {
	case kindString:
		return cel.StringType
	case kindInt:
		return cel.IntType
	case kindFloat:
		return cel.DoubleType
	case kindBool:
		return cel.BoolType
	case kindStrings:
		return cel.ListType(cel.StringType)
	case kindInts:
		return cel.ListType(cel.IntType)
	case kindTime:
		return cel.TimestampType
	}
	return cel.MapType(cel.StringType, cel.StringType)
}

var (
	emptyStringList = types.NewStringList(types.DefaultTypeAdapter, nil)
	emptyLabels     = types.DefaultTypeAdapter.NativeToValue(map[string]string{})
)

// celValue reads the field as a CEL value.
func (f *field) celValue(e *event.Event) ref.Val {
	switch f.kind {
	case kindString:
		return types.String(f.str(e))
	case kindInt:
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
	case kindInts:
		return types.DefaultTypeAdapter.NativeToValue(f.ints(e))
	case kindTime:
		return types.Timestamp{Time: f.time(e)}
	}
	if len(e.Labels) == 0 {
		return emptyLabels
	}
	return types.DefaultTypeAdapter.NativeToValue(e.Labels)
}

// setString writes a string field through reflection, following JSON names
// and copying every field set on the way so the original event is not
// touched. It is used only to mask decision inputs.
func setString(root reflect.Value, path, value string) {
	v := root
	for _, part := range strings.Split(path, ".") {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return
			}
			nv := reflect.New(v.Type().Elem())
			nv.Elem().Set(v.Elem())
			v.Set(nv)
			v = nv.Elem()
		}
		if v.Kind() != reflect.Struct {
			return
		}
		found := false
		for i := 0; i < v.NumField(); i++ {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			if name == part {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return
		}
	}
	if v.Kind() == reflect.String && v.CanSet() {
		v.SetString(value)
	}
}
