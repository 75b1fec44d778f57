package policies

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// YAML documents are decoded through yaml.v3's Node API rather than
// yaml.Unmarshal so that every key keeps its line and column, unknown keys
// and wrong types are reported where they are (with a suggestion), and all
// problems of a file are collected instead of the first one.

// maxDepth bounds nesting.
const maxDepth = 200

// nodeBudget bounds the nodes a decoder visits, counting alias expansions,
// so that a small file of nested aliases ("billion laughs") cannot make the
// loader do unbounded work. A file without aliases has fewer nodes than
// bytes, so the budget never stops one.
func nodeBudget(size int) int { return 10_000 + 4*size }

var (
	durationType = reflect.TypeFor[Duration]()
	positionType = reflect.TypeFor[Position]()
	jsonUnmarsh  = reflect.TypeFor[json.Unmarshaler]()
	yamlLineRe   = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)
)

// nodeDecoder decodes yaml.Node trees into Go values strictly.
type nodeDecoder struct {
	file  string
	diags *diags
	// label prefixes messages, such as `rule "usb-mass-copy"`.
	label string
	// fieldPos, when set, receives the position of every key path.
	fieldPos map[string]Position
	nodes    int
	maxNodes int
	depth    int
}

func newNodeDecoder(file string, size int, ds *diags) *nodeDecoder {
	return &nodeDecoder{file: file, diags: ds, maxNodes: nodeBudget(size)}
}

func (d *nodeDecoder) pos(n *yaml.Node) Position {
	return Position{File: d.file, Line: n.Line, Column: n.Column}
}

// errorf reports a problem at n about the value at path.
func (d *nodeDecoder) errorf(n *yaml.Node, code, path, format string, args ...any) {
	d.diags.errorf(d.pos(n), code, "%s", d.message(path, fmt.Sprintf(format, args...)))
}

func (d *nodeDecoder) message(path, msg string) string {
	var parts []string
	if d.label != "" {
		parts = append(parts, d.label)
	}
	if path != "" {
		parts = append(parts, path)
	}
	parts = append(parts, msg)
	return strings.Join(parts, ": ")
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// resolve follows aliases, counting the work done.
func (d *nodeDecoder) resolve(n *yaml.Node) (*yaml.Node, bool) {
	for hops := 0; n != nil && n.Kind == yaml.AliasNode; hops++ {
		if hops > 100 {
			return nil, false
		}
		n = n.Alias
	}
	if n == nil {
		return nil, false
	}
	d.nodes++
	return n, d.nodes <= d.maxNodes
}

// describe names the kind of a node for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing (null)"
		case "!!bool":
			return "a boolean (" + n.Value + ")"
		case "!!int":
			return "an integer (" + n.Value + ")"
		case "!!float":
			return "a number (" + n.Value + ")"
		case "!!str":
			return strconv.Quote(truncate(n.Value, 40))
		}
		return "a " + n.ShortTag() + " value"
	}
	return "an alias"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// mappingPairs returns the key/value pairs of a mapping with merge keys
// ("<<: *anchor") applied: explicit keys win over merged ones. It reports
// non-scalar and duplicate keys.
func (d *nodeDecoder) mappingPairs(n *yaml.Node, path string) (keys []*yaml.Node, values []*yaml.Node) {
	seen := map[string]bool{}
	var merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, codeWrongType, path, "keys must be strings, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSources(v, path)...)
			continue
		}
		if seen[k.Value] {
			d.errorf(k, codeDuplicateKey, path, "key %q appears twice", k.Value)
			continue
		}
		seen[k.Value] = true
		keys = append(keys, k)
		values = append(values, v)
	}
	for _, kv := range merged {
		if seen[kv[0].Value] {
			continue
		}
		seen[kv[0].Value] = true
		keys = append(keys, kv[0])
		values = append(values, kv[1])
	}
	return keys, values
}

// mergeSources returns the pairs a merge key brings in.
func (d *nodeDecoder) mergeSources(v *yaml.Node, path string) [][2]*yaml.Node {
	src, ok := d.resolve(v)
	if !ok {
		d.errorf(v, codeYAML, path, "too many aliases")
		return nil
	}
	var out [][2]*yaml.Node
	switch src.Kind {
	case yaml.MappingNode:
		if d.depth > maxDepth {
			d.errorf(v, codeYAML, path, "nested too deeply")
			return nil
		}
		d.depth++
		ks, vs := d.mappingPairs(src, path)
		d.depth--
		for i := range ks {
			out = append(out, [2]*yaml.Node{ks[i], vs[i]})
		}
	case yaml.SequenceNode:
		for _, item := range src.Content {
			out = append(out, d.mergeSources(item, path)...)
		}
	default:
		d.errorf(v, codeWrongType, path, "a merge key (<<) needs a mapping, got %s", describe(src))
	}
	return out
}

// decode stores the node into v, which must be settable, and reports
// whether it succeeded. path names the value for messages and FieldPos.
func (d *nodeDecoder) decode(n *yaml.Node, v reflect.Value, path string) bool {
	if d.fieldPos != nil && path != "" {
		d.fieldPos[path] = d.pos(n)
	}
	orig := n
	n, ok := d.resolve(n)
	if !ok {
		d.errorf(orig, codeYAML, path, "too many aliases or nodes")
		return false
	}
	if d.depth > maxDepth {
		d.errorf(orig, codeYAML, path, "nested too deeply")
		return false
	}
	d.depth++
	defer func() { d.depth-- }()

	t := v.Type()
	if t == durationType {
		return d.decodeDuration(orig, n, v, path)
	}
	if t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(jsonUnmarsh) {
		return d.decodeViaJSON(orig, n, v, path)
	}
	switch t.Kind() {
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			v.SetZero()
			return true
		}
		p := reflect.New(t.Elem())
		if !d.decode(orig, p.Elem(), path) {
			return false
		}
		v.Set(p)
		return true
	case reflect.Struct:
		return d.decodeStruct(orig, n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
				v.SetZero()
				return true
			}
			d.errorf(orig, codeWrongType, path, "want a list, got %s", describe(n))
			return false
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		good := true
		for i, item := range n.Content {
			if !d.decode(item, s.Index(i), joinPath(path, strconv.Itoa(i))) {
				good = false
			}
		}
		v.Set(s)
		return good
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			d.errorf(orig, codeWrongType, path, "unsupported map type %s", t)
			return false
		}
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
				v.SetZero()
				return true
			}
			d.errorf(orig, codeWrongType, path, "want a mapping, got %s", describe(n))
			return false
		}
		m := reflect.MakeMap(t)
		keys, values := d.mappingPairs(n, path)
		good := true
		for i, k := range keys {
			ev := reflect.New(t.Elem()).Elem()
			if !d.decode(values[i], ev, joinPath(path, k.Value)) {
				good = false
				continue
			}
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), ev)
		}
		v.Set(m)
		return good
	case reflect.Interface:
		val, ok := d.plain(orig, n, path)
		if !ok {
			return false
		}
		if val == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(val))
		}
		return true
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" || n.ShortTag() == "!!binary" {
			d.errorf(orig, codeWrongType, path, "want a string, got %s", describe(n))
			return false
		}
		if !utf8.ValidString(n.Value) {
			d.errorf(orig, codeEncoding, path, "invalid UTF-8 in string (from an escape sequence)")
			return false
		}
		v.SetString(n.Value)
		return true
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.errorf(orig, codeWrongType, path, "want true or false, got %s", describe(n))
			return false
		}
		v.SetBool(b)
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.errorf(orig, codeWrongType, path, "want an integer, got %s", describe(n))
			return false
		}
		v.SetInt(i)
		return true
	case reflect.Float32, reflect.Float64:
		var f float64
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(orig, codeWrongType, path, "want a number, got %s", describe(n))
			return false
		}
		v.SetFloat(f)
		return true
	}
	d.errorf(orig, codeWrongType, path, "unsupported type %s", t)
	return false
}

func (d *nodeDecoder) decodeDuration(orig, n *yaml.Node, v reflect.Value, path string) bool {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.errorf(orig, codeWrongType, path, "want a duration such as \"10m\", got %s", describe(n))
		return false
	}
	dur, err := ParseDuration(n.Value)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), ErrBadDuration.Error()+": ")
		if n.ShortTag() == "!!int" || n.ShortTag() == "!!float" {
			msg = fmt.Sprintf("%q has no unit (use s, m, h, d or w, such as \"%ss\")", n.Value, n.Value)
		}
		d.errorf(orig, codeBadValue, path, "bad duration: %s", msg)
		return false
	}
	v.Set(reflect.ValueOf(dur))
	return true
}

// decodeViaJSON handles types that define their own JSON decoding (such as
// time.Time in event types): the node becomes plain data, then JSON.
func (d *nodeDecoder) decodeViaJSON(orig, n *yaml.Node, v reflect.Value, path string) bool {
	val, ok := d.plain(orig, n, path)
	if !ok {
		return false
	}
	raw, err := json.Marshal(val)
	if err == nil {
		err = json.Unmarshal(raw, v.Addr().Interface())
	}
	if err != nil {
		d.errorf(orig, codeWrongType, path, "%v", err)
		return false
	}
	return true
}

// structField is one decodable field of a struct type.
type structField struct {
	name  string
	index int
}

func fieldsOf(t reflect.Type) (fields []structField, sourceIdx int) {
	sourceIdx = -1
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Name == "Source" && f.Type == positionType {
			sourceIdx = i
			continue
		}
		name := keyName(f)
		if name == "" {
			continue
		}
		fields = append(fields, structField{name: name, index: i})
	}
	return fields, sourceIdx
}

// keyName is the YAML key of a struct field: its yaml tag, else its json
// tag (event types only have json tags), else the lower-cased field name.
func keyName(f reflect.StructField) string {
	for _, tag := range []string{"yaml", "json"} {
		if v, ok := f.Tag.Lookup(tag); ok {
			name, _, _ := strings.Cut(v, ",")
			if name == "-" {
				return ""
			}
			if name != "" {
				return name
			}
		}
	}
	if f.Type.Kind() == reflect.Map && f.Name == "FieldPos" {
		return ""
	}
	return strings.ToLower(f.Name)
}

func (d *nodeDecoder) decodeStruct(orig, n *yaml.Node, v reflect.Value, path string) bool {
	if n.Kind != yaml.MappingNode {
		d.errorf(orig, codeWrongType, path, "want a mapping, got %s", describe(n))
		return false
	}
	t := v.Type()
	fields, sourceIdx := fieldsOf(t)
	if sourceIdx >= 0 {
		v.Field(sourceIdx).Set(reflect.ValueOf(d.pos(n)))
	}
	byName := make(map[string]int, len(fields))
	names := make([]string, len(fields))
	for i, f := range fields {
		byName[f.name] = f.index
		names[i] = f.name
	}
	keys, values := d.mappingPairs(n, path)
	good := true
	for i, k := range keys {
		idx, ok := byName[k.Value]
		if !ok {
			d.errorf(k, codeUnknownKey, path, "unknown key %q%s", k.Value, didYouMean(k.Value, names))
			good = false
			continue
		}
		if !d.decode(values[i], v.Field(idx), joinPath(path, k.Value)) {
			good = false
		}
	}
	return good
}

// plain converts a node into JSON-compatible data: nil, bool, int64,
// float64, string, []any or map[string]any. Whole numbers become int64 (see
// normalizeNumber), timestamps stay strings.
func (d *nodeDecoder) plain(orig, n *yaml.Node, path string) (any, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, true
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				d.errorf(orig, codeWrongType, path, "bad boolean %q", n.Value)
				return nil, false
			}
			return b, true
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil {
				return i, true
			}
			var f float64
			if err := n.Decode(&f); err != nil {
				d.errorf(orig, codeWrongType, path, "bad integer %q", n.Value)
				return nil, false
			}
			return normalizeNumber(f), true
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				d.errorf(orig, codeWrongType, path, "number %q cannot be represented in JSON", n.Value)
				return nil, false
			}
			return normalizeNumber(f), true
		case "!!str", "!!timestamp":
			if !utf8.ValidString(n.Value) {
				d.errorf(orig, codeEncoding, path, "invalid UTF-8 in string (from an escape sequence)")
				return nil, false
			}
			return n.Value, true
		}
		d.errorf(orig, codeWrongType, path, "unsupported YAML tag %s", n.ShortTag())
		return nil, false
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		good := true
		for i, item := range n.Content {
			v, ok := d.plainChild(item, joinPath(path, strconv.Itoa(i)))
			good = good && ok
			out = append(out, v)
		}
		return out, good
	case yaml.MappingNode:
		keys, values := d.mappingPairs(n, path)
		out := make(map[string]any, len(keys))
		good := true
		for i, k := range keys {
			v, ok := d.plainChild(values[i], joinPath(path, k.Value))
			good = good && ok
			out[k.Value] = v
		}
		return out, good
	}
	d.errorf(orig, codeWrongType, path, "unsupported YAML node")
	return nil, false
}

func (d *nodeDecoder) plainChild(n *yaml.Node, path string) (any, bool) {
	if d.fieldPos != nil {
		d.fieldPos[path] = d.pos(n)
	}
	orig := n
	n, ok := d.resolve(n)
	if !ok {
		d.errorf(orig, codeYAML, path, "too many aliases or nodes")
		return nil, false
	}
	if d.depth > maxDepth {
		d.errorf(orig, codeYAML, path, "nested too deeply")
		return nil, false
	}
	d.depth++
	defer func() { d.depth-- }()
	return d.plain(orig, n, path)
}

// normalizeNumber makes whole numbers int64 and leaves others float64, so
// that data reads the same from YAML, JSON and a built tarball.
func normalizeNumber(f float64) any {
	if f == math.Trunc(f) && f >= -(1<<53) && f <= 1<<53 {
		return int64(f)
	}
	return f
}

// normalizeJSON converts json.Number values (from a decoder with
// UseNumber) into int64 or float64, recursively.
func normalizeJSON(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, err := t.Float64()
		if err != nil {
			return t.String()
		}
		return normalizeNumber(f)
	case float64:
		return normalizeNumber(t)
	case []any:
		for i := range t {
			t[i] = normalizeJSON(t[i])
		}
		return t
	case map[string]any:
		for k := range t {
			t[k] = normalizeJSON(t[k])
		}
		return t
	}
	return v
}

// parseYAML parses one YAML document of a file. It returns nil (and no
// diagnostics) for an empty file. Syntax errors, invalid UTF-8 and extra
// documents are reported with their position.
func parseYAML(file string, data []byte, ds *diags) *yaml.Node {
	if !checkText(file, data, ds) {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := safeYAMLDecode(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		reportYAMLError(file, err, ds)
		return nil
	}
	var extra yaml.Node
	if err := safeYAMLDecode(dec, &extra); err == nil {
		ds.errorf(Position{File: file, Line: max(extra.Line, 1), Column: max(extra.Column, 1)}, codeYAML,
			"a file holds one YAML document; found a second one")
		return nil
	} else if !errors.Is(err, io.EOF) {
		reportYAMLError(file, err, ds)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// safeYAMLDecode turns a panic inside the YAML parser into an error, so that
// no input file can crash the process that loads it.
func safeYAMLDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: line 1: cannot parse: %v", r)
		}
	}()
	return dec.Decode(n)
}

func reportYAMLError(file string, err error, ds *diags) {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			addYAMLMessage(file, e, ds)
		}
		return
	}
	addYAMLMessage(file, err.Error(), ds)
}

func addYAMLMessage(file, msg string, ds *diags) {
	line := 1
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
		}
		msg = m[2]
	}
	ds.errorf(Position{File: file, Line: line, Column: 1}, codeYAML, "YAML syntax: %s", msg)
}

// checkText reports invalid UTF-8 and control characters at their exact
// position; the YAML parser would report them without one.
func checkText(file string, data []byte, ds *diags) bool {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			ds.errorf(Position{File: file, Line: line, Column: col}, codeEncoding, "invalid UTF-8 (byte 0x%02x)", data[i])
			return false
		case r == '\n':
			line++
			col = 0
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f:
			ds.errorf(Position{File: file, Line: line, Column: col}, codeEncoding, "control character %U is not allowed", r)
			return false
		case r == 0xFEFF && i > 0:
			ds.errorf(Position{File: file, Line: line, Column: col}, codeEncoding, "byte order mark in the middle of the file")
			return false
		}
		col++
		i += size
	}
	return true
}

// didYouMean returns ` (did you mean "x"?)` for the candidate closest to s,
// or "" when none is close enough to be a plausible typo.
func didYouMean(s string, candidates []string) string {
	if best := nearest(s, candidates); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// nearest returns the candidate closest to s by edit distance (a swap of
// two neighbouring letters counts as one edit), if that distance is at most
// a third of the longer string (at least 1, at most 4). A candidate that s
// extends or abbreviates ("expectations", "exp" for "expect") counts as one
// edit away.
func nearest(s string, candidates []string) string {
	if s == "" {
		return ""
	}
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	ls := strings.ToLower(s)
	best, bestD := "", -1
	for _, c := range sorted {
		lc := strings.ToLower(c)
		limit := max(min(max(len(s), len(c))/3, 4), 1)
		d := editDistance(ls, lc, limit)
		if d > 1 && min(len(ls), len(lc)) >= 3 && (strings.HasPrefix(ls, lc) || strings.HasPrefix(lc, ls)) {
			d = 1
		}
		if d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b in
// bytes: insertions, deletions, substitutions and swaps of neighbours. Once
// it must exceed limit it returns limit+1.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
