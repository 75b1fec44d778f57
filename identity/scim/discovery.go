package scim

import (
	"net/http"
	"strings"
)

// serveSPConfig serves GET /ServiceProviderConfig (RFC 7643 section 5).
func (s *Server) serveSPConfig(w http.ResponseWriter, r *http.Request, id string) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r)
	}
	if id != "" {
		return notFound("no SCIM endpoint %s", r.URL.Path)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []any{urnSPConfig},
		"documentationUri": "https://github.com/vigil-itm/vigil/blob/main/docs/identity.md",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": s.cfg.MaxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": false},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "Bearer token", "primary": true,
			"description": "The token configured in the server's identity.scim section, sent as Authorization: Bearer <token>.",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": s.base(r) + "/ServiceProviderConfig"},
	})
	return nil
}

func (s *Server) base(r *http.Request) string {
	loc := s.location(r, false, "x")
	return strings.TrimSuffix(loc, "/Users/x")
}

// serveDiscovery serves the list of ResourceTypes or Schemas, or one of
// them by id.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request, id string, docs func(base string) []map[string]any) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r)
	}
	all := docs(s.base(r))
	if id != "" {
		for _, d := range all {
			if did, _ := d["id"].(string); strings.EqualFold(did, id) {
				s.writeJSON(w, http.StatusOK, d)
				return nil
			}
		}
		return notFound("%q not found", id)
	}
	list := make([]any, len(all))
	for i, d := range all {
		list[i] = d
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"schemas": []any{urnListResponse}, "totalResults": len(list), "startIndex": 1, "itemsPerPage": len(list),
		"Resources": list,
	})
	return nil
}

func resourceTypes(base string) []map[string]any {
	return []map[string]any{
		{
			"schemas": []any{urnResourceType}, "id": "User", "name": "User", "endpoint": "/Users",
			"description": "A person in the Vigil user directory.", "schema": urnUser,
			"schemaExtensions": []any{map[string]any{"schema": urnEnterprise, "required": false}},
			"meta":             map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/User"},
		},
		{
			"schemas": []any{urnResourceType}, "id": "Group", "name": "Group", "endpoint": "/Groups",
			"description": "A group; its members' user.groups carry its displayName.", "schema": urnGroup,
			"meta": map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/Group"},
		},
	}
}

// attr describes one attribute for /Schemas.
type attr struct {
	name, typ, desc      string
	multi, req, exact    bool
	mutability, returned string
	uniqueness           string
	sub                  []attr
	referenceTypes       []any
	canonicalValues      []any
}

func (a attr) doc() map[string]any {
	m := map[string]any{
		"name": a.name, "type": a.typ, "multiValued": a.multi, "description": a.desc, "required": a.req,
		"caseExact": a.exact, "mutability": or(a.mutability, "readWrite"), "returned": or(a.returned, "default"),
		"uniqueness": or(a.uniqueness, "none"),
	}
	if len(a.sub) > 0 {
		subs := make([]any, len(a.sub))
		for i, s := range a.sub {
			subs[i] = s.doc()
		}
		m["subAttributes"] = subs
	}
	if a.referenceTypes != nil {
		m["referenceTypes"] = a.referenceTypes
	}
	if a.canonicalValues != nil {
		m["canonicalValues"] = a.canonicalValues
	}
	return m
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func strAttr(name, desc string) attr { return attr{name: name, typ: "string", desc: desc} }

// multiValuedOf describes an emails-like attribute.
func multiValuedOf(name, desc string, types ...any) attr {
	return attr{name: name, typ: "complex", multi: true, desc: desc, sub: []attr{
		strAttr("value", "The value."), strAttr("display", "A human-readable name."),
		{name: "type", typ: "string", desc: "The kind of value.", canonicalValues: types},
		{name: "primary", typ: "boolean", desc: "Whether this is the primary value."},
	}}
}

func schemaDoc(base, id, name, desc string, attrs []attr) map[string]any {
	list := make([]any, len(attrs))
	for i, a := range attrs {
		list[i] = a.doc()
	}
	return map[string]any{
		"schemas": []any{urnSchema}, "id": id, "name": name, "description": desc, "attributes": list,
		"meta": map[string]any{"resourceType": "Schema", "location": base + "/Schemas/" + id},
	}
}

func schemas(base string) []map[string]any {
	user := []attr{
		{name: "userName", typ: "string", req: true, uniqueness: "server", desc: "Unique identifier for the user; its local part (or the whole, per the login setting) is the login name events carry."},
		{name: "name", typ: "complex", desc: "The components of the user's name.", sub: []attr{
			strAttr("formatted", "The full name."), strAttr("familyName", "The family name."), strAttr("givenName", "The given name."),
			strAttr("middleName", "The middle name."), strAttr("honorificPrefix", "The honorific prefix."),
			strAttr("honorificSuffix", "The honorific suffix."),
		}},
		strAttr("displayName", "The name displayed for the user."),
		strAttr("nickName", "The casual name."),
		{name: "profileUrl", typ: "reference", desc: "The profile URL.", referenceTypes: []any{"external"}},
		strAttr("title", "The job title."),
		strAttr("userType", "The relationship to the organisation, such as Employee or Contractor."),
		strAttr("preferredLanguage", "The preferred language."),
		strAttr("locale", "The locale."),
		strAttr("timezone", "The time zone."),
		{name: "active", typ: "boolean", desc: "Whether the account is active; false marks the person as disabled."},
		{name: "password", typ: "string", mutability: "writeOnly", returned: "never", desc: "Accepted and discarded: Vigil stores no passwords."},
		multiValuedOf("emails", "Email addresses.", "work", "home", "other"),
		multiValuedOf("phoneNumbers", "Phone numbers.", "work", "home", "mobile", "fax", "pager", "other"),
		{name: "addresses", typ: "complex", multi: true, desc: "Physical mailing addresses.", sub: []attr{
			strAttr("formatted", "The full address."), strAttr("streetAddress", "The street."), strAttr("locality", "The city."),
			strAttr("region", "The region."), strAttr("postalCode", "The postal code."), strAttr("country", "The country."),
			strAttr("type", "The kind of address."), {name: "primary", typ: "boolean", desc: "Whether this is the primary address."},
		}},
		{name: "groups", typ: "complex", multi: true, mutability: "readOnly", desc: "The groups the user is in, directly or not.", sub: []attr{
			{name: "value", typ: "string", mutability: "readOnly", desc: "The group's id."},
			{name: "$ref", typ: "reference", mutability: "readOnly", desc: "The group's URI.", referenceTypes: []any{"Group"}},
			{name: "display", typ: "string", mutability: "readOnly", desc: "The group's displayName."},
			{name: "type", typ: "string", mutability: "readOnly", desc: "direct or indirect.", canonicalValues: []any{"direct", "indirect"}},
		}},
		multiValuedOf("roles", "Roles."),
		multiValuedOf("entitlements", "Entitlements."),
	}
	enterprise := []attr{
		strAttr("employeeNumber", "The employee number."),
		strAttr("costCenter", "The cost centre."),
		strAttr("organization", "The organisation."),
		strAttr("division", "The division."),
		strAttr("department", "The department; events carry it in user.department."),
		{name: "manager", typ: "complex", desc: "The user's manager; events carry the manager's login in user.manager.", sub: []attr{
			{name: "value", typ: "string", desc: "The manager's SCIM id."},
			{name: "$ref", typ: "reference", desc: "The manager's URI.", referenceTypes: []any{"User"}},
			{name: "displayName", typ: "string", mutability: "readOnly", desc: "The manager's name."},
		}},
	}
	group := []attr{
		{name: "displayName", typ: "string", req: true, desc: "The group's name; members' user.groups carry it."},
		{name: "members", typ: "complex", multi: true, desc: "The members: users or groups.", sub: []attr{
			{name: "value", typ: "string", mutability: "immutable", desc: "The member's id."},
			{name: "$ref", typ: "reference", mutability: "immutable", desc: "The member's URI.", referenceTypes: []any{"User", "Group"}},
			{name: "display", typ: "string", desc: "The member's name."},
			{name: "type", typ: "string", mutability: "immutable", desc: "User or Group.", canonicalValues: []any{"User", "Group"}},
		}},
	}
	return []map[string]any{
		schemaDoc(base, urnUser, "User", "User account.", user),
		schemaDoc(base, urnEnterprise, "EnterpriseUser", "Enterprise user.", enterprise),
		schemaDoc(base, urnGroup, "Group", "Group.", group),
	}
}
