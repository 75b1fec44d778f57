package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
	"github.com/vigil-itm/vigil/store"
)

// OpenAPIVersion is the version of the OpenAPI specification the document
// follows; 3.1 so that the event's JSON Schema (draft 2020-12) fits as it
// is.
const OpenAPIVersion = "3.1.0"

// eventSchema stands for an event in the common event schema in the route
// table; the document refers to the event package's JSON Schema for it.
type eventSchema struct{}

var (
	typeTime     = reflect.TypeFor[time.Time]()
	typeRaw      = reflect.TypeFor[json.RawMessage]()
	typeDuration = reflect.TypeFor[policies.Duration]()
	typeEvent    = reflect.TypeFor[event.Event]()
	typeEventRef = reflect.TypeFor[eventSchema]()
)

// enumTypes are the string types whose values are a closed set.
var enumTypes = map[reflect.Type][]string{
	reflect.TypeFor[Code]():              errorCodes(),
	reflect.TypeFor[store.AlertStatus](): {string(store.StatusOpen), string(store.StatusAcknowledged), string(store.StatusResolved), string(store.StatusFalsePositive)},
	reflect.TypeFor[store.Role]():        {string(store.RoleAdmin), string(store.RoleAnalyst), string(store.RoleAuditor), string(store.RoleAgent)},
	reflect.TypeFor[store.TokenKind]():   {string(store.TokenAPI), string(store.TokenEnrollment)},
}

// errorCodes lists the error codes in table order.
func errorCodes() []string {
	out := make([]string, len(errorTable))
	for i, row := range errorTable {
		out[i] = string(row.code)
	}
	return out
}

// schemaGen derives JSON Schemas from Go types, collecting named struct
// types as components.
type schemaGen struct {
	defs  map[string]any
	names map[reflect.Type]string
	// requests are the types decoded from request bodies: only their
	// fields tagged api:"required" are required. Every field of a response
	// type without omitempty is always present, hence required.
	requests map[reflect.Type]bool
	err      error
}

func newSchemaGen() (*schemaGen, error) {
	g := &schemaGen{defs: map[string]any{}, names: map[reflect.Type]string{}, requests: map[reflect.Type]bool{}}
	raw, err := event.JSONSchema()
	if err != nil {
		return nil, fmt.Errorf("event schema: %w", err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("event schema: %w", err)
	}
	delete(ev, "$id")
	delete(ev, "$schema")
	g.defs["Event"] = ev
	g.names[typeEvent] = "Event"
	g.names[typeEventRef] = "Event"
	return g, nil
}

func refTo(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// schema returns the schema of t: a $ref for named structs, inline
// otherwise.
func (g *schemaGen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name, ok := g.names[t]; ok {
		return refTo(name)
	}
	switch t {
	case typeTime:
		return map[string]any{"type": "string", "format": "date-time"}
	case typeRaw:
		return map[string]any{}
	case typeDuration:
		return map[string]any{"type": "string", "description": "A duration such as 90s, 10m, 1h30m, 7d or 2w."}
	}
	if values, ok := enumTypes[t]; ok {
		return map[string]any{"type": "string", "enum": values}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		name := schemaName(t)
		for other, n := range g.names {
			if n == name && other != t {
				name = exported(lastPathElem(t.PkgPath())) + name
				break
			}
		}
		g.names[t] = name
		g.defs[name] = g.object(t)
		return refTo(name)
	}
	if g.err == nil {
		g.err = fmt.Errorf("no JSON Schema for Go type %s", t)
	}
	return map[string]any{}
}

// object returns the object schema of a struct type.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	obj := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		sort.Strings(required)
		obj["required"] = required
	}
	return obj
}

// fields adds the JSON fields of struct type t, flattening embedded
// structs as encoding/json does.
func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		var s map[string]any
		switch ref, nullable := strings.CutSuffix(f.Tag.Get("schema"), ",nullable"); {
		case ref != "" && nullable:
			s = map[string]any{"oneOf": []any{refTo(ref), map[string]any{"type": "null"}}}
		case ref != "":
			s = refTo(ref)
		default:
			s = g.schema(f.Type)
		}
		if items := f.Tag.Get("items"); items != "" {
			s = map[string]any{"type": "array", "items": refTo(items)}
		}
		if enum := f.Tag.Get("enum"); enum != "" {
			s = copyMap(s)
			s["enum"] = strings.Split(enum, ",")
		}
		if minimum := f.Tag.Get("minimum"); minimum != "" {
			n, err := strconv.Atoi(minimum)
			if err != nil && g.err == nil {
				g.err = fmt.Errorf("%s.%s: minimum tag %q: %w", t, f.Name, minimum, err)
			}
			s = copyMap(s)
			s["minimum"] = n
		}
		props[name] = s
		optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		if g.requests[t] {
			optional = f.Tag.Get("api") != "required"
		}
		if !optional {
			*required = append(*required, name)
		}
	}
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// schemaName is the component name of a named type: its name with the
// first letter upper case.
func schemaName(t reflect.Type) string { return exported(t.Name()) }

func exported(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

func lastPathElem(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// openAPIDocument builds the OpenAPI document from the route table.
func (s *Server) openAPIDocument() (map[string]any, error) {
	g, err := newSchemaGen()
	if err != nil {
		return nil, err
	}
	errorRef := g.schema(reflect.TypeFor[errorBody]())
	paths := map[string]any{}
	tags := []string{}
	for _, rt := range s.routes {
		if !slices.Contains(tags, rt.tag) {
			tags = append(tags, rt.tag)
		}
		op := map[string]any{
			"operationId": rt.op,
			"summary":     rt.summary,
			"tags":        []string{rt.tag},
		}
		desc := rt.desc
		if rt.roles != nil {
			op["security"] = []any{map[string]any{"bearer": []string{}}}
			op["x-vigil-roles"] = rolesStrings(rt.roles)
			if desc != "" {
				desc += "\n\n"
			}
			desc += "Roles: " + joinRoles(rt.roles) + "."
		} else {
			op["security"] = []any{}
		}
		if desc != "" {
			op["description"] = desc
		}
		var params []any
		for _, p := range rt.pathParams {
			params = append(params, paramDoc(p, "path", true))
		}
		for _, p := range rt.query {
			params = append(params, paramDoc(p, "query", false))
		}
		for _, p := range rt.headers {
			params = append(params, paramDoc(p, "header", false))
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.body != nil {
			var schema map[string]any
			if rt.body.schema != nil {
				t := reflect.TypeOf(rt.body.schema)
				g.requests[t] = true
				schema = g.schema(t)
			} else {
				schema = map[string]any{"type": "string", "contentMediaType": rt.body.mediaType}
			}
			op["requestBody"] = map[string]any{
				"required":    !rt.body.optional,
				"description": rt.body.desc + fmt.Sprintf(" At most %d bytes.", rt.limit),
				"content":     map[string]any{rt.body.mediaType: map[string]any{"schema": schema}},
			}
		}
		responses := map[string]any{}
		for _, r := range append([]content{rt.resp}, rt.more...) {
			responses[strconv.Itoa(r.status)] = responseDoc(g, r)
		}
		for status, codes := range routeErrorCodes(rt) {
			key := strconv.Itoa(status)
			names := make([]string, len(codes))
			for i, c := range codes {
				names[i] = string(c)
			}
			line := "Error codes: " + strings.Join(names, ", ") + "."
			if existing, ok := responses[key].(map[string]any); ok {
				d, _ := existing["description"].(string)
				existing["description"] = d + " " + line
				continue
			}
			responses[key] = map[string]any{
				"description": http.StatusText(status) + ". " + line,
				"content":     map[string]any{mediaJSON: map[string]any{"schema": errorRef}},
			}
		}
		op["responses"] = responses
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = op
	}
	if g.err != nil {
		return nil, g.err
	}
	tagDocs := make([]any, len(tags))
	for i, t := range tags {
		tagDocs[i] = map[string]any{"name": t}
	}
	return map[string]any{
		"openapi": OpenAPIVersion,
		"info": map[string]any{
			"title":       "Vigil API",
			"version":     "v1",
			"description": "The REST API of Vigil, an open-source insider threat management platform. Every error answer is {\"error\": {\"code\", \"message\", \"request_id\"}} with a stable code; see docs/api.md for the table of codes.",
			"license":     map[string]any{"name": "Apache-2.0", "identifier": "Apache-2.0"},
		},
		"tags":  tagDocs,
		"paths": paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{
					"type": "http", "scheme": "bearer",
					"description": "An API token secret (vigil_...), created with POST /api/v1/tokens or `vigil token create`.",
				},
			},
		},
	}, nil
}

// openAPIJSON renders the document, indented, with a final newline.
func (s *Server) openAPIJSON() ([]byte, error) {
	doc, err := s.openAPIDocument()
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func rolesStrings(roles []store.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

func paramDoc(p param, in string, required bool) map[string]any {
	schema := map[string]any{"type": p.typ}
	if p.format != "" {
		schema["format"] = p.format
	}
	if p.enum != nil {
		schema["enum"] = p.enum
	}
	return map[string]any{"name": p.name, "in": in, "required": required, "description": p.desc, "schema": schema}
}

func responseDoc(g *schemaGen, r content) map[string]any {
	doc := map[string]any{"description": r.desc}
	if len(r.headers) > 0 {
		hs := map[string]any{}
		for _, h := range r.headers {
			hs[h.name] = map[string]any{"description": h.desc, "schema": map[string]any{"type": h.typ}}
		}
		doc["headers"] = hs
	}
	if r.mediaType != "" {
		var schema map[string]any
		if r.schema != nil {
			schema = g.schema(reflect.TypeOf(r.schema))
		} else {
			schema = map[string]any{"type": "string"}
			if r.mediaType == mediaGzip {
				schema["contentMediaType"] = mediaGzip
			}
		}
		doc["content"] = map[string]any{r.mediaType: map[string]any{"schema": schema}}
	}
	return doc
}

// routeErrorCodes lists, by HTTP status, the error codes a route can
// answer with: its own, and the ones common to its kind of route.
func routeErrorCodes(rt route) map[int][]Code {
	codes := slices.Clone(rt.errors)
	if rt.roles != nil {
		codes = append(codes, CodeUnauthenticated, CodeForbidden)
	}
	codes = append(codes, CodeInvalidArgument, CodeInternal)
	if rt.body != nil {
		codes = append(codes, CodeBodyTooLarge, CodeUnsupportedMediaType)
	}
	if rt.roles != nil {
		codes = append(codes, CodeUnavailable, CodeTimeout)
	}
	out := map[int][]Code{}
	for _, row := range errorTable {
		if slices.Contains(codes, row.code) && row.code != CodeCanceled {
			out[row.status] = append(out[row.status], row.code)
		}
	}
	return out
}
