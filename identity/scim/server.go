package scim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/identity"
	"github.com/vigil-itm/vigil/store"
)

// MediaType is the SCIM media type; responses carry it and requests may
// use it or application/json.
const MediaType = "application/scim+json"

// Directory is where the server keeps its resources and feeds its
// records. *identity.Directory implements it.
type Directory interface {
	Apply(ctx context.Context, source string, ch identity.Change) error
	Docs(ctx context.Context, kind string) ([]store.IdentityDoc, error)
}

// Server is the SCIM service provider, an http.Handler. It is safe for
// concurrent use; writes are serialised.
type Server struct {
	cfg       Config
	dir       Directory
	log       *slog.Logger
	now       func() time.Time
	tokenHash [32]byte

	mu     sync.Mutex
	users  map[string]map[string]any // id → resource
	groups map[string]map[string]any
}

var _ http.Handler = (*Server)(nil)

// New builds the service provider. Call Load before serving.
func New(cfg Config, dir Directory, logger *slog.Logger) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tok, err := cfg.token()
	if err != nil {
		return nil, err
	}
	if dir == nil {
		return nil, errors.New("scim: no directory")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg: cfg, dir: dir, log: logger.With("component", "scim", "identity_source", cfg.Source), now: time.Now,
		tokenHash: sha256.Sum256([]byte(tok)),
		users:     map[string]map[string]any{}, groups: map[string]map[string]any{},
	}, nil
}

func (s *Server) kind(resource string) string { return s.cfg.Source + "." + resource }

// Load reads the provisioned resources from the directory's store.
func (s *Server) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range []struct {
		kind string
		into map[string]map[string]any
	}{{s.kind("user"), s.users}, {s.kind("group"), s.groups}} {
		docs, err := s.dir.Docs(ctx, k.kind)
		if err != nil {
			return fmt.Errorf("load scim resources: %w", err)
		}
		for _, d := range docs {
			var m map[string]any
			if err := json.Unmarshal(d.Doc, &m); err != nil {
				return fmt.Errorf("load scim resource %s/%s: %w", k.kind, d.ID, err)
			}
			k.into[d.ID] = m
		}
	}
	s.log.Info("scim resources loaded", "users", len(s.users), "groups", len(s.groups))
	return nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil-scim"`)
		s.writeError(w, &scimError{status: http.StatusUnauthorized, detail: "missing or invalid bearer token"})
		return
	}
	p := strings.TrimPrefix(r.URL.Path, s.cfg.BasePath)
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if len(segs) > 2 || segs[0] == "" {
		s.writeError(w, notFound("no SCIM endpoint %s", r.URL.Path))
		return
	}
	var id string
	if len(segs) == 2 {
		id = segs[1]
	}
	var err error
	switch strings.ToLower(segs[0]) {
	case "users":
		err = s.serveResource(w, r, false, id)
	case "groups":
		err = s.serveResource(w, r, true, id)
	case "serviceproviderconfig":
		err = s.serveSPConfig(w, r, id)
	case "resourcetypes":
		err = s.serveDiscovery(w, r, id, resourceTypes)
	case "schemas":
		err = s.serveDiscovery(w, r, id, schemas)
	default:
		err = notFound("no SCIM endpoint %s", r.URL.Path)
	}
	if err != nil {
		s.writeError(w, err)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	h := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(h[:], s.tokenHash[:]) == 1
}

func notFound(format string, args ...any) error {
	return &scimError{status: http.StatusNotFound, detail: fmt.Sprintf(format, args...)}
}

func methodNotAllowed(r *http.Request) error {
	return &scimError{status: http.StatusMethodNotAllowed, detail: r.Method + " is not allowed on " + r.URL.Path}
}

func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, group bool, id string) error {
	switch {
	case id == "" && r.Method == http.MethodGet:
		return s.list(w, r, group)
	case id == "" && r.Method == http.MethodPost:
		return s.create(w, r, group)
	case id == "":
		return methodNotAllowed(r)
	case r.Method == http.MethodGet:
		return s.get(w, r, group, id)
	case r.Method == http.MethodPut:
		return s.replace(w, r, group, id)
	case r.Method == http.MethodPatch:
		return s.patch(w, r, group, id)
	case r.Method == http.MethodDelete:
		return s.delete(w, r, group, id)
	}
	return methodNotAllowed(r)
}

// readBody reads a JSON object body within the size limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != MediaType && mt != "application/json") {
			return &scimError{status: http.StatusUnsupportedMediaType, detail: fmt.Sprintf("Content-Type %q: want %s or application/json", ct, MediaType)}
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &scimError{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBodyBytes)}
		}
		return badRequest("invalidSyntax", "read body: %v", err)
	}
	if err := decodeBody(data, v); err != nil {
		return err
	}
	return nil
}

// decodeBody decodes a JSON body; errors are SCIM invalidSyntax.
func decodeBody(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return badRequest("invalidSyntax", "request body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("invalidSyntax", "unexpected data after the JSON value")
	}
	return nil
}

func (s *Server) location(r *http.Request, group bool, id string) string {
	base := s.cfg.BaseURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host + s.cfg.BasePath
	}
	if group {
		return base + "/Groups/" + url.PathEscape(id)
	}
	return base + "/Users/" + url.PathEscape(id)
}

// prepare checks a resource a client sent (POST, PUT, PATCH result) and
// normalises it. It returns a *scimError.
func (s *Server) prepare(res map[string]any, group bool, id string) error {
	normalize(res)
	deleteCI(res, "groups") // read-only: computed from the groups' members
	if group {
		if name, ok := res["displayName"].(string); !ok || strings.TrimSpace(name) == "" {
			return badRequest("invalidValue", "displayName is required and must be a string")
		}
		if m, ok := res["members"]; ok && m != nil {
			list, isList := m.([]any)
			if !isList {
				return badRequest("invalidValue", "members must be a list")
			}
			for _, e := range list {
				em, isObj := e.(map[string]any)
				if v, _ := em["value"].(string); !isObj || v == "" {
					return badRequest("invalidValue", "every member needs a value (the id of a user or group)")
				}
			}
		}
		if _, ok := res["schemas"]; !ok {
			res["schemas"] = []any{urnGroup}
		}
	} else {
		name, ok := res["userName"].(string)
		if !ok || strings.TrimSpace(name) == "" {
			return badRequest("invalidValue", "userName is required and must be a string")
		}
		if a, ok := res["active"]; ok && a != nil {
			if _, isBool := a.(bool); !isBool {
				return badRequest("invalidValue", "active must be a boolean, got %v", a)
			}
		}
		if ext := obj(res, urnEnterprise); ext != nil {
			// Entra ID sends the manager as a bare id.
			if m, ok := ext["manager"].(string); ok {
				ext["manager"] = map[string]any{"value": m}
			}
		}
		if login(name, s.cfg.Login) == "" {
			return badRequest("invalidValue", "userName %q gives an empty login name", name)
		}
		for uid, u := range s.users {
			if uid != id && strings.EqualFold(str(u, "userName"), name) {
				return &scimError{status: http.StatusConflict, scimType: "uniqueness", detail: fmt.Sprintf("userName %q is taken", name)}
			}
		}
		if _, ok := res["schemas"]; !ok {
			res["schemas"] = []any{urnUser}
		}
	}
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, group bool) error {
	var res map[string]any
	if err := s.readBody(w, r, &res); err != nil {
		return err
	}
	if res == nil {
		return badRequest("invalidSyntax", "the body must be a JSON object")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	id := event.NewID(now)
	deleteCI(res, "id")
	deleteCI(res, "meta")
	if err := s.prepare(res, group, id); err != nil {
		return err
	}
	res["id"] = id
	res["meta"] = map[string]any{"resourceType": resourceType(group), "created": now.Format(time.RFC3339Nano),
		"lastModified": now.Format(time.RFC3339Nano)}
	if err := s.commit(r.Context(), group, id, res); err != nil {
		return err
	}
	w.Header().Set("Location", s.location(r, group, id))
	s.writeJSON(w, http.StatusCreated, s.render(r, group, id, res, nil))
	return nil
}

func resourceType(group bool) string {
	if group {
		return "Group"
	}
	return "User"
}

func (s *Server) table(group bool) map[string]map[string]any {
	if group {
		return s.groups
	}
	return s.users
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, group bool, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, ok := s.table(group)[id]
	if !ok {
		return notFound("%s %q not found", resourceType(group), id)
	}
	out, err := project(s.render(r, group, id, res, nil), r.URL.Query())
	if err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) replace(w http.ResponseWriter, r *http.Request, group bool, id string) error {
	var res map[string]any
	if err := s.readBody(w, r, &res); err != nil {
		return err
	}
	if res == nil {
		return badRequest("invalidSyntax", "the body must be a JSON object")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.table(group)[id]
	if !ok {
		return notFound("%s %q not found", resourceType(group), id)
	}
	deleteCI(res, "id")
	deleteCI(res, "meta")
	if err := s.prepare(res, group, id); err != nil {
		return err
	}
	s.stamp(res, old, id)
	if err := s.commit(r.Context(), group, id, res); err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, s.render(r, group, id, res, nil))
	return nil
}

// stamp sets id and meta on a new version of old.
func (s *Server) stamp(res, old map[string]any, id string) {
	meta, _ := deepCopy(obj(old, "meta")).(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["lastModified"] = s.now().UTC().Format(time.RFC3339Nano)
	res["id"], res["meta"] = id, meta
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, group bool, id string) error {
	var req patchRequest
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	if len(req.Operations) == 0 {
		return badRequest("invalidValue", "Operations: at least one operation is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.table(group)[id]
	if !ok {
		return notFound("%s %q not found", resourceType(group), id)
	}
	res, _ := deepCopy(old).(map[string]any)
	for i, op := range req.Operations {
		if err := applyPatch(res, op); err != nil {
			if se := asSCIMError(err); se != nil {
				se.detail = fmt.Sprintf("Operations[%d]: %s", i, se.detail)
			}
			return err
		}
	}
	if err := s.prepare(res, group, id); err != nil {
		return err
	}
	s.stamp(res, old, id)
	if err := s.commit(r.Context(), group, id, res); err != nil {
		return err
	}
	if group {
		// Okta and Entra ID both take 204 for a group PATCH; it spares
		// sending the members back.
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	s.writeJSON(w, http.StatusOK, s.render(r, group, id, res, nil))
	return nil
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, group bool, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.table(group)[id]; !ok {
		return notFound("%s %q not found", resourceType(group), id)
	}
	if err := s.commit(r.Context(), group, id, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// commit makes res (nil: deleted) the new version of resource id,
// removes a deleted resource from every group's members, and writes the
// resources and the records of every user whose groups may have changed
// to the directory in one transaction. On failure nothing changes.
// s.mu is held.
func (s *Server) commit(ctx context.Context, group bool, id string, res map[string]any) error {
	type undo struct {
		table map[string]map[string]any
		id    string
		old   map[string]any
		had   bool
	}
	var undos []undo
	set := func(table map[string]map[string]any, id string, v map[string]any) {
		old, had := table[id]
		undos = append(undos, undo{table, id, old, had})
		if v == nil {
			delete(table, id)
		} else {
			table[id] = v
		}
	}
	affected := map[string]bool{} // user ids whose record may change
	if group {
		s.membersOf(id, affected)
	} else {
		affected[id] = true
	}
	changedGroups := map[string]bool{}
	set(s.table(group), id, res)
	if res == nil {
		// Drop the deleted resource from every group's members.
		for gid, g := range s.groups {
			members, _ := g["members"].([]any)
			kept := members[:0:0]
			for _, m := range members {
				if mm, ok := m.(map[string]any); ok && mm["value"] == id {
					continue
				}
				kept = append(kept, m)
			}
			if len(kept) != len(members) {
				ng, _ := deepCopy(g).(map[string]any)
				ng["members"] = kept
				s.stamp(ng, g, gid)
				set(s.groups, gid, ng)
				changedGroups[gid] = true
			}
		}
	}
	if group {
		s.membersOf(id, affected)
		changedGroups[id] = true
	}
	ch := identity.Change{}
	parents := s.parentIndex()
	for uid := range affected {
		if u, ok := s.users[uid]; ok {
			ch.Upserts = append(ch.Upserts, s.record(uid, u, parents))
		} else {
			ch.Deletes = append(ch.Deletes, uid)
		}
	}
	sort.Slice(ch.Upserts, func(i, j int) bool { return ch.Upserts[i].Key < ch.Upserts[j].Key })
	sort.Strings(ch.Deletes)
	for gid := range changedGroups {
		ch.Extra = append(ch.Extra, s.op(true, gid))
	}
	if !group {
		ch.Extra = append(ch.Extra, s.op(false, id))
	}
	if err := s.dir.Apply(ctx, s.cfg.Source, ch); err != nil {
		for i := len(undos) - 1; i >= 0; i-- {
			u := undos[i]
			if u.had {
				u.table[u.id] = u.old
			} else {
				delete(u.table, u.id)
			}
		}
		if errors.Is(err, store.ErrInvalid) {
			return badRequest("invalidValue", "%v", err)
		}
		return fmt.Errorf("save %s %q: %w", resourceType(group), id, err)
	}
	return nil
}

// op returns the store operation that saves (or deletes) a resource as it
// now is.
func (s *Server) op(group bool, id string) store.IdentityOp {
	kind := s.kind("user")
	if group {
		kind = s.kind("group")
	}
	res, ok := s.table(group)[id]
	if !ok {
		return store.IdentityOp{Kind: kind, ID: id}
	}
	doc, err := json.Marshal(res)
	if err != nil {
		// Decoded JSON always encodes again.
		panic(fmt.Sprintf("scim: encode %s: %v", id, err))
	}
	return store.IdentityOp{Kind: kind, ID: id, Doc: doc}
}

// membersOf adds to users the ids of every user in group gid, directly or
// through nested groups.
func (s *Server) membersOf(gid string, users map[string]bool) {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(gid string) {
		if seen[gid] {
			return
		}
		seen[gid] = true
		g, ok := s.groups[gid]
		if !ok {
			return
		}
		members, _ := g["members"].([]any)
		for _, m := range members {
			mm, _ := m.(map[string]any)
			v, _ := mm["value"].(string)
			if _, isGroup := s.groups[v]; isGroup {
				walk(v)
			} else if v != "" {
				users[v] = true
			}
		}
	}
	walk(gid)
}

// parentIndex maps every member id (user or group) to the ids of the
// groups it is a direct member of.
func (s *Server) parentIndex() map[string][]string {
	parents := map[string][]string{}
	for gid, g := range s.groups {
		members, _ := g["members"].([]any)
		for _, m := range members {
			mm, _ := m.(map[string]any)
			if v, _ := mm["value"].(string); v != "" {
				parents[v] = append(parents[v], gid)
			}
		}
	}
	return parents
}

// groupsOf returns the groups user uid belongs to, directly or through
// nested groups, as SCIM group references.
func (s *Server) groupsOf(uid string, parents map[string][]string) []map[string]any {
	var out []map[string]any
	seen := map[string]bool{}
	var walk func(id string, direct bool)
	walk = func(id string, direct bool) {
		for _, gid := range parents[id] {
			if seen[gid] {
				continue
			}
			seen[gid] = true
			typ := "indirect"
			if direct {
				typ = "direct"
			}
			out = append(out, map[string]any{"value": gid, "display": str(s.groups[gid], "displayName"), "type": typ})
			walk(gid, false)
		}
	}
	walk(uid, true)
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]["value"]) < fmt.Sprint(out[j]["value"]) })
	return out
}

// login derives a user's login name from userName.
func login(userName, mode string) string {
	l := strings.ToLower(strings.TrimSpace(userName))
	if mode == LoginUserName {
		return l
	}
	if i := strings.LastIndexByte(l, '\\'); i >= 0 {
		l = l[i+1:]
	}
	if i := strings.IndexByte(l, '@'); i >= 0 {
		l = l[:i]
	}
	return l
}

// record projects a user resource onto a directory record.
func (s *Server) record(id string, u map[string]any, parents map[string][]string) identity.Record {
	userName := str(u, "userName")
	rec := identity.Record{Key: id, Login: login(userName, s.cfg.Login), Title: str(u, "title")}
	rec.Aliases = append(rec.Aliases, strings.ToLower(userName))
	rec.FullName = str(u, "displayName")
	if name := obj(u, "name"); rec.FullName == "" && name != nil {
		rec.FullName = str(name, "formatted")
		if rec.FullName == "" {
			rec.FullName = strings.TrimSpace(str(name, "givenName") + " " + str(name, "familyName"))
		}
	}
	emails, _, _ := getCI(u, "emails")
	var work, primary, firstEmail string
	each(emails, func(e map[string]any) {
		v := str(e, "value")
		if v == "" {
			return
		}
		rec.Aliases = append(rec.Aliases, strings.ToLower(v))
		if firstEmail == "" {
			firstEmail = v
		}
		if b, _ := asBool(e["primary"]); b && primary == "" {
			primary = v
		}
		if strings.EqualFold(str(e, "type"), "work") && work == "" {
			work = v
		}
	})
	rec.Email = firstNonEmpty(primary, work, firstEmail)
	if a, ok := u["active"].(bool); ok {
		rec.Active = &a
	}
	if t := str(u, "userType"); t != "" {
		rec.Employment.Type = strings.ToLower(t)
	}
	if ext := obj(u, urnEnterprise); ext != nil {
		rec.EmployeeNumber = str(ext, "employeeNumber")
		rec.CostCenter = str(ext, "costCenter")
		rec.Division = str(ext, "division")
		rec.Organization = str(ext, "organization")
		rec.Department = str(ext, "department")
		mv, _, _ := getCI(ext, "manager")
		switch m := mv.(type) {
		case string:
			rec.ManagerRef = m
		case map[string]any:
			rec.ManagerRef = str(m, "value")
			rec.Manager = str(m, "displayName")
		}
	}
	for _, g := range s.groupsOf(id, parents) {
		if name, _ := g["display"].(string); name != "" {
			rec.Groups = append(rec.Groups, name)
		}
	}
	return rec
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// render returns the representation of a resource sent to clients: the
// stored resource with meta.location and, for users, their groups.
func (s *Server) render(r *http.Request, group bool, id string, res map[string]any, parents map[string][]string) map[string]any {
	out, _ := deepCopy(res).(map[string]any)
	if meta, ok := out["meta"].(map[string]any); ok {
		meta["location"] = s.location(r, group, id)
	}
	if !group {
		if parents == nil {
			parents = s.parentIndex()
		}
		if gs := s.groupsOf(id, parents); len(gs) > 0 {
			list := make([]any, len(gs))
			for i, g := range gs {
				gid, _ := g["value"].(string)
				g["$ref"] = s.location(r, true, gid)
				list[i] = g
			}
			out["groups"] = list
		}
	}
	return out
}

// project applies the attributes and excludedAttributes parameters to a
// rendered resource. id and schemas are always returned.
func project(res map[string]any, q url.Values) (map[string]any, error) {
	attrs, excluded := q.Get("attributes"), q.Get("excludedAttributes")
	if attrs == "" && excluded == "" {
		return res, nil
	}
	names := func(list string) (map[string]bool, error) {
		out := map[string]bool{}
		for _, a := range strings.Split(list, ",") {
			if a = strings.TrimSpace(a); a == "" {
				continue
			}
			p, err := parseAttrPath(a)
			if err != nil {
				return nil, badRequest("invalidValue", "attribute list: %v", err)
			}
			key := strings.ToLower(p.Attr)
			if p.URN != "" {
				key = strings.ToLower(p.URN)
			}
			out[key] = true
		}
		return out, nil
	}
	if attrs != "" {
		keep, err := names(attrs)
		if err != nil {
			return nil, err
		}
		for k := range res {
			lk := strings.ToLower(k)
			if !keep[lk] && lk != "id" && lk != "schemas" && lk != "meta" {
				delete(res, k)
			}
		}
		return res, nil
	}
	drop, err := names(excluded)
	if err != nil {
		return nil, err
	}
	for k := range res {
		lk := strings.ToLower(k)
		if drop[lk] && lk != "id" && lk != "schemas" {
			delete(res, k)
		}
	}
	return res, nil
}

// list serves GET /Users and GET /Groups: filter, then page.
func (s *Server) list(w http.ResponseWriter, r *http.Request, group bool) error {
	q := r.URL.Query()
	var f Filter
	if fs := q.Get("filter"); fs != "" {
		var err error
		if f, err = ParseFilter(fs); err != nil {
			return badRequest("invalidFilter", "%v", err)
		}
	}
	start, count := 1, DefaultPageSize
	if v := q.Get("startIndex"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return badRequest("invalidValue", "startIndex %q: want an integer", v)
		}
		start = max(n, 1)
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return badRequest("invalidValue", "count %q: want an integer", v)
		}
		count = min(max(n, 0), s.cfg.MaxResults)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	table := s.table(group)
	ids := make([]string, 0, len(table))
	for id := range table {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	// Filters about groups need the rendered users; others are matched
	// on the stored resources, and only the page is rendered.
	needRender := f != nil && !group && strings.Contains(strings.ToLower(q.Get("filter")), "groups")
	var parents map[string][]string
	if !group {
		parents = s.parentIndex()
	}
	var matched []string
	for _, id := range ids {
		res := table[id]
		if needRender {
			res = s.render(r, group, id, res, parents)
		}
		if f == nil || f.match(res) {
			matched = append(matched, id)
		}
	}
	page := []any{}
	for i := start - 1; i < len(matched) && len(page) < count; i++ {
		id := matched[i]
		out, err := project(s.render(r, group, id, table[id], parents), q)
		if err != nil {
			return err
		}
		page = append(page, out)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"schemas":      []any{urnListResponse},
		"totalResults": len(matched),
		"startIndex":   start,
		"itemsPerPage": len(page),
		"Resources":    page,
	})
	return nil
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.log.Error("encode SCIM response", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client went away; nothing to do
}

// writeError writes a SCIM error body (RFC 7644 section 3.12).
func (s *Server) writeError(w http.ResponseWriter, err error) {
	se := asSCIMError(err)
	if se == nil {
		s.log.Error("SCIM request failed", "err", err)
		se = &scimError{status: http.StatusInternalServerError, detail: "internal error; the server log has the details"}
		if errors.Is(err, store.ErrFull) {
			se.detail = "storage full"
		}
	}
	body := map[string]any{"schemas": []any{urnError}, "status": strconv.Itoa(se.status), "detail": se.detail}
	if se.scimType != "" {
		body["scimType"] = se.scimType
	}
	s.writeJSON(w, se.status, body)
}
