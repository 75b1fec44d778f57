package scim

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Resources are kept as the JSON objects clients sent (minus what is never
// stored, such as passwords), with the attribute names of the schemas in
// their canonical case. Lookups ignore case anyway, as RFC 7643 says
// attribute names do.

// getCI returns the value of key in m, ignoring case, and the key as
// stored.
func getCI(m map[string]any, key string) (any, string, bool) {
	if v, ok := m[key]; ok {
		return v, key, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, k, true
		}
	}
	return nil, "", false
}

// setCI sets key in m, replacing a key that differs only in case.
func setCI(m map[string]any, key string, v any) {
	if _, k, ok := getCI(m, key); ok && k != key {
		delete(m, k)
	}
	m[key] = v
}

// deleteCI deletes key from m, ignoring case.
func deleteCI(m map[string]any, key string) {
	if _, k, ok := getCI(m, key); ok {
		delete(m, k)
	}
}

// container returns the object holding path's attribute: the resource, or
// the object of its extension schema (created when create is set).
func container(res map[string]any, urn string, create bool) map[string]any {
	if urn == "" {
		return res
	}
	v, _, ok := getCI(res, urn)
	if m, isMap := v.(map[string]any); ok && isMap {
		return m
	}
	if !create {
		return nil
	}
	m := map[string]any{}
	setCI(res, urn, m)
	return m
}

// resolve returns the values path names in res, flattening multi-valued
// attributes: emails.value gives every email's value.
func resolve(res map[string]any, path attrPath) []any {
	c := container(res, path.URN, false)
	if c == nil {
		return nil
	}
	v, _, ok := getCI(c, path.Attr)
	if !ok {
		return nil
	}
	if path.Sub == "" {
		if list, isList := v.([]any); isList {
			return list
		}
		return []any{v}
	}
	var out []any
	each(v, func(elem map[string]any) {
		if sv, _, ok := getCI(elem, path.Sub); ok {
			out = append(out, sv)
		}
	})
	return out
}

// each calls fn for v when it is an object, or for every object in v when
// it is a list.
func each(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
	case []any:
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				fn(m)
			}
		}
	}
}

// caseExact lists the attributes compared case-sensitively (RFC 7643
// section 4.1.1 and 4.2: id and externalId).
func caseExact(path attrPath) bool {
	if path.URN != "" || path.Sub != "" {
		return false
	}
	return strings.EqualFold(path.Attr, "id") || strings.EqualFold(path.Attr, "externalId")
}

func (f *compareFilter) match(res map[string]any) bool {
	vals := resolve(res, f.path)
	if f.op == "pr" {
		for _, v := range vals {
			if present(v) {
				return true
			}
		}
		return false
	}
	exact := caseExact(f.path)
	if f.op == "ne" {
		for _, v := range vals {
			if compare(v, "eq", f.value, exact) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if compare(v, f.op, f.value, exact) {
			return true
		}
	}
	return false
}

func (f *logicalFilter) match(res map[string]any) bool {
	if f.and {
		return f.left.match(res) && f.right.match(res)
	}
	return f.left.match(res) || f.right.match(res)
}

func (f *notFilter) match(res map[string]any) bool { return !f.f.match(res) }

func (f *valuePathFilter) match(res map[string]any) bool {
	c := container(res, f.path.URN, false)
	if c == nil {
		return false
	}
	v, _, ok := getCI(c, f.path.Attr)
	if !ok {
		return false
	}
	found := false
	each(v, func(elem map[string]any) {
		if found || !f.filter.match(elem) {
			return
		}
		if f.op == "" {
			found = true
			return
		}
		sub := &compareFilter{path: attrPath{Attr: f.sub}, op: f.op, value: f.value}
		found = sub.match(elem)
	})
	return found
}

func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// compare applies a filter operator to a stored value and the filter's.
func compare(v any, op string, want any, exact bool) bool {
	if want == nil {
		return op == "eq" && v == nil
	}
	switch w := want.(type) {
	case bool:
		b, ok := asBool(v)
		return ok && op == "eq" && b == w
	case float64:
		n, ok := asNumber(v)
		if !ok {
			return false
		}
		switch op {
		case "eq":
			return n == w
		case "gt":
			return n > w
		case "ge":
			return n >= w
		case "lt":
			return n < w
		case "le":
			return n <= w
		}
		return false
	case string:
		s, ok := v.(string)
		if !ok {
			if b, isBool := v.(bool); isBool {
				s, ok = strconv.FormatBool(b), true
			}
		}
		if !ok {
			return false
		}
		if !exact {
			s, w = strings.ToLower(s), strings.ToLower(w)
		}
		switch op {
		case "eq":
			return s == w
		case "co":
			return strings.Contains(s, w)
		case "sw":
			return strings.HasPrefix(s, w)
		case "ew":
			return strings.HasSuffix(s, w)
		case "gt":
			return s > w
		case "ge":
			return s >= w
		case "lt":
			return s < w
		case "le":
			return s <= w
		}
	}
	return false
}

// asBool reads a boolean, tolerating the strings "True" and "false" that
// some clients send.
func asBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func asNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

// str reads a string attribute of m.
func str(m map[string]any, key string) string {
	if m == nil {
		return ""
	}
	v, _, _ := getCI(m, key)
	s, _ := v.(string)
	return s
}

// obj reads an object attribute of m.
func obj(m map[string]any, key string) map[string]any {
	if m == nil {
		return nil
	}
	v, _, _ := getCI(m, key)
	o, _ := v.(map[string]any)
	return o
}

// deepCopy copies a decoded JSON value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// Canonical attribute names of the schemas, by lower-cased name; written
// resources use them.
var canonical = func() map[string]string {
	m := map[string]string{}
	for _, a := range []string{
		"id", "externalId", "meta", "schemas", "userName", "name", "displayName", "nickName", "profileUrl",
		"title", "userType", "preferredLanguage", "locale", "timezone", "active", "password", "emails",
		"phoneNumbers", "ims", "photos", "addresses", "groups", "entitlements", "roles", "x509Certificates",
		"members", "formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix",
		"value", "display", "type", "primary", "$ref", "employeeNumber", "costCenter", "organization",
		"division", "department", "manager", "streetAddress", "locality", "region", "postalCode", "country",
	} {
		m[strings.ToLower(a)] = a
	}
	return m
}()

// canonicalName returns the schema's spelling of an attribute name.
func canonicalName(name string) string {
	if c, ok := canonical[strings.ToLower(name)]; ok {
		return c
	}
	if strings.EqualFold(name, urnEnterprise) {
		return urnEnterprise
	}
	return name
}

// boolAttrs are the boolean attributes whose string forms ("True") are
// turned into booleans on write.
var boolAttrs = map[string]bool{"active": true, "primary": true}

// normalize rewrites a decoded resource in place: canonical attribute
// names, booleans sent as strings turned into booleans, and attributes
// that are never stored (password) removed. It recurses into complex and
// multi-valued attributes and the enterprise extension.
func normalize(m map[string]any) {
	for k, v := range m {
		c := canonicalName(k)
		if c != k {
			delete(m, k)
			if _, taken := m[c]; taken {
				continue // the canonical spelling wins
			}
			m[c] = v
		}
		if c == "password" {
			delete(m, c)
			continue
		}
		if boolAttrs[c] {
			if b, ok := asBool(v); ok {
				m[c] = b
			}
		}
		switch x := v.(type) {
		case map[string]any:
			normalize(x)
		case []any:
			for _, e := range x {
				if em, ok := e.(map[string]any); ok {
					normalize(em)
				}
			}
		}
	}
}
