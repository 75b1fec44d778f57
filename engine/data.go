package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// stringSet is a CEL list of strings whose membership test is a hash lookup,
// so that "x in data.vigil.cloud_domains" costs the same for ten or ten
// thousand entries. Everything else behaves as the list.
type stringSet struct {
	traits.Lister
	items []string
	set   map[string]struct{}
}

func newStringSet(items []string) *stringSet {
	s := &stringSet{
		Lister: types.NewStringList(types.DefaultTypeAdapter, items),
		items:  items,
		set:    make(map[string]struct{}, len(items)),
	}
	for _, it := range items {
		s.set[it] = struct{}{}
	}
	return s
}

// Contains implements traits.Container with a hash lookup for strings.
func (s *stringSet) Contains(v ref.Val) ref.Val {
	if str, ok := v.(types.String); ok {
		_, ok := s.set[string(str)]
		return types.Bool(ok)
	}
	return s.Lister.Contains(v)
}

// dataVar is one value of bundle data exposed to conditions as a CEL
// variable named by its path, such as "data.vigil.cloud_domains".
type dataVar struct {
	name    string
	typ     *cel.Type
	val     ref.Val
	strings []string // for lists of strings
	isList  bool
}

// dataVars walks bundle data and returns one variable per object member
// (at every depth), plus "data" itself.
func dataVars(data map[string]any) []dataVar {
	var out []dataVar
	root := map[string]any{}
	for k, v := range data {
		root[k] = v
	}
	out = append(out, dataVar{name: "data", typ: cel.MapType(cel.StringType, cel.DynType), val: types.DefaultTypeAdapter.NativeToValue(root)})
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !isIdent(k) {
				continue
			}
			name := prefix + "." + k
			v := m[k]
			switch tv := v.(type) {
			case map[string]any:
				out = append(out, dataVar{name: name, typ: cel.MapType(cel.StringType, cel.DynType), val: types.DefaultTypeAdapter.NativeToValue(tv)})
				walk(name, tv)
			case []any:
				if ss, ok := allStrings(tv); ok {
					out = append(out, dataVar{name: name, typ: cel.ListType(cel.StringType), val: newStringSet(ss), strings: ss, isList: true})
				} else {
					out = append(out, dataVar{name: name, typ: cel.ListType(cel.DynType), val: types.DefaultTypeAdapter.NativeToValue(tv), isList: true})
				}
			case []string:
				out = append(out, dataVar{name: name, typ: cel.ListType(cel.StringType), val: newStringSet(tv), strings: tv, isList: true})
			case string:
				out = append(out, dataVar{name: name, typ: cel.StringType, val: types.String(tv)})
			case bool:
				out = append(out, dataVar{name: name, typ: cel.BoolType, val: types.Bool(tv)})
			case float64:
				if tv == float64(int64(tv)) {
					out = append(out, dataVar{name: name, typ: cel.DynType, val: types.Int(int64(tv))})
				} else {
					out = append(out, dataVar{name: name, typ: cel.DynType, val: types.Double(tv)})
				}
			case int:
				out = append(out, dataVar{name: name, typ: cel.DynType, val: types.Int(tv)})
			case int64:
				out = append(out, dataVar{name: name, typ: cel.DynType, val: types.Int(tv)})
			case uint64:
				out = append(out, dataVar{name: name, typ: cel.DynType, val: types.Int(int64(tv))})
			default:
				out = append(out, dataVar{name: name, typ: cel.DynType, val: types.DefaultTypeAdapter.NativeToValue(tv)})
			}
		}
	}
	walk("data", root)
	return out
}

func allStrings(l []any) ([]string, bool) {
	out := make([]string, 0, len(l))
	for _, v := range l {
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9' {
			continue
		}
		return false
	}
	return true
}

// lookupData resolves a "data.…" reference to a list in bundle data.
func lookupData(data map[string]any, ref string) (any, error) {
	if !strings.HasPrefix(ref, "data.") {
		return nil, fmt.Errorf("reference %q must start with \"data.\"", ref)
	}
	var cur any = data
	for _, part := range strings.Split(strings.TrimPrefix(ref, "data."), ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("reference %q: %q is not an object", ref, part)
		}
		cur, ok = m[part]
		if !ok {
			return nil, fmt.Errorf("reference %q: no member %q in bundle data", ref, part)
		}
	}
	return cur, nil
}
