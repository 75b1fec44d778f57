package event_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
)

// schemaValidator checks a JSON document against event/schema.json. It
// implements the draft 2020-12 keywords that the generated schema uses, and
// fails on any other keyword, so that a schema change cannot slip past it.
type schemaValidator struct {
	t        *testing.T
	patterns map[string]*regexp.Regexp
}

func newSchemaValidator(t *testing.T) schemaValidator {
	return schemaValidator{t: t, patterns: map[string]*regexp.Regexp{}}
}

func (v schemaValidator) match(pattern, s string) bool {
	re, ok := v.patterns[pattern]
	if !ok {
		re = regexp.MustCompile(pattern)
		v.patterns[pattern] = re
	}
	return re.MatchString(s)
}

var knownKeywords = []string{
	"$schema", "$id", "title", "description", "type", "properties", "additionalProperties",
	"required", "enum", "items", "pattern", "minimum", "maximum", "minLength", "format",
}

func (v schemaValidator) validate(s map[string]any, doc any, path string) []string {
	for k := range s {
		if !slices.Contains(knownKeywords, k) {
			v.t.Fatalf("schema keyword %q at %s is not supported by the test validator", k, path)
		}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	switch s["type"] {
	case "object":
		obj, ok := doc.(map[string]any)
		if !ok {
			fail("not an object")
			return errs
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			name, _ := r.(string)
			if _, ok := obj[name]; !ok {
				fail("missing %s", r)
			}
		}
		for name, val := range obj {
			sub, known := props[name].(map[string]any)
			switch extra := s["additionalProperties"].(type) {
			case bool:
				if !known && !extra {
					fail("unexpected member %q", name)
					continue
				}
			case map[string]any:
				if !known {
					sub = extra
				}
			}
			if sub != nil {
				errs = append(errs, v.validate(sub, val, path+"."+name)...)
			}
		}
	case "array":
		list, ok := doc.([]any)
		if !ok {
			fail("not an array")
			return errs
		}
		items, _ := s["items"].(map[string]any)
		for i, item := range list {
			errs = append(errs, v.validate(items, item, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case "string":
		str, ok := doc.(string)
		if !ok {
			fail("not a string")
			return errs
		}
		if n, ok := s["minLength"].(float64); ok && float64(len(str)) < n {
			fail("shorter than %v", n)
		}
		if p, ok := s["pattern"].(string); ok && !v.match(p, str) {
			fail("%q does not match %s", str, p)
		}
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				fail("not a date-time")
			}
		case "date":
			if _, err := time.Parse(time.DateOnly, str); err != nil {
				fail("not a date")
			}
		}
	case "integer", "number":
		n, ok := doc.(float64)
		if !ok || s["type"] == "integer" && n != math.Trunc(n) {
			fail("not an %s", s["type"])
			return errs
		}
		if m, ok := s["minimum"].(float64); ok && n < m {
			fail("%v below %v", n, m)
		}
		if m, ok := s["maximum"].(float64); ok && n > m {
			fail("%v above %v", n, m)
		}
	case "boolean":
		if _, ok := doc.(bool); !ok {
			fail("not a boolean")
		}
	default:
		v.t.Fatalf("%s: unsupported type %v", path, s["type"])
	}
	if enum, ok := s["enum"]; ok && !slices.Contains(asList(enum), doc) {
		fail("%v not in enum", doc)
	}
	return errs
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("schema.json")
	require.NoError(t, err)
	var s map[string]any
	require.NoError(t, json.Unmarshal(data, &s))
	return s
}

func parseJSON(t *testing.T, data []byte) any {
	t.Helper()
	var doc any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&doc))
	return numbersToFloat(doc)
}

func numbersToFloat(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbersToFloat(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbersToFloat(e)
		}
	}
	return v
}

// TestSchemaAcceptsValidEvents validates the examples and a generated
// stream covering every action against schema.json.
func TestSchemaAcceptsValidEvents(t *testing.T) {
	v := newSchemaValidator(t)
	schema := loadSchema(t)
	events, err := event.DecodeFile("testdata/examples.jsonl")
	require.NoError(t, err)
	events = append(events, eventgen.New(3, eventgen.Options{Users: 50}).Batch(3000)...)
	for _, e := range events {
		data, err := event.Encode(e)
		require.NoError(t, err)
		require.Empty(t, v.validate(schema, parseJSON(t, data), "event"), "%s", data)
	}
}

// TestSchemaAndValidateAgree breaks a valid event in ways both the schema
// and Decode must reject.
func TestSchemaAndValidateAgree(t *testing.T) {
	v := newSchemaValidator(t)
	schema := loadSchema(t)
	base := `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1","action":"file-created"}`
	tests := []struct {
		name string
		doc  string
	}{
		{"unknown action", `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1","action":"fil-created"}}`},
		{"empty id", `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"","action":"logon"}}`},
		{"missing action", `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1"}}`},
		{"missing timestamp", `{"event":{"id":"e1","action":"logon"}}`},
		{"bad kind", `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1","action":"logon","kind":"evt"}}`},
		{"bad category", `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1","action":"logon","category":["usb"]}}`},
		{"bad type", `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1","action":"logon","type":["created"]}}`},
		{"bad outcome", `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1","action":"logon","outcome":"ok"}}`},
		{"unknown field", base + `,"file":{"sizee":1}}`},
		{"negative size", base + `,"file":{"size":-1}}`},
		{"fractional size", base + `,"file":{"size":1.5}}`},
		{"string size", base + `,"file":{"size":"1"}}`},
		{"short sha256", base + `,"file":{"hash":{"sha256":"abc"}}}`},
		{"bad md5", base + `,"process":{"hash":{"md5":"xyz"}}}`},
		{"bad attachment digest", base + `,"email":{"attachments":[{"sha256":"00"}]}}`},
		{"port too large", base + `,"destination":{"port":65536}}`},
		{"negative pages", base + `,"print":{"pages":-2}}`},
		{"bad direction", base + `,"network":{"direction":"sideways"}}`},
		{"bad clipboard operation", base + `,"clipboard":{"operation":"yank"}}`},
		{"bad employment status", base + `,"user":{"employment":{"status":"fired"}}}`},
		{"bad date", base + `,"user":{"employment":{"end_date":"soon"}}}`},
		{"negative risk", base + `,"user":{"risk_score":-1}}`},
		{"bad timestamp", `{"@timestamp":"yesterday","event":{"id":"e1","action":"logon"}}`},
		{"label of the wrong type", base + `,"labels":{"a":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := event.Decode([]byte(tt.doc))
			require.Error(t, err, "Decode accepts it")
			require.NotEmpty(t, v.validate(schema, parseJSON(t, []byte(tt.doc)), "event"), "the schema accepts it")
		})
	}
	// And a fully populated valid event passes both.
	doc := strings.TrimSuffix(base, "}") + `,"kind":"event","outcome":"success"},"process":{"exit_code":-1},"command":{"exit_code":-2}}`
	_, err := event.Decode([]byte(doc))
	require.NoError(t, err)
	require.Empty(t, v.validate(schema, parseJSON(t, []byte(doc)), "event"))
}
