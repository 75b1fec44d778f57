package policies

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// reservedDataName is where a built bundle keeps its compiled rules, under
// data.vigil; no data file may use it.
const reservedDataName = "_rules"

// dataFileValue parses a data file (JSON, or YAML by extension) into
// JSON-compatible data: nil, bool, int64, float64, string, []any or
// map[string]any. It returns the value and the positions of the top-level
// keys, for messages.
func dataFileValue(file string, raw []byte, ds *diags) (value any, keyPos map[string]Position, ok bool) {
	switch strings.ToLower(path.Ext(file)) {
	case ".yaml", ".yml":
		root := parseYAML(file, raw, ds)
		if root == nil {
			if !ds.hasErrorsFor(file) {
				ds.errorf(Position{File: file, Line: 1, Column: 1}, codeData, "empty data file: want an object or a list")
			}
			return nil, nil, false
		}
		dec := newNodeDecoder(file, len(raw), ds)
		n, good := dec.resolve(root)
		if !good {
			return nil, nil, false
		}
		v, good := dec.plain(root, n, "")
		if !good {
			return nil, nil, false
		}
		keyPos = map[string]Position{}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				keyPos[k.Value] = dec.pos(k)
			}
		}
		return v, keyPos, true
	default:
		v, pos, good := parseJSON(file, raw, ds)
		if !good {
			return nil, nil, false
		}
		keyPos = map[string]Position{}
		for k, off := range pos.keys {
			if !strings.Contains(k, ".") {
				keyPos[k] = offsetPos(file, raw, off)
			}
		}
		return v, keyPos, true
	}
}

// hasErrorsFor reports whether an error was recorded for file.
func (d *diags) hasErrorsFor(file string) bool {
	for _, x := range d.list {
		if x.Pos.File == file && x.Severity == DiagError {
			return true
		}
	}
	return false
}

// jsonPositions maps dotted paths of a JSON document ("roots.0",
// "metadata.name") to byte offsets of their keys and values.
type jsonPositions struct {
	keys   map[string]int
	values map[string]int
}

// parseJSON decodes a JSON document with numbers normalized, reporting
// syntax errors at their line and column.
func parseJSON(file string, raw []byte, ds *diags) (any, jsonPositions, bool) {
	if !checkText(file, raw, ds) {
		return nil, jsonPositions{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		reportJSONError(file, raw, err, dec.InputOffset(), ds)
		return nil, jsonPositions{}, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		ds.errorf(offsetPos(file, raw, skipJSONSpace(raw, int(dec.InputOffset()))), codeJSON,
			"JSON syntax: unexpected data after the document")
		return nil, jsonPositions{}, false
	}
	return normalizeJSON(v), scanJSONPositions(raw), true
}

func reportJSONError(file string, raw []byte, err error, fallback int64, ds *diags) {
	off := fallback
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = max(se.Offset-1, 0)
	case errors.As(err, &te):
		off = te.Offset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		off = int64(len(raw))
		if len(bytes.TrimSpace(raw)) == 0 {
			ds.errorf(Position{File: file, Line: 1, Column: 1}, codeJSON, "empty file: want a JSON document")
			return
		}
		ds.errorf(offsetPos(file, raw, int(off)), codeJSON, "JSON syntax: unexpected end of file")
		return
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if field, ok := strings.CutPrefix(msg, "unknown field "); ok {
		// The decoder does not say where; find the key.
		name, _ := strconv.Unquote(field)
		if at, found := firstKey(scanJSONPositions(raw), name); found {
			off = int64(at)
		}
	}
	ds.errorf(offsetPos(file, raw, int(off)), codeJSON, "JSON syntax: %s", msg)
}

// firstKey returns the offset of the first key named name, at any depth.
func firstKey(pos jsonPositions, name string) (int, bool) {
	best, found := 0, false
	for p, off := range pos.keys {
		if (p == name || strings.HasSuffix(p, "."+name)) && (!found || off < best) {
			best, found = off, true
		}
	}
	return best, found
}

// offsetPos converts a byte offset into a line and a column (counted in
// characters, from 1).
func offsetPos(file string, raw []byte, off int) Position {
	off = min(max(off, 0), len(raw))
	line := 1 + bytes.Count(raw[:off], []byte{'\n'})
	start := bytes.LastIndexByte(raw[:off], '\n') + 1
	return Position{File: file, Line: line, Column: 1 + utf8.RuneCount(raw[start:off])}
}

func skipJSONSpace(raw []byte, off int) int {
	for off < len(raw) {
		switch raw[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// scanJSONPositions walks the tokens of a valid JSON document and records
// where each key and value starts.
func scanJSONPositions(raw []byte) jsonPositions {
	pos := jsonPositions{keys: map[string]int{}, values: map[string]int{}}
	type frame struct {
		obj       bool
		expectKey bool
		key       string
		idx       int
		path      string
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		start := skipJSONSpace(raw, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return pos
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if delim, ok := tok.(json.Delim); ok && (delim == '}' || delim == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].expectKey = true
			}
			continue
		}
		if top != nil && top.obj && top.expectKey {
			key, _ := tok.(string)
			top.key, top.expectKey = key, false
			pos.keys[joinPath(top.path, key)] = start
			continue
		}
		p := ""
		switch {
		case top == nil:
		case top.obj:
			p = joinPath(top.path, top.key)
		default:
			p = joinPath(top.path, strconv.Itoa(top.idx))
			top.idx++
		}
		pos.values[p] = start
		if delim, ok := tok.(json.Delim); ok {
			stack = append(stack, &frame{obj: delim == '{', expectKey: delim == '{', path: p})
			continue
		}
		if top != nil && top.obj {
			top.expectKey = true
		}
	}
}

// insertData places value at the slash-separated path under root (creating
// objects on the way) and reports a conflict with data already there.
func insertData(root map[string]any, segments []string, value any) bool {
	cur := root
	for i, s := range segments {
		if i == len(segments)-1 {
			if existing, ok := cur[s]; ok {
				em, ok1 := existing.(map[string]any)
				vm, ok2 := value.(map[string]any)
				if !ok1 || !ok2 {
					return false
				}
				for k, v := range vm {
					if !insertData(em, []string{k}, v) {
						return false
					}
				}
				return true
			}
			cur[s] = value
			return true
		}
		next, ok := cur[s]
		if !ok {
			m := map[string]any{}
			cur[s] = m
			cur = m
			continue
		}
		m, ok := next.(map[string]any)
		if !ok {
			return false
		}
		cur = m
	}
	// An empty path merges value into root.
	vm, ok := value.(map[string]any)
	if !ok {
		return false
	}
	for k, v := range vm {
		if !insertData(root, []string{k}, v) {
			return false
		}
	}
	return true
}
