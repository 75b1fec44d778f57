package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"gopkg.in/yaml.v3"
)

// ParseRules parses one rules file: a YAML list of rules. path is the file's
// path inside the bundle (such as "rules/usb.yaml") and names it in
// positions. Every rule gets its Source and FieldPos.
//
// Each rule is checked on its own and against the other rules of the file
// (ids unique); checks that need the whole bundle, such as whether an
// exception's "in: data.…" reference resolves, are left to LoadDir. The
// error, if any, is a Diagnostics listing every problem found.
func ParseRules(path string, data []byte) ([]*Rule, error) {
	var ds diags
	rules := parseRuleFile(path, data, &ds)
	seen := map[string]*Rule{}
	for i, r := range rules {
		validateRule(r, i, &ds, nil)
		checkDuplicateID(r, seen, &ds)
	}
	if err := ds.list.Err(); err != nil {
		return nil, err
	}
	return rules, nil
}

// parseRuleFile decodes a rules file, reporting syntax, key and type
// problems. Rules that fail to decode are left out.
func parseRuleFile(path string, data []byte, ds *diags) []*Rule {
	root := parseYAML(path, data, ds)
	if root == nil {
		return nil
	}
	dec := newNodeDecoder(path, len(data), ds)
	root, ok := dec.resolve(root)
	if !ok {
		return nil
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil
	}
	if root.Kind != yaml.SequenceNode {
		ds.errorf(dec.pos(root), codeWrongType, "a rules file is a YAML list of rules (\"- id: …\"), got %s", describe(root))
		return nil
	}
	var rules []*Rule
	for i, item := range root.Content {
		r := &Rule{FieldPos: map[string]Position{}}
		dec.label = ruleLabel(ruleIDOf(item), i)
		dec.fieldPos = r.FieldPos
		itemNode, ok := dec.resolve(item)
		if !ok {
			dec.errorf(item, codeYAML, "", "too many aliases or nodes")
			break
		}
		if itemNode.Kind != yaml.MappingNode {
			dec.errorf(item, codeWrongType, "", "want a mapping with id, title, severity, when…, got %s", describe(itemNode))
			continue
		}
		if !dec.decode(item, reflect.ValueOf(r).Elem(), "") {
			continue
		}
		r.Source = dec.pos(item)
		rules = append(rules, r)
	}
	return rules
}

// ruleIDOf reads the id of a rule mapping before it is decoded, so that
// messages about its other keys can name it.
func ruleIDOf(n *yaml.Node) string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "id" && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// ruleLabel names a rule in messages: by id, or by its 1-based place in
// its file when it has none.
func ruleLabel(id string, index int) string {
	if id != "" {
		return "rule " + strconv.Quote(id)
	}
	return "rule #" + strconv.Itoa(index+1)
}

// checkDuplicateID reports a rule whose id an earlier rule already has,
// naming both places.
func checkDuplicateID(r *Rule, seen map[string]*Rule, ds *diags) {
	if r.ID == "" {
		return
	}
	if first, dup := seen[r.ID]; dup {
		ds.errorf(r.Pos("id"), codeDuplicateID, "rule %q: id: already defined at %s", r.ID, first.Pos("id"))
		return
	}
	seen[r.ID] = r
}

// Hash returns a stable hash of the rule's definition: every field except
// where it was written (Source and FieldPos). The engine keeps a rule's
// window state across reloads when its hash did not change.
func (r *Rule) Hash() string {
	cp := *r
	cp.Source = Position{}
	cp.FieldPos = nil
	b, err := json.Marshal(&cp)
	if err != nil {
		// Only non-JSON values in Exception.In or Equals get here; they
		// still hash by their printed form.
		b = fmt.Appendf(nil, "%#v", cp)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// has reports whether the rule's source set the key at path.
func (r *Rule) has(path string) bool {
	_, ok := r.FieldPos[path]
	return ok
}
