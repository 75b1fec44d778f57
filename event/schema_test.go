package event

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSchemaGolden keeps schema.json equal to what JSONSchema generates.
func TestSchemaGolden(t *testing.T) {
	got, err := JSONSchema()
	require.NoError(t, err)
	checkGolden(t, "schema.json", got)
}

// TestSchemaListsEveryField walks schema.json: its leaves must be exactly
// FieldPaths, in the same order once sorted.
func TestSchemaListsEveryField(t *testing.T) {
	data, err := os.ReadFile("schema.json")
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(data, &doc))
	require.Equal(t, "https://json-schema.org/draft/2020-12/schema", doc["$schema"])

	var leaves []string
	var walk func(s map[string]any, path string)
	walk = func(s map[string]any, path string) {
		switch s["type"] {
		case "object":
			props, ok := s["properties"].(map[string]any)
			if !ok {
				extra, ok := s["additionalProperties"].(map[string]any)
				require.True(t, ok, "%s: object without properties", path)
				require.Equal(t, "string", extra["type"])
				leaves = append(leaves, path+".*")
				return
			}
			require.Equal(t, false, s["additionalProperties"], "%s must not allow other members", path)
			for name, sub := range props {
				subSchema, ok := sub.(map[string]any)
				require.True(t, ok)
				walk(subSchema, joinPath(path, name))
			}
		case "array":
			items, ok := s["items"].(map[string]any)
			require.True(t, ok)
			if items["type"] == "object" {
				walk(items, path)
				return
			}
			leaves = append(leaves, path)
		default:
			require.NotEmpty(t, s["description"], "%s has no description", path)
			leaves = append(leaves, path)
		}
	}
	walk(doc, "")
	slices.Sort(leaves)
	want := FieldPaths()
	slices.Sort(want)
	require.Equal(t, want, leaves)
}

// TestSchemaMirrorsValidate checks the constraints the schema states
// against the values Validate accepts.
func TestSchemaMirrorsValidate(t *testing.T) {
	for _, a := range Actions() {
		require.Contains(t, actionNames, a.Name)
	}
	require.Len(t, actionNames, len(Actions()))
	for path := range schemaConstraints {
		_, ok := LookupField(path)
		require.True(t, ok, "constraint on unknown field %s", path)
	}
	for path := range signedInts {
		f, ok := LookupField(path)
		require.True(t, ok, path)
		require.Equal(t, FieldInt, f.Type)
	}
}
