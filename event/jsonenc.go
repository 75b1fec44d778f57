package event

import (
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// encoder writes the JSON form of an event, field by field in struct order,
// with the omitempty rules of encoding/json. Its output is byte for byte what
// encoding/json produces with HTML escaping off, for events whose times are
// in UTC; times are always written in UTC.
type encoder struct {
	path []pathSeg
	err  error
}

func (enc *encoder) fail(msg string) {
	if enc.err == nil {
		enc.err = &FieldError{Path: formatPath(enc.path), Msg: msg}
	}
}

func (enc *encoder) object(b []byte, p *structPlan, v reflect.Value) []byte {
	b = append(b, '{')
	first := true
	for _, f := range p.fields {
		fv := v.Field(f.index)
		if f.omitEmpty && isEmpty(f, fv) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		enc.path = append(enc.path, pathSeg{name: f.name})
		b = enc.value(b, f, fv)
		enc.path = enc.path[:len(enc.path)-1]
	}
	return append(b, '}')
}

func isEmpty(f *codecField, v reflect.Value) bool {
	switch f.kind {
	case kindString, kindStrings, kindStringMap, kindSlice:
		return v.Len() == 0
	case kindInt:
		return v.Int() == 0
	case kindFloat:
		return v.Float() == 0
	case kindBool:
		return !v.Bool()
	case kindPtr:
		return v.IsNil()
	}
	// Structs and times are never empty for encoding/json's omitempty.
	return false
}

func (enc *encoder) value(b []byte, f *codecField, v reflect.Value) []byte {
	switch f.kind {
	case kindString:
		return appendString(b, v.String())
	case kindInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case kindFloat:
		return enc.float(b, v.Float())
	case kindBool:
		return strconv.AppendBool(b, v.Bool())
	case kindTime:
		t, _ := v.Addr().Interface().(*time.Time)
		return enc.time(b, *t)
	case kindStrings:
		list, _ := v.Addr().Interface().(*[]string)
		if *list == nil {
			return append(b, "null"...)
		}
		b = append(b, '[')
		for i, s := range *list {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']')
	case kindStringMap:
		m, _ := v.Addr().Interface().(*map[string]string)
		if *m == nil {
			return append(b, "null"...)
		}
		keys := make([]string, 0, len(*m))
		for k := range *m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, (*m)[k])
		}
		return append(b, '}')
	case kindStruct:
		return enc.object(b, f.plan, v)
	case kindPtr:
		if v.IsNil() {
			return append(b, "null"...)
		}
		return enc.value(b, f.elem, v.Elem())
	case kindSlice:
		if v.IsNil() {
			return append(b, "null"...)
		}
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			enc.path = append(enc.path, pathSeg{index: i})
			b = enc.object(b, f.plan, v.Index(i))
			enc.path = enc.path[:len(enc.path)-1]
		}
		return append(b, ']')
	}
	return b
}

// float writes x as encoding/json does: like ES6 number-to-string.
func (enc *encoder) float(b []byte, x float64) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		enc.fail(strconv.FormatFloat(x, 'g', -1, 64) + " cannot be written as JSON")
		return append(b, '0')
	}
	format := byte('f')
	if abs := math.Abs(x); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, x, format, -1, 64)
	if format == 'e' {
		// Shorten e-09 to e-9.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func (enc *encoder) time(b []byte, t time.Time) []byte {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		enc.fail("year " + strconv.Itoa(y) + " cannot be written as RFC 3339")
		return append(b, `""`...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, escaping what encoding/json
// escapes when HTML escaping is off; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript: escaped as encoding/json does.
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
