package engine

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/vigil-itm/vigil/event"
)

// The Rego input as an ast.Value, built from the JSON encoding of the event
// and the findings in one pass. It is the value regoInput's map converts to
// (the same JSON encoding, numbers kept as their JSON text), without the
// intermediate map[string]any of every event and finding, which cost more
// than the rest of a decision on the built-in library.

// regoInputDoc is what the decision input's event and findings encode from.
type regoInputDoc struct {
	Event    *event.Event `json:"event"`
	Findings []Finding    `json:"findings"`
}

// regoInputValue returns the Rego input {event, user, findings, bundle} as
// an ast.Value.
func (p *Program) regoInputValue(e *event.Event, findings []Finding) (ast.Value, error) {
	if findings == nil {
		findings = []Finding{}
	}
	b, err := json.Marshal(regoInputDoc{Event: e, Findings: findings})
	if err != nil {
		return nil, fmt.Errorf("encode input: %w", err)
	}
	jp := jsonToAST{b: b}
	v, err := jp.value()
	if err != nil {
		return nil, fmt.Errorf("convert input: %w", err)
	}
	doc, ok := v.(ast.Object)
	if !ok {
		return nil, errors.New("convert input: not an object")
	}
	ev := doc.Get(ast.InternedTerm("event"))
	fs := doc.Get(ast.InternedTerm("findings"))
	if ev == nil || fs == nil {
		return nil, errors.New("convert input: event or findings missing")
	}
	user := ast.NewTerm(ast.NewObject())
	if eo, ok := ev.Value.(ast.Object); ok {
		if u := eo.Get(ast.InternedTerm("user")); u != nil {
			if _, isObj := u.Value.(ast.Object); isObj {
				user = u
			}
		}
	}
	bundle := ast.NewObject(
		ast.Item(ast.InternedTerm("name"), ast.StringTerm(p.name)),
		ast.Item(ast.InternedTerm("revision"), ast.StringTerm(p.revision)),
	)
	return ast.NewObject(
		ast.Item(ast.InternedTerm("event"), ev),
		ast.Item(ast.InternedTerm("user"), user),
		ast.Item(ast.InternedTerm("findings"), fs),
		ast.Item(ast.InternedTerm("bundle"), ast.NewTerm(bundle)),
	), nil
}

// jsonToAST parses JSON as encoding/json writes it into an ast.Value,
// leaf by leaf as ast.InterfaceToValue converts what encoding/json decodes
// with UseNumber.
type jsonToAST struct {
	b   []byte
	pos int
}

var errJSONSyntax = errors.New("invalid JSON")

func (j *jsonToAST) skipSpace() {
	for j.pos < len(j.b) {
		switch j.b[j.pos] {
		case ' ', '\t', '\n', '\r':
			j.pos++
		default:
			return
		}
	}
}

func (j *jsonToAST) value() (ast.Value, error) {
	j.skipSpace()
	if j.pos >= len(j.b) {
		return nil, errJSONSyntax
	}
	switch c := j.b[j.pos]; {
	case c == '{':
		return j.object()
	case c == '[':
		return j.array()
	case c == '"':
		s, err := j.str()
		if err != nil {
			return nil, err
		}
		return ast.InterfaceToValue(s)
	case c == 't':
		return j.word("true", ast.Boolean(true))
	case c == 'f':
		return j.word("false", ast.Boolean(false))
	case c == 'n':
		return j.word("null", ast.NullValue)
	case c == '-' || c >= '0' && c <= '9':
		start := j.pos
		for j.pos < len(j.b) {
			c := j.b[j.pos]
			if c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || c >= '0' && c <= '9' {
				j.pos++
				continue
			}
			break
		}
		return ast.InterfaceToValue(json.Number(j.b[start:j.pos]))
	}
	return nil, errJSONSyntax
}

func (j *jsonToAST) word(w string, v ast.Value) (ast.Value, error) {
	if len(j.b)-j.pos < len(w) || string(j.b[j.pos:j.pos+len(w)]) != w {
		return nil, errJSONSyntax
	}
	j.pos += len(w)
	return v, nil
}

// str reads a string; one with escapes is unquoted by encoding/json.
func (j *jsonToAST) str() (string, error) {
	start := j.pos
	j.pos++
	escaped := false
	for j.pos < len(j.b) {
		switch j.b[j.pos] {
		case '\\':
			escaped = true
			j.pos += 2
			continue
		case '"':
			j.pos++
			if !escaped {
				return string(j.b[start+1 : j.pos-1]), nil
			}
			var s string
			if err := json.Unmarshal(j.b[start:j.pos], &s); err != nil {
				return "", err
			}
			return s, nil
		}
		j.pos++
	}
	return "", errJSONSyntax
}

func (j *jsonToAST) object() (ast.Value, error) {
	j.pos++ // {
	var items [][2]*ast.Term
	j.skipSpace()
	if j.pos < len(j.b) && j.b[j.pos] == '}' {
		j.pos++
		return ast.NewObject(), nil
	}
	for {
		j.skipSpace()
		if j.pos >= len(j.b) || j.b[j.pos] != '"' {
			return nil, errJSONSyntax
		}
		k, err := j.str()
		if err != nil {
			return nil, err
		}
		j.skipSpace()
		if j.pos >= len(j.b) || j.b[j.pos] != ':' {
			return nil, errJSONSyntax
		}
		j.pos++
		v, err := j.value()
		if err != nil {
			return nil, err
		}
		kv, err := ast.InterfaceToValue(k)
		if err != nil {
			return nil, err
		}
		items = append(items, ast.Item(ast.NewTerm(kv), ast.NewTerm(v)))
		j.skipSpace()
		if j.pos >= len(j.b) {
			return nil, errJSONSyntax
		}
		switch j.b[j.pos] {
		case ',':
			j.pos++
		case '}':
			j.pos++
			return ast.NewObject(items...), nil
		default:
			return nil, errJSONSyntax
		}
	}
}

func (j *jsonToAST) array() (ast.Value, error) {
	j.pos++ // [
	var terms []*ast.Term
	j.skipSpace()
	if j.pos < len(j.b) && j.b[j.pos] == ']' {
		j.pos++
		return ast.NewArray(), nil
	}
	for {
		v, err := j.value()
		if err != nil {
			return nil, err
		}
		terms = append(terms, ast.NewTerm(v))
		j.skipSpace()
		if j.pos >= len(j.b) {
			return nil, errJSONSyntax
		}
		switch j.b[j.pos] {
		case ',':
			j.pos++
		case ']':
			j.pos++
			return ast.NewArray(terms...), nil
		default:
			return nil, errJSONSyntax
		}
	}
}
