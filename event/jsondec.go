package event

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

const (
	// maxFieldErrors bounds the problems one event reports; the rest are
	// counted.
	maxFieldErrors = 20
	// maxDepth bounds the nesting of values the decoder skips (values of
	// unknown fields), so that "[[[[..." cannot exhaust the stack.
	maxDepth = 256
)

// internTable holds the vocabulary words the decoder returns without
// allocating: actions, ECS values and other enumerations, and common values
// of the interned fields.
var internTable = func() map[string]string {
	m := map[string]string{}
	lists := [][]string{
		actionNames, ecsKinds, ecsCategories, ecsTypes, ecsOutcomes, ecsNetworkDirections,
		employmentStatuses, clipboardOperations,
		{
			"linux", "windows", "macos", "darwin", "usb", "thunderbolt", "sata", "nvme", "bluetooth",
			"vfat", "exfat", "ntfs", "ext4", "apfs", "hfs+", "iso9660", "udf", "tcp", "udp", "icmp",
			"http", "https", "dns", "tls", "ssh", "rdp", "smtp", "imap", "ftp", "mass_storage",
			"text", "image", "files", "html", "healthy", "degraded", "local", "remote", "console",
			"removable", "cloud", "web", "clipboard", "print", "file", "process", "session", "agent",
		},
	}
	for _, l := range lists {
		for _, s := range l {
			m[s] = s
		}
	}
	return m
}()

// SyntaxError reports input that is not well-formed JSON. It matches
// ErrInvalid.
type SyntaxError struct {
	// Offset is the byte offset of the problem in the decoded input.
	Offset int
	// Path is the field being read when the problem was found, if any.
	Path string
	// Msg describes the problem.
	Msg string
}

// Error returns "malformed JSON at offset N (in path): message".
func (e *SyntaxError) Error() string {
	s := "malformed JSON at offset " + strconv.Itoa(e.Offset)
	if e.Path != "" {
		s += " (in " + e.Path + ")"
	}
	return s + ": " + e.Msg
}

// Is reports whether target is ErrInvalid.
func (e *SyntaxError) Is(target error) bool { return target == ErrInvalid }

// decoder reads one JSON document, directed by the struct plans: values go
// straight into the Go fields, and every value of the wrong type or under an
// unknown name is reported with its path and skipped.
type decoder struct {
	data    []byte
	pos     int
	path    []pathSeg
	errs    []error
	dropped int      // field errors beyond maxFieldErrors
	scratch []byte   // unescaped string bytes
	strs    []string // the list stringList is reading
	// altered is set on reading anything AppendJSON would write otherwise:
	// white space, an escape, fields out of schema order, an empty value
	// it leaves out, a null, a number or time in another form. Input the
	// decoder leaves it clear on is the decoded event's canonical form.
	altered bool
	// text, when set, is data as a string: string values without escapes
	// are then slices of it instead of an allocation each. Set only when
	// data is one event, whose strings may keep all of it alive.
	text string
	// plain reports that the last string read is in data as it is, just
	// before d.pos and its closing quote.
	plain bool
}

// abort carries a syntax error up to run; nothing else is recovered.
type abort struct{ err *SyntaxError }

// run calls fn and turns a syntax abort into an error.
func (d *decoder) run(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(abort)
			if !ok {
				panic(r)
			}
			err = a.err
		}
	}()
	fn()
	return nil
}

// fieldErrors returns the collected field problems, or nil.
func (d *decoder) fieldErrors() error {
	if len(d.errs) == 0 {
		return nil
	}
	if d.dropped > 0 {
		d.errs = append(d.errs, &FieldError{Msg: strconv.Itoa(d.dropped) + " more problems not shown"})
	}
	return errors.Join(d.errs...)
}

func (d *decoder) syntax(msg string) {
	panic(abort{&SyntaxError{Offset: d.pos, Path: formatPath(d.path), Msg: msg}})
}

func (d *decoder) fieldErr(msg string) {
	if len(d.errs) >= maxFieldErrors {
		d.dropped++
		return
	}
	d.errs = append(d.errs, &FieldError{Path: formatPath(d.path), Msg: msg})
}

// typeErr reports a value of the wrong JSON type and skips it.
func (d *decoder) typeErr(want string) {
	d.fieldErr("want " + want + ", got " + jsonKind(d.peek()))
	d.skipValue(0)
}

func jsonKind(c byte) string {
	switch c {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func (d *decoder) push(name string) { d.path = append(d.path, pathSeg{name: name}) }
func (d *decoder) pushIndex(i int)  { d.path = append(d.path, pathSeg{index: i}) }
func (d *decoder) pop()             { d.path = d.path[:len(d.path)-1] }

// skipWS skips white space. Canonical input has none: that case is the
// one check that inlines.
func (d *decoder) skipWS() {
	if d.pos < len(d.data) && d.data[d.pos] > ' ' {
		return
	}
	d.skipSpace()
}

func (d *decoder) skipSpace() {
	start := d.pos
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
			continue
		}
		break
	}
	if d.pos != start {
		d.altered = true
	}
}

// peek returns the next byte, failing at the end of the input.
func (d *decoder) peek() byte {
	if d.pos >= len(d.data) {
		d.syntax("unexpected end of input")
	}
	return d.data[d.pos]
}

// valueStart checks that the next byte can start a JSON value and returns it.
func (d *decoder) valueStart() byte {
	c := d.peek()
	if c == '"' || c == '{' || c == '[' || c == 't' || c == 'f' || c == 'n' || c == '-' || isDigit(c) {
		return c
	}
	d.syntax("invalid character " + strconv.QuoteRune(rune(c)) + " looking for a value")
	return 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (d *decoder) literal(lit string) {
	for i := range len(lit) {
		if d.pos >= len(d.data) {
			d.syntax("unexpected end of input in literal " + lit)
		}
		if c := d.data[d.pos]; c != lit[i] {
			d.syntax("invalid character " + strconv.QuoteRune(rune(c)) + " in literal " + lit)
		}
		d.pos++
	}
}

// object decodes a JSON object into v, a struct described by p. The next
// byte is '{'.
func (d *decoder) object(p *structPlan, v reflect.Value) {
	d.pos++
	d.skipWS()
	if d.peek() == '}' {
		d.pos++
		d.altered = d.altered || p.written != 0
		return
	}
	var seen uint64
	next := 0 // fields usually come in schema order: try the next ones first
	last := -1
	for {
		d.skipWS()
		if d.peek() != '"' {
			d.syntax("want a field name")
		}
		key := d.stringBytes()
		d.skipWS()
		if d.peek() != ':' {
			d.syntax("want ':' after a field name")
		}
		d.pos++
		d.skipWS()
		d.valueStart()
		f, ok := p.lookup(key, next)
		if ok {
			next = f.pos + 1
		}
		switch {
		case !ok:
			name := string(key)
			d.push(name)
			d.fieldErr("unknown field" + didYouMean(name, p.names))
			d.skipValue(0)
			d.pop()
		case seen&f.bit != 0:
			d.push(f.name)
			d.fieldErr("duplicate field")
			d.skipValue(0)
			d.pop()
		default:
			seen |= f.bit
			d.push(f.name)
			d.value(f, v.Field(f.index))
			d.pop()
			// AppendJSON writes fields in schema order (and leaves out
			// empty ones that may be omitted: see value).
			if f.pos < last {
				d.altered = true
			}
			last = f.pos
		}
		d.skipWS()
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			// AppendJSON writes every field it may not omit.
			d.altered = d.altered || seen&p.written != p.written
			return
		default:
			d.syntax("want ',' or '}' after a field")
		}
	}
}

// value decodes the next JSON value into v as field f describes. null
// leaves the zero value. An empty string, number or false read into a
// field AppendJSON leaves out when empty sets altered; empty lists and
// maps always do.
func (d *decoder) value(f *codecField, v reflect.Value) {
	c := d.valueStart()
	if c == 'n' {
		d.literal("null")
		d.altered = true
		v.SetZero()
		return
	}
	switch f.kind {
	case kindString:
		if c != '"' {
			d.typeErr("string")
			return
		}
		s := d.str(f.intern)
		d.altered = d.altered || s == "" && f.omitEmpty
		v.SetString(s)
	case kindInt:
		if c != '-' && !isDigit(c) {
			d.typeErr("integer")
			return
		}
		if n, ok := d.integer(); ok {
			d.altered = d.altered || n == 0 && f.omitEmpty
			v.SetInt(n)
		}
	case kindFloat:
		if c != '-' && !isDigit(c) {
			d.typeErr("number")
			return
		}
		if x, ok := d.float(); ok {
			d.altered = d.altered || x == 0 && f.omitEmpty
			v.SetFloat(x)
		}
	case kindBool:
		switch c {
		case 't':
			d.literal("true")
			v.SetBool(true)
		case 'f':
			d.literal("false")
			d.altered = d.altered || f.omitEmpty
			v.SetBool(false)
		default:
			d.typeErr("boolean")
		}
	case kindTime:
		if c != '"' {
			d.typeErr("RFC 3339 timestamp string")
			return
		}
		if t, ok := d.timestamp(); ok {
			p, _ := v.Addr().Interface().(*time.Time)
			*p = t
		}
	case kindStrings:
		if c != '[' {
			d.typeErr("array of strings")
			return
		}
		p, _ := v.Addr().Interface().(*[]string)
		*p = d.stringList(f.intern)
	case kindStringMap:
		if c != '{' {
			d.typeErr("object of strings")
			return
		}
		p, _ := v.Addr().Interface().(*map[string]string)
		*p = d.stringMap()
	case kindStruct:
		if c != '{' {
			d.typeErr("object")
			return
		}
		d.object(f.plan, v)
	case kindPtr:
		p := reflect.New(f.elem.typ)
		d.value(f.elem, p.Elem())
		v.Set(p)
	case kindSlice:
		if c != '[' {
			d.typeErr("array of objects")
			return
		}
		d.objectList(f, v)
	}
}

// str reads a string value, sharing vocabulary words when intern is set.
func (d *decoder) str(intern bool) string {
	b := d.stringBytes()
	if intern {
		if s, ok := internTable[string(b)]; ok {
			return s
		}
	}
	if d.plain && d.text != "" {
		return d.text[d.pos-1-len(b) : d.pos-1]
	}
	return string(b)
}

// stringList reads an array of strings; an empty array reads as nil.
func (d *decoder) stringList(intern bool) []string {
	d.pos++
	d.skipWS()
	if d.peek() == ']' {
		d.pos++
		d.altered = true // read as nil, which AppendJSON leaves out or writes as null
		return nil
	}
	// Collected in the decoder's scratch list, then copied: one
	// allocation per list instead of one per growth.
	out := d.strs[:0]
	for i := 0; ; i++ {
		d.skipWS()
		d.pushIndex(i)
		switch d.valueStart() {
		case '"':
			out = append(out, d.str(intern))
		case 'n':
			d.literal("null")
			d.altered = true
			out = append(out, "")
		default:
			d.typeErr("string")
		}
		d.pop()
		d.skipWS()
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			d.strs = out
			return slices.Clone(out)
		default:
			d.syntax("want ',' or ']' after an array element")
		}
	}
}

// stringMap reads an object of strings; an empty object reads as nil.
func (d *decoder) stringMap() map[string]string {
	d.pos++
	d.skipWS()
	if d.peek() == '}' {
		d.pos++
		d.altered = true // read as nil, which AppendJSON leaves out or writes as null
		return nil
	}
	out := map[string]string{}
	var last string
	for {
		d.skipWS()
		if d.peek() != '"' {
			d.syntax("want a field name")
		}
		key := string(d.stringBytes())
		if len(out) > 0 && key <= last {
			d.altered = true // AppendJSON writes the keys sorted
		}
		last = key
		d.skipWS()
		if d.peek() != ':' {
			d.syntax("want ':' after a field name")
		}
		d.pos++
		d.skipWS()
		d.push(key)
		_, dup := out[key]
		switch c := d.valueStart(); {
		case dup:
			d.fieldErr("duplicate field")
			d.skipValue(0)
		case c == '"':
			out[key] = d.str(false)
		case c == 'n':
			d.literal("null")
			d.altered = true
			out[key] = ""
		default:
			d.typeErr("string")
		}
		d.pop()
		d.skipWS()
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return out
		default:
			d.syntax("want ',' or '}' after a field")
		}
	}
}

// objectList reads an array of field sets into v; an empty array leaves nil.
func (d *decoder) objectList(f *codecField, v reflect.Value) {
	d.pos++
	d.skipWS()
	if d.peek() == ']' {
		d.pos++
		d.altered = true // read as nil, which AppendJSON leaves out or writes as null
		v.SetZero()
		return
	}
	items := reflect.MakeSlice(f.typ, 0, 4)
	for i := 0; ; i++ {
		d.skipWS()
		d.pushIndex(i)
		items = reflect.Append(items, reflect.Zero(f.elem.typ))
		item := items.Index(i)
		switch d.valueStart() {
		case '{':
			d.object(f.plan, item)
		case 'n':
			d.literal("null")
			d.altered = true
		default:
			d.typeErr("object")
		}
		d.pop()
		d.skipWS()
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			v.Set(items)
			return
		default:
			d.syntax("want ',' or ']' after an array element")
		}
	}
}

// number scans a JSON number and returns its text; intOnly reports whether
// it has neither fraction nor exponent.
func (d *decoder) number() (text []byte, intOnly bool) {
	start := d.pos
	intOnly = true
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case d.pos < len(d.data) && '1' <= d.data[d.pos] && d.data[d.pos] <= '9':
		for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
			d.pos++
		}
	default:
		d.syntax("invalid number")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		intOnly = false
		d.pos++
		if d.pos >= len(d.data) || !isDigit(d.data[d.pos]) {
			d.syntax("invalid number: want a digit after '.'")
		}
		for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
			d.pos++
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		intOnly = false
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if d.pos >= len(d.data) || !isDigit(d.data[d.pos]) {
			d.syntax("invalid number: want a digit in the exponent")
		}
		for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
			d.pos++
		}
	}
	return d.data[start:d.pos], intOnly
}

// integer reads an int64; a fraction, an exponent or overflow is a field
// error.
func (d *decoder) integer() (int64, bool) {
	text, intOnly := d.number()
	if !intOnly {
		d.fieldErr("want integer, got number " + shorten(string(text)))
		return 0, false
	}
	neg := text[0] == '-'
	digits := text
	if neg {
		digits = text[1:]
		d.altered = d.altered || string(digits) == "0" // written as 0
	}
	var n uint64
	for _, c := range digits {
		if n > (math.MaxUint64-9)/10 {
			n = math.MaxUint64
			break
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case !neg && n <= math.MaxInt64:
		return int64(n), true
	case neg && n <= 1<<63:
		return -int64(n), true // 1<<63 wraps to math.MinInt64, as wanted
	}
	d.fieldErr("integer " + shorten(string(text)) + " out of range")
	return 0, false
}

func (d *decoder) float() (float64, bool) {
	text, _ := d.number()
	x, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		d.fieldErr("number " + shorten(string(text)) + " out of range")
		return 0, false
	}
	var buf [32]byte
	if !d.altered && string((&encoder{}).float(buf[:0], x)) != string(text) {
		d.altered = true
	}
	return x, true
}

// timestamp reads an RFC 3339 string and returns the time in UTC.
func (d *decoder) timestamp() (time.Time, bool) {
	b := d.stringBytes()
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		d.fieldErr("want RFC 3339 timestamp such as \"2026-11-28T10:00:00Z\", got " + shorten(strconv.Quote(string(b))))
		return time.Time{}, false
	}
	t = t.UTC()
	var buf [40]byte
	if w := (&encoder{}).time(buf[:0], t); !d.altered && string(w[1:len(w)-1]) != string(b) {
		d.altered = true
	}
	return t, true
}

// shorten keeps error messages readable when the offending value is huge.
func shorten(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// stringBytes reads a JSON string and returns its unescaped content. The
// result aliases the input or the decoder's scratch buffer: copy it before
// the next read. Invalid UTF-8 becomes U+FFFD, as with encoding/json.
func (d *decoder) stringBytes() []byte {
	d.pos++ // opening quote
	start := d.pos
	i := plainRun(d.data, start)
	d.plain = true
	if i < len(d.data) && d.data[i] == '"' {
		d.pos = i + 1
		return d.data[start:i]
	}
	// An escape, a control character, non-ASCII text or the end of input.
	for ; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			s := d.data[start:i]
			if utf8.Valid(s) {
				d.pos = i + 1
				// AppendJSON escapes these two.
				d.altered = d.altered || bytes.Contains(s, lineSep) || bytes.Contains(s, paraSep)
				return s
			}
			d.plain = false
			return d.unescape(start)
		case c == '\\' || c < 0x20:
			d.plain = false
			return d.unescape(start)
		}
	}
	d.pos = len(d.data)
	d.syntax("unterminated string")
	return nil
}

var (
	lineSep = []byte("\u2028")
	paraSep = []byte("\u2029")
)

// plainRun returns the index of the first byte at or after i that
// plainByte does not mark, or len(data). It tests eight bytes at a time:
// strings are mostly plain, and often tens of bytes long.
func plainRun(data []byte, i int) int {
	for ; i+8 <= len(data); i += 8 {
		if m := notPlain(binary.LittleEndian.Uint64(data[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(data) && plainByte[data[i]] {
		i++
	}
	return i
}

// notPlain returns w, eight bytes read little-endian, with the high bit
// set in the first byte that is a quote, a backslash, a control character
// or not ASCII (bytes after it may be marked as well, wrongly), and zero
// if there is none. The usual tests for a zero byte, on w with the quote
// and the backslash cancelled out, and on w less 0x20 in each byte.
func notPlain(w uint64) uint64 {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	zero := func(x uint64) uint64 { return (x - ones) & ^x & highs }
	return zero(w^(ones*'"')) | zero(w^(ones*'\\')) | (w-ones*0x20)&^w&highs | w&highs
}

// plainByte marks the bytes a string can hold as they are: printable ASCII
// other than '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// unescape decodes the string starting at start into the scratch buffer.
// It sets altered unless every escape is the one appendString writes and
// nothing else needed rewriting.
func (d *decoder) unescape(start int) []byte {
	b := d.scratch[:0]
	i := start
	for {
		if i >= len(d.data) {
			d.pos = i
			d.syntax("unterminated string")
		}
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.scratch = b
			return b
		case c < 0x20:
			d.pos = i
			d.syntax("control character in string")
		case c == '\\':
			if i+1 >= len(d.data) {
				d.pos = i
				d.syntax("unterminated string")
			}
			switch e := d.data[i+1]; e {
			case '"', '\\':
				b = append(b, e)
				i += 2
			case '/':
				d.altered = true // written as it is
				b = append(b, e)
				i += 2
			case 'b':
				b = append(b, '\b')
				i += 2
			case 'f':
				b = append(b, '\f')
				i += 2
			case 'n':
				b = append(b, '\n')
				i += 2
			case 'r':
				b = append(b, '\r')
				i += 2
			case 't':
				b = append(b, '\t')
				i += 2
			case 'u':
				r, ok := hex4(d.data, i+2)
				if !ok {
					d.pos = i
					d.syntax("invalid \\u escape")
				}
				if !d.altered && !canonicalEscape(d.data[i:i+6], r) {
					d.altered = true
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if r2, ok := hex4(d.data, i+2); ok && i+1 < len(d.data) && d.data[i] == '\\' && d.data[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				d.pos = i
				d.syntax("invalid escape " + strconv.Quote(string(d.data[i:i+2])))
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.data[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				d.altered = true // written as U+FFFD
				b = append(b, "\uFFFD"...)
			case r == '\u2028' || r == '\u2029':
				d.altered = true // written escaped
				b = append(b, d.data[i:i+size]...)
			default:
				b = append(b, d.data[i:i+size]...)
			}
			i += size
		}
	}
}

// canonicalEscape reports whether esc, a \\u escape of r, is how
// appendString writes r: it escapes control characters without a short
// form and U+2028 and U+2029 that way, in lower-case hex, and writes
// every other character as it is.
func canonicalEscape(esc []byte, r rune) bool {
	switch r {
	case '\b', '\f', '\n', '\r', '\t':
		return false
	case '\u2028', '\u2029':
		return string(esc) == `\u202`+string(hexDigits[r&0xF])
	}
	return r < 0x20 && string(esc) == `\u00`+string(hexDigits[r>>4])+string(hexDigits[r&0xF])
}

// hex4 parses the four hex digits at data[i:i+4].
func hex4(data []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skipValue checks and skips one JSON value of any type.
func (d *decoder) skipValue(depth int) {
	if depth > maxDepth {
		d.syntax("nested too deeply")
	}
	switch c := d.valueStart(); c {
	case '"':
		d.stringBytes()
	case 't':
		d.literal("true")
	case 'f':
		d.literal("false")
	case 'n':
		d.literal("null")
	case '{':
		d.pos++
		d.skipWS()
		if d.peek() == '}' {
			d.pos++
			return
		}
		for {
			d.skipWS()
			if d.peek() != '"' {
				d.syntax("want a field name")
			}
			d.stringBytes()
			d.skipWS()
			if d.peek() != ':' {
				d.syntax("want ':' after a field name")
			}
			d.pos++
			d.skipWS()
			d.skipValue(depth + 1)
			d.skipWS()
			switch d.peek() {
			case ',':
				d.pos++
			case '}':
				d.pos++
				return
			default:
				d.syntax("want ',' or '}' after a field")
			}
		}
	case '[':
		d.pos++
		d.skipWS()
		if d.peek() == ']' {
			d.pos++
			return
		}
		for {
			d.skipWS()
			d.skipValue(depth + 1)
			d.skipWS()
			switch d.peek() {
			case ',':
				d.pos++
			case ']':
				d.pos++
				return
			default:
				d.syntax("want ',' or ']' after an array element")
			}
		}
	default:
		d.number()
	}
}
