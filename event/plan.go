package event

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// kind is the JSON shape of a Go field of the schema. The schema uses only
// these shapes; buildPlan panics on anything else so that a new field of an
// unsupported type fails every test at once.
type kind uint8

const (
	kindString    kind = iota + 1 // string
	kindInt                       // int64
	kindFloat                     // float64
	kindBool                      // bool
	kindTime                      // time.Time, RFC 3339 in JSON
	kindStrings                   // []string
	kindStringMap                 // map[string]string
	kindStruct                    // a field set held by value
	kindPtr                       // pointer to a field set, an int64, a bool or a time
	kindSlice                     // slice of field sets
)

// codecField is one field of a struct plan.
type codecField struct {
	name      string // JSON name
	goName    string // Go field name
	key       string // `"name":`, ready to append when encoding
	index     int    // Go field index
	pos       int    // position in the plan's fields
	bit       uint64 // 1 << pos, to detect duplicate keys
	kind      kind
	omitEmpty bool
	intern    bool         // value is usually a vocabulary word
	typ       reflect.Type // Go type of the field
	elem      *codecField  // kindPtr: the pointee; kindSlice: the element
	plan      *structPlan  // kindStruct, or a pointee or element that is a struct
}

// structPlan describes how one Go struct of the schema maps to JSON.
type structPlan struct {
	typ    reflect.Type
	fields []*codecField
	byName map[string]*codecField
	names  []string // JSON names, for did-you-mean suggestions
	// written has the bits of the fields the encoder writes even when
	// empty: those without omitempty, and structs and times, which
	// encoding/json's omitempty never leaves out.
	written uint64
}

var (
	timeType  = reflect.TypeFor[time.Time]()
	eventPlan = buildPlan(reflect.TypeFor[Event](), "")
)

// internedPaths are the fields whose values are nearly always vocabulary
// words; the decoder returns shared strings for known words instead of
// allocating.
var internedPaths = map[string]bool{
	"event.kind": true, "event.category": true, "event.type": true, "event.action": true,
	"event.module": true, "event.outcome": true, "host.os.family": true,
	"user.employment.status": true, "volume.bus_type": true, "volume.file_system_type": true,
	"device.bus_type": true, "device.class": true, "url.scheme": true, "network.transport": true,
	"network.protocol": true, "network.direction": true, "clipboard.operation": true,
	"clipboard.format": true, "session.type": true, "agent.health": true,
}

func buildPlan(t reflect.Type, prefix string) *structPlan {
	p := &structPlan{typ: t, byName: map[string]*codecField{}}
	if t.NumField() > 64 {
		panic(fmt.Sprintf("event: %s has more than 64 fields", t))
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			panic(fmt.Sprintf("event: field %s.%s has no JSON name", t, sf.Name))
		}
		path := joinPath(prefix, name)
		f := buildField(sf.Type, path)
		f.name = name
		f.goName = sf.Name
		f.key = `"` + name + `":`
		f.index = i
		f.pos = len(p.fields)
		f.bit = 1 << uint(f.pos)
		f.omitEmpty = opts == "omitempty"
		if !f.omitEmpty || f.kind == kindStruct || f.kind == kindTime {
			p.written |= f.bit
		}
		p.fields = append(p.fields, f)
		p.byName[name] = f
		p.names = append(p.names, name)
	}
	return p
}

// lookup finds the field named key, trying the fields from position next
// on first: in documents written in schema order, that is the very next one.
func (p *structPlan) lookup(key []byte, next int) (*codecField, bool) {
	for _, f := range p.fields[min(next, len(p.fields)):] {
		if f.name == string(key) {
			return f, true
		}
	}
	f, ok := p.byName[string(key)]
	return f, ok
}

func buildField(t reflect.Type, path string) *codecField {
	f := &codecField{typ: t, index: -1, intern: internedPaths[path]}
	switch {
	case t == timeType:
		f.kind = kindTime
	case t.Kind() == reflect.String:
		f.kind = kindString
	case t.Kind() == reflect.Int64:
		f.kind = kindInt
	case t.Kind() == reflect.Float64:
		f.kind = kindFloat
	case t.Kind() == reflect.Bool:
		f.kind = kindBool
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		f.kind = kindStrings
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String:
		f.kind = kindStringMap
	case t.Kind() == reflect.Struct:
		f.kind = kindStruct
		f.plan = buildPlan(t, path)
	case t.Kind() == reflect.Pointer:
		f.kind = kindPtr
		f.elem = buildField(t.Elem(), path)
		if f.elem.kind == kindPtr || f.elem.kind == kindSlice || f.elem.kind == kindStrings || f.elem.kind == kindStringMap {
			panic(fmt.Sprintf("event: unsupported pointer type %s at %s", t, path))
		}
		f.plan = f.elem.plan
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		f.kind = kindSlice
		f.elem = buildField(t.Elem(), path)
		f.plan = f.elem.plan
	default:
		panic(fmt.Sprintf("event: unsupported type %s at %s", t, path))
	}
	return f
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// pathSeg is one step of the path to the value being decoded or encoded: a
// field name, or an index into a list when name is empty.
type pathSeg struct {
	name  string
	index int
}

// formatPath renders a path as "email.attachments[2].size".
func formatPath(segs []pathSeg) string {
	var b strings.Builder
	for i, s := range segs {
		if s.name == "" {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
	}
	return b.String()
}
