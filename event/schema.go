package event

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// SchemaID is the $id of the JSON Schema document.
const SchemaID = "https://github.com/vigil-itm/vigil/event/schema.json"

// schemaConstraints are the constraints beyond the JSON type that the JSON
// Schema states for a field. They mirror Validate, which tests keep in step.
var schemaConstraints = map[string]map[string]any{
	"event.id":                    {"minLength": 1},
	"event.action":                {"enum": actionNames},
	"event.kind":                  {"enum": ecsKinds},
	"event.category":              {"items": map[string]any{"type": "string", "enum": ecsCategories}},
	"event.type":                  {"items": map[string]any{"type": "string", "enum": ecsTypes}},
	"event.outcome":               {"enum": ecsOutcomes},
	"network.direction":           {"enum": ecsNetworkDirections},
	"clipboard.operation":         {"enum": clipboardOperations},
	"user.employment.status":      {"enum": employmentStatuses},
	"user.employment.start_date":  {"format": "date"},
	"user.employment.notice_date": {"format": "date"},
	"user.employment.end_date":    {"format": "date"},
	"user.risk_score":             {"minimum": 0},
	"url.port":                    {"maximum": 65535},
	"source.port":                 {"maximum": 65535},
	"destination.port":            {"maximum": 65535},
	"process.hash.sha256":         {"pattern": sha256Pattern},
	"process.hash.md5":            {"pattern": md5Pattern},
	"file.hash.sha256":            {"pattern": sha256Pattern},
	"file.hash.md5":               {"pattern": md5Pattern},
	"email.attachments.sha256":    {"pattern": sha256Pattern},
	"clipboard.content_sha256":    {"pattern": sha256Pattern},
}

// signedInts are the integer fields that may be negative: exit codes.
var signedInts = map[string]bool{"process.exit_code": true, "command.exit_code": true}

const (
	sha256Pattern = "^[0-9A-Fa-f]{64}$"
	md5Pattern    = "^[0-9A-Fa-f]{32}$"
)

// requiredFields lists the required members of objects, by path ("" is the
// event itself).
var requiredFields = map[string][]string{
	"":      {"@timestamp", "event"},
	"event": {"id", "action"},
}

// JSONSchema returns the JSON Schema (draft 2020-12) of the event's JSON
// form, generated from the Go types: every field with its type and
// description, the action vocabulary and the ECS enumerations as enums, the
// required fields, and no other members allowed. event/schema.json holds
// its output.
//
// The schema describes what Encode writes. Decode is as strict, except that
// it also accepts null for any field, meaning absent, and checks the rules
// no schema can express (see Validate).
func JSONSchema() ([]byte, error) {
	root := objectSchema(eventPlan, "")
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "Vigil event"
	root["description"] = "One thing that happened on an endpoint, in Vigil's common event schema: " +
		"ECS-style field names, the action vocabulary in event.action and the OCSF mapping in event.ocsf. " +
		"OCSF version " + OCSFVersion + "."
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode JSON schema: %w", err)
	}
	return buf.Bytes(), nil
}

func objectSchema(p *structPlan, prefix string) map[string]any {
	props := map[string]any{}
	for _, f := range p.fields {
		path := joinPath(prefix, f.name)
		props[f.name] = fieldSchema(f, path)
	}
	s := map[string]any{
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if req, ok := requiredFields[prefix]; ok {
		s["required"] = req
	}
	if d, ok := fieldDocs[prefix]; ok {
		s["description"] = d
	}
	return s
}

func fieldSchema(f *codecField, path string) map[string]any {
	if f.kind == kindPtr {
		return fieldSchema(f.elem, path)
	}
	var s map[string]any
	switch f.kind {
	case kindStruct:
		return objectSchema(f.plan, path)
	case kindSlice:
		s = map[string]any{"type": "array", "items": objectSchema(f.plan, path)}
		if d, ok := fieldDocs[path]; ok {
			s["description"] = d
		}
		return s
	case kindStringMap:
		s = map[string]any{
			"type":                 "object",
			"additionalProperties": map[string]any{"type": "string", "description": fieldDocs[path+".*"]},
		}
	case kindString:
		s = map[string]any{"type": "string"}
	case kindInt:
		s = map[string]any{"type": "integer"}
		if !signedInts[path] {
			s["minimum"] = 0
		}
	case kindFloat:
		s = map[string]any{"type": "number"}
	case kindBool:
		s = map[string]any{"type": "boolean"}
	case kindTime:
		s = map[string]any{"type": "string", "format": "date-time"}
	case kindStrings:
		s = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
	}
	if d, ok := fieldDocs[path]; ok {
		s["description"] = d
	}
	for k, v := range schemaConstraints[path] {
		s[k] = v
	}
	return s
}
