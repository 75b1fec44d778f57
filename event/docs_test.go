package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const docsPath = "../docs/event-schema.md"

// TestDocsAreGenerated keeps the generated parts of docs/event-schema.md
// (between "<!-- BEGIN GENERATED name -->" and "<!-- END GENERATED name -->")
// equal to what the code says: the action table, the field reference and
// the examples.
func TestDocsAreGenerated(t *testing.T) {
	data, err := os.ReadFile(docsPath)
	require.NoError(t, err)
	sections := map[string]string{
		"actions":  docActions(),
		"fields":   docFields(),
		"examples": docExamples(t),
	}
	out := string(data)
	for name, body := range sections {
		re := regexp.MustCompile(`(?s)(<!-- BEGIN GENERATED ` + name + ` -->\n).*?(<!-- END GENERATED ` + name + ` -->)`)
		require.True(t, re.MatchString(out), "%s has no generated section %q", docsPath, name)
		out = re.ReplaceAllLiteralString(out, "<!-- BEGIN GENERATED "+name+" -->\n"+body+"<!-- END GENERATED "+name+" -->")
	}
	checkGolden(t, docsPath, []byte(out))
}

func docActions() string {
	var b strings.Builder
	b.WriteString("| Action | Area | ECS category | ECS type | OCSF class | OCSF activity | Meaning |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, a := range Actions() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s (%d) | %s (%d) | %s |\n",
			a.Name, a.Area, strings.Join(a.Category, ", "), strings.Join(a.Type, ", "),
			a.OCSF.ClassName(), a.OCSF.ClassUID, a.OCSF.ActivityName(), a.OCSF.ActivityID, a.Description)
	}
	return b.String()
}

func docFields() string {
	var b strings.Builder
	group := ""
	for _, f := range Fields() {
		set, _, nested := strings.Cut(f.Path, ".")
		if !nested || set == "labels" {
			set = "" // top-level fields
		}
		if set != group || b.Len() == 0 {
			group = set
			title, desc := "Top-level fields", "Fields of the event itself."
			if set != "" {
				title, desc = "`"+set+"`", fieldDocs[set]
			}
			fmt.Fprintf(&b, "\n### %s\n\n%s\n\n", title, desc)
			b.WriteString("| Field | Type | Rules | Description |\n|---|---|---|---|\n")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Path, f.Type, fieldRules(f.Path), f.Description)
	}
	b.WriteString("\n")
	return b.String()
}

// fieldRules renders the constraints of the JSON Schema for a field.
func fieldRules(path string) string {
	var rules []string
	if path == "@timestamp" || path == "event.id" || path == "event.action" {
		rules = append(rules, "required")
	}
	c := schemaConstraints[path]
	switch {
	case path == "event.action":
		rules = append(rules, "an action of the vocabulary")
	case c["enum"] != nil:
		rules = append(rules, "one of "+codeList(c["enum"]))
	case c["items"] != nil:
		items, _ := c["items"].(map[string]any)
		rules = append(rules, "each one of "+codeList(items["enum"]))
	case c["pattern"] == sha256Pattern:
		rules = append(rules, "64 hex digits")
	case c["pattern"] == md5Pattern:
		rules = append(rules, "32 hex digits")
	case c["format"] == "date":
		rules = append(rules, "date YYYY-MM-DD")
	case c["maximum"] != nil:
		rules = append(rules, "0 to 65535")
	case c["minimum"] != nil:
		rules = append(rules, "≥ 0, finite")
	}
	if f, ok := LookupField(path); ok && (f.Type == FieldInt || f.Type == FieldInts) && c["maximum"] == nil && !signedInts[path] {
		rules = append(rules, "≥ 0")
	}
	return strings.Join(rules, "; ")
}

func codeList(v any) string {
	list, _ := v.([]string)
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = "`" + s + "`"
	}
	return strings.Join(quoted, ", ")
}

// docExamples renders three of testdata/examples.jsonl, indented.
func docExamples(t *testing.T) string {
	lines := exampleLines(t)
	var b strings.Builder
	for _, i := range []int{0, 2, 3, 4} {
		var out bytes.Buffer
		require.NoError(t, json.Indent(&out, lines[i], "", "  "))
		var head struct {
			Event struct{ Action string } `json:"event"`
		}
		require.NoError(t, json.Unmarshal(lines[i], &head))
		fmt.Fprintf(&b, "\n`%s`:\n\n```json\n%s\n```\n", head.Event.Action, out.String())
	}
	b.WriteString("\n")
	return b.String()
}
