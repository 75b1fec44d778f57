package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on filters, so that a hostile one cannot exhaust the server.
const (
	maxFilterLen   = 8 << 10
	maxFilterDepth = 32
)

// errInvalidFilter and errInvalidPath are wrapped by filter and path
// parse errors; the handler answers them with scimType invalidFilter and
// invalidPath.
var (
	errInvalidFilter = errors.New("invalid filter")
	errInvalidPath   = errors.New("invalid path")
)

// attrPath names an attribute: an optional schema URN, the attribute and
// an optional sub-attribute ("urn:…:enterprise:2.0:User:manager.value").
type attrPath struct {
	// URN is the schema of an extension attribute; "" for core attributes
	// (the core schema's URN is dropped when given).
	URN  string
	Attr string
	Sub  string
}

func (p attrPath) String() string {
	s := p.Attr
	if p.URN != "" {
		s = p.URN + ":" + s
	}
	if p.Sub != "" {
		s += "." + p.Sub
	}
	return s
}

// Filter is a parsed SCIM filter expression (RFC 7644 section 3.4.2.2).
type Filter interface {
	// match reports whether the resource (or a multi-valued attribute's
	// element, for a value filter) matches.
	match(res map[string]any) bool
	String() string
}

// compareFilter is `attrPath op value` or `attrPath pr`.
type compareFilter struct {
	path  attrPath
	op    string // eq ne co sw ew gt ge lt le pr
	value any    // string, float64, bool or nil
}

// logicalFilter is `left and right` or `left or right`.
type logicalFilter struct {
	and         bool
	left, right Filter
}

// notFilter is `not (f)`.
type notFilter struct{ f Filter }

// valuePathFilter is `attr[filter]`, optionally followed by
// `.sub op value` (the form Entra ID sends: emails[type eq "work"].value eq "x").
type valuePathFilter struct {
	path   attrPath // URN and Attr only
	filter Filter
	// sub, op and value compare a sub-attribute of the matching elements;
	// op is "" when the form is plain attr[filter].
	sub   string
	op    string
	value any
}

func (f *compareFilter) String() string {
	if f.op == "pr" {
		return f.path.String() + " pr"
	}
	v, _ := json.Marshal(f.value)
	return f.path.String() + " " + f.op + " " + string(v)
}

func (f *logicalFilter) String() string {
	op := "or"
	if f.and {
		op = "and"
	}
	return "(" + f.left.String() + " " + op + " " + f.right.String() + ")"
}

func (f *notFilter) String() string { return "not (" + f.f.String() + ")" }

func (f *valuePathFilter) String() string {
	p := attrPath{URN: f.path.URN, Attr: f.path.Attr}
	s := p.String() + "[" + f.filter.String() + "]"
	if f.op != "" {
		v, _ := json.Marshal(f.value)
		s += "." + f.sub + " " + f.op
		if f.op != "pr" {
			s += " " + string(v)
		}
	}
	return s
}

// ParseFilter parses a SCIM filter. It supports the whole RFC 7644
// grammar (eq ne co sw ew gt ge lt le pr, and, or, not, parentheses,
// value paths) plus the attr[filter].sub op value form Entra ID sends.
// Errors wrap errInvalidFilter and say where the filter went wrong.
func ParseFilter(s string) (Filter, error) {
	if len(s) > maxFilterLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", errInvalidFilter, maxFilterLen)
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: not valid UTF-8", errInvalidFilter)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	f, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf(t, "unexpected %q", t.text)
	}
	return f, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokString
	tokLParen
	tokRParen
	tokLBracket
	tokRBracket
)

type token struct {
	kind tokKind
	text string // a word, or a string's decoded value
	pos  int
}

// lex splits a filter into words, quoted strings and brackets.
func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			i++
		case '(', ')', '[', ']':
			k := map[byte]tokKind{'(': tokLParen, ')': tokRParen, '[': tokLBracket, ']': tokRBracket}[c]
			toks = append(toks, token{kind: k, text: string(c), pos: i})
			i++
		case '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("%w: unterminated string at offset %d", errInvalidFilter, i)
			}
			var v string
			if err := json.Unmarshal([]byte(s[i:j+1]), &v); err != nil {
				return nil, fmt.Errorf("%w: string at offset %d: %v", errInvalidFilter, i, err) //nolint:errorlint // the JSON error is detail, the kind is errInvalidFilter
			}
			toks = append(toks, token{kind: tokString, text: v, pos: i})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()[]\"", rune(s[j])) {
				j++
			}
			toks = append(toks, token{kind: tokWord, text: s[i:j], pos: i})
			i = j
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(s)}), nil
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return fmt.Errorf("%w: at offset %d: %s", errInvalidFilter, t.pos, fmt.Sprintf(format, args...))
}

func (p *parser) keyword(word string) bool {
	t := p.peek()
	if t.kind == tokWord && strings.EqualFold(t.text, word) {
		p.i++
		return true
	}
	return false
}

func (p *parser) or(depth int) (Filter, error) {
	left, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		right, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		left = &logicalFilter{left: left, right: right}
	}
	return left, nil
}

func (p *parser) and(depth int) (Filter, error) {
	left, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		right, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		left = &logicalFilter{and: true, left: left, right: right}
	}
	return left, nil
}

func (p *parser) unary(depth int) (Filter, error) {
	if depth > maxFilterDepth {
		return nil, p.errorf(p.peek(), "nested deeper than %d", maxFilterDepth)
	}
	t := p.peek()
	if t.kind == tokWord && strings.EqualFold(t.text, "not") && p.toks[p.i+1].kind == tokLParen {
		p.next()
		f, err := p.paren(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notFilter{f: f}, nil
	}
	if t.kind == tokLParen {
		return p.paren(depth + 1)
	}
	return p.attrExpr(depth)
}

func (p *parser) paren(depth int) (Filter, error) {
	open := p.next()
	if open.kind != tokLParen {
		return nil, p.errorf(open, "want '('")
	}
	f, err := p.or(depth)
	if err != nil {
		return nil, err
	}
	if t := p.next(); t.kind != tokRParen {
		return nil, p.errorf(t, "want ')' to close the '(' at offset %d", open.pos)
	}
	return f, nil
}

func (p *parser) attrExpr(depth int) (Filter, error) {
	t := p.next()
	if t.kind != tokWord {
		return nil, p.errorf(t, "want an attribute name, got %q", t.text)
	}
	path, err := parseAttrPath(t.text)
	if err != nil {
		return nil, p.errorf(t, "%v", err)
	}
	if p.peek().kind == tokLBracket {
		if path.Sub != "" {
			return nil, p.errorf(t, "a value filter applies to an attribute, not a sub-attribute")
		}
		open := p.next()
		inner, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRBracket {
			return nil, p.errorf(c, "want ']' to close the '[' at offset %d", open.pos)
		}
		vf := &valuePathFilter{path: path, filter: inner}
		// Entra ID's form: attr[filter].sub op value. The lexer keeps
		// ".sub" as one word after ']'.
		if w := p.peek(); w.kind == tokWord && strings.HasPrefix(w.text, ".") {
			p.next()
			vf.sub = w.text[1:]
			if !validAttrName(vf.sub) {
				return nil, p.errorf(w, "sub-attribute %q: not an attribute name", vf.sub)
			}
			op, value, err := p.comparison()
			if err != nil {
				return nil, err
			}
			vf.op, vf.value = op, value
		}
		return vf, nil
	}
	op, value, err := p.comparison()
	if err != nil {
		return nil, err
	}
	return &compareFilter{path: path, op: op, value: value}, nil
}

// comparison parses `op value` or `pr`.
func (p *parser) comparison() (string, any, error) {
	t := p.next()
	if t.kind != tokWord {
		return "", nil, p.errorf(t, "want an operator, got %q", t.text)
	}
	op := strings.ToLower(t.text)
	switch op {
	case "pr":
		return op, nil, nil
	case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
	default:
		return "", nil, p.errorf(t, "unknown operator %q (want eq, ne, co, sw, ew, gt, ge, lt, le or pr)", t.text)
	}
	v := p.next()
	switch v.kind {
	case tokString:
		return op, v.text, nil
	case tokWord:
		switch strings.ToLower(v.text) {
		case "true":
			return op, true, nil
		case "false":
			return op, false, nil
		case "null":
			return op, nil, nil
		}
		n, err := strconv.ParseFloat(v.text, 64)
		if err != nil {
			return "", nil, p.errorf(v, "value %q: want a quoted string, a number, true, false or null", v.text)
		}
		return op, n, nil
	}
	return "", nil, p.errorf(v, "want a value after %q", t.text)
}

// Schema URNs.
const (
	urnUser         = "urn:ietf:params:scim:schemas:core:2.0:User"
	urnGroup        = "urn:ietf:params:scim:schemas:core:2.0:Group"
	urnEnterprise   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	urnListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	urnPatchOp      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	urnError        = "urn:ietf:params:scim:api:messages:2.0:Error"
	urnSPConfig     = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	urnResourceType = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	urnSchema       = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// parseAttrPath parses `[URN:]attr[.sub]`. A core schema URN is dropped;
// an extension URN is kept (canonical case for the enterprise one).
func parseAttrPath(s string) (attrPath, error) {
	var p attrPath
	rest := s
	if len(s) > 4 && strings.EqualFold(s[:4], "urn:") {
		i := strings.LastIndexByte(s, ':')
		urn, attr := s[:i], s[i+1:]
		// The sub-attribute dot must not be taken for part of the URN:
		// "…:User:name.givenName" splits at the last colon.
		switch {
		case strings.EqualFold(urn, urnUser), strings.EqualFold(urn, urnGroup):
		case strings.EqualFold(urn, urnEnterprise):
			p.URN = urnEnterprise
		default:
			p.URN = urn
		}
		rest = attr
	}
	attr, sub, hasSub := strings.Cut(rest, ".")
	if !validAttrName(attr) {
		return p, fmt.Errorf("attribute %q: not an attribute name", s)
	}
	if hasSub && !validAttrName(sub) {
		return p, fmt.Errorf("attribute %q: sub-attribute %q is not an attribute name", s, sub)
	}
	p.Attr, p.Sub = attr, sub
	return p, nil
}

// validAttrName accepts RFC 7643 attribute names (ALPHA *(nameChar)),
// plus "$ref".
func validAttrName(s string) bool {
	if s == "$ref" {
		return true
	}
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '-' || c == '_')) {
			return false
		}
	}
	return true
}
