package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/vigil-itm/vigil/alerts"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/identity"
	"github.com/vigil-itm/vigil/store"
)

// Directory is the merged user directory (identity.Directory): people with
// their context, and watchlists.
type Directory interface {
	People(f identity.PeopleFilter) ([]identity.Person, string)
	Person(name string) (identity.Person, error)
	Watchlists() []identity.Watchlist
	Watchlist(name string) (identity.Watchlist, error)
	CreateWatchlist(ctx context.Context, w identity.Watchlist) (identity.Watchlist, error)
	AddToWatchlist(ctx context.Context, name, user, reason string) (identity.Watchlist, error)
	RemoveFromWatchlist(ctx context.Context, name, user string) (identity.Watchlist, error)
	DeleteWatchlist(ctx context.Context, name string) error
	// Enrich fills an event's user field set from the directory and
	// reports whether it changed the event.
	Enrich(e *event.Event) (changed bool)
	// BundleData is the directory document agents enrich events with.
	BundleData(logins ...string) map[string]any
}

// Sinks is SIEM delivery (alerts.Dispatcher): new alerts go out through
// it, and operators look at and replay what could not be delivered.
type Sinks interface {
	Dispatch(a store.Alert, rec store.DecisionRecord)
	Sinks() []alerts.SinkStatus
	DeadLetters(sink string) ([]alerts.DeadLetter, error)
	Retry(sink, id string) error
	RetryAll(sink string) (int, error)
	Discard(sink, id string) error
	SendTest(ctx context.Context, sink string) error
}

// EventExport takes newly stored events for export to SIEMs (the OCSF
// event stream of alerts.Dispatcher). It must not block: delivery has its
// own queues. Of a batch that mixes new and already stored events, only
// the new ones are exported.
type EventExport interface {
	ExportEvents(events []*event.Event)
}

// Mount is an http.Handler served under a path prefix outside the route
// table, with its own authentication (the SCIM service provider, the web
// console).
type Mount struct {
	// Prefix is the path the handler owns, such as "/scim/v2".
	Prefix  string
	Handler http.Handler
}

// personList is a page of people.
type personList struct {
	People []identity.Person `json:"people"`
	Next   string            `json:"next,omitempty"`
}

// watchlistList lists the watchlists.
type watchlistList struct {
	Watchlists []identity.Watchlist `json:"watchlists"`
}

// watchlistRequest creates a manual watchlist.
type watchlistRequest struct {
	Name        string   `json:"name" api:"required"`
	Description string   `json:"description,omitempty"`
	Members     []string `json:"members,omitempty"`
}

// memberRequest adds a person to a watchlist.
type memberRequest struct {
	// Reason is kept with the membership and written to the audit log.
	Reason string `json:"reason,omitempty"`
}

// sinkList lists the SIEM sinks.
type sinkList struct {
	Sinks []alerts.SinkStatus `json:"sinks"`
}

// deadLetterList lists a sink's dead letters.
type deadLetterList struct {
	DeadLetters []alerts.DeadLetter `json:"dead_letters"`
}

// retryResponse says how many dead letters went back to the queue.
type retryResponse struct {
	Retried int `json:"retried"`
}

func (s *Server) directory() (Directory, error) {
	if s.deps.Directory == nil {
		return nil, notConfigured("the user directory is not configured on this server")
	}
	return s.deps.Directory, nil
}

func (s *Server) sinks() (Sinks, error) {
	if s.deps.Sinks == nil {
		return nil, notConfigured("SIEM delivery is not configured on this server (sinks)")
	}
	return s.deps.Sinks, nil
}

func (s *Server) listPeople(c *gin.Context) (any, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	q := queryParams{c: c}
	f := identity.PeopleFilter{Department: q.str("department"), Status: q.str("status"), Watchlist: q.str("watchlist"),
		Source: q.str("source"), Query: q.str("q"), Limit: q.int("limit", 0, 1, maxLimit), Cursor: q.str("cursor")}
	if v := q.str("contractor"); v != "" {
		b := v == "true"
		if !b && v != "false" {
			return nil, errorf(CodeInvalidArgument, "contractor: want true or false, got %q", v)
		}
		f.Contractor = &b
	}
	if q.err != nil {
		return nil, q.err
	}
	people, next := d.People(f)
	if people == nil {
		people = []identity.Person{}
	}
	return personList{People: people, Next: next}, nil
}

func (s *Server) getPerson(c *gin.Context) (any, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	return d.Person(c.Param("name"))
}

func (s *Server) listWatchlists(c *gin.Context) (any, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	return watchlistList{Watchlists: d.Watchlists()}, nil
}

func (s *Server) getWatchlist(c *gin.Context) (any, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	return d.Watchlist(c.Param("name"))
}

func (s *Server) createWatchlist(c *gin.Context) (any, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	data, err := readBody(c, s.cfg.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	var req watchlistRequest
	if err := decodeJSON(data, &req, false); err != nil {
		return nil, err
	}
	w, err := d.CreateWatchlist(c.Request.Context(), identity.Watchlist{Name: strings.TrimSpace(req.Name),
		Kind: identity.KindManual, Description: req.Description, Members: req.Members})
	if err != nil {
		return nil, err
	}
	if err := s.audit(c, "watchlist.create", w.Name, ""); err != nil {
		return nil, err
	}
	return reply{status: http.StatusCreated, body: w}, nil
}

func (s *Server) deleteWatchlist(c *gin.Context) (any, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	name := c.Param("name")
	if err := d.DeleteWatchlist(c.Request.Context(), name); err != nil {
		return nil, err
	}
	return nil, s.audit(c, "watchlist.delete", name, "")
}

func (s *Server) addWatchlistMember(c *gin.Context) (any, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	data, err := readBody(c, s.cfg.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	var req memberRequest
	if err := decodeJSON(data, &req, true); err != nil {
		return nil, err
	}
	name, user := c.Param("name"), c.Param("user")
	w, err := d.AddToWatchlist(c.Request.Context(), name, user, req.Reason)
	if err != nil {
		return nil, err
	}
	if err := s.audit(c, "watchlist.add", name+":"+user, req.Reason); err != nil {
		return nil, err
	}
	return w, nil
}

func (s *Server) removeWatchlistMember(c *gin.Context) (any, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	name, user := c.Param("name"), c.Param("user")
	w, err := d.RemoveFromWatchlist(c.Request.Context(), name, user)
	if err != nil {
		return nil, err
	}
	if err := s.audit(c, "watchlist.remove", name+":"+user, ""); err != nil {
		return nil, err
	}
	return w, nil
}

func (s *Server) listSinks(c *gin.Context) (any, error) {
	sk, err := s.sinks()
	if err != nil {
		return nil, err
	}
	st := sk.Sinks()
	if st == nil {
		st = []alerts.SinkStatus{}
	}
	return sinkList{Sinks: st}, nil
}

func (s *Server) listDeadLetters(c *gin.Context) (any, error) {
	sk, err := s.sinks()
	if err != nil {
		return nil, err
	}
	dl, err := sk.DeadLetters(c.Param("name"))
	if err != nil {
		return nil, err
	}
	if dl == nil {
		dl = []alerts.DeadLetter{}
	}
	return deadLetterList{DeadLetters: dl}, nil
}

// sinkChange is an audited change to a sink: do makes it and returns the
// answer; the audit target is the sink, or sink:id for one dead letter.
func (s *Server) sinkChange(action string, do func(c *gin.Context, sk Sinks, name, id string) (any, error)) handlerFunc {
	return func(c *gin.Context) (any, error) {
		sk, err := s.sinks()
		if err != nil {
			return nil, err
		}
		name, id := c.Param("name"), c.Param("id")
		out, err := do(c, sk, name, id)
		if err != nil {
			return nil, err
		}
		target := name
		if id != "" {
			target += ":" + id
		}
		return out, s.audit(c, action, target, "")
	}
}

func retryDeadLetter(_ *gin.Context, sk Sinks, name, id string) (any, error) {
	if err := sk.Retry(name, id); err != nil {
		return nil, err
	}
	return retryResponse{Retried: 1}, nil
}

func retryAllDeadLetters(_ *gin.Context, sk Sinks, name, _ string) (any, error) {
	n, err := sk.RetryAll(name)
	if err != nil {
		return nil, err
	}
	return retryResponse{Retried: n}, nil
}

func discardDeadLetter(_ *gin.Context, sk Sinks, name, id string) (any, error) {
	return nil, sk.Discard(name, id)
}

func testSink(c *gin.Context, sk Sinks, name, _ string) (any, error) {
	return nil, sk.SendTest(c.Request.Context(), name)
}

// directoryRoutes are the routes of the user directory and SIEM sinks.
func (s *Server) directoryRoutes() []route {
	pName := param{name: "name", typ: "string", desc: "The name."}
	pUser := param{name: "user", typ: "string", desc: "The person's login name."}
	pDead := param{name: "id", typ: "string", desc: "The dead letter's id."}
	sinkErrs := []Code{CodeNotFound, CodeUnavailable}
	return []route{
		{
			method: http.MethodGet, path: "/api/v1/people", op: "listPeople", tag: "people",
			summary: "List people from the merged directory (SCIM, LDAP, HR), by login.",
			roles:   rolesRead,
			query: []param{{name: "department", typ: "string", desc: "Only this department."},
				{name: "status", typ: "string", desc: "Only this employment status."},
				{name: "watchlist", typ: "string", desc: "Only members of this watchlist."},
				{name: "contractor", typ: "boolean", desc: "true: contractors only; false: employees only."},
				{name: "source", typ: "string", desc: "Only people a source of this type or name knows."},
				{name: "q", typ: "string", desc: "Login, full name or email containing this."}, qLimit, qCursor},
			resp:   content{status: http.StatusOK, desc: "A page of people.", mediaType: mediaJSON, schema: personList{}},
			errors: []Code{CodeInvalidArgument, CodeUnavailable},
			handle: s.listPeople,
		},
		{
			method: http.MethodGet, path: "/api/v1/people/{name}", op: "getPerson", tag: "people",
			summary:    "Get one person by login, email or alias, with department, manager, employment and watchlists.",
			roles:      rolesRead,
			pathParams: []param{pName},
			resp:       content{status: http.StatusOK, desc: "The person.", mediaType: mediaJSON, schema: identity.Person{}},
			errors:     []Code{CodeNotFound, CodeUnavailable},
			handle:     s.getPerson,
		},
		{
			method: http.MethodGet, path: "/api/v1/watchlists", op: "listWatchlists", tag: "people",
			summary: "List watchlists: departing, contractors, privileged (computed) and manual ones.",
			roles:   rolesRead,
			resp:    content{status: http.StatusOK, desc: "The watchlists.", mediaType: mediaJSON, schema: watchlistList{}},
			errors:  []Code{CodeUnavailable},
			handle:  s.listWatchlists,
		},
		{
			method: http.MethodGet, path: "/api/v1/watchlists/{name}", op: "getWatchlist", tag: "people",
			summary:    "Get one watchlist with its members.",
			roles:      rolesRead,
			pathParams: []param{pName},
			resp:       content{status: http.StatusOK, desc: "The watchlist.", mediaType: mediaJSON, schema: identity.Watchlist{}},
			errors:     []Code{CodeNotFound, CodeUnavailable},
			handle:     s.getWatchlist,
		},
		{
			method: http.MethodPost, path: "/api/v1/watchlists", op: "createWatchlist", tag: "people",
			summary: "Create a manual watchlist (audited).",
			roles:   rolesTriage,
			body:    &content{desc: "The watchlist.", mediaType: mediaJSON, schema: watchlistRequest{}},
			limit:   s.cfg.MaxRequestBytes,
			resp:    content{status: http.StatusCreated, desc: "Created.", mediaType: mediaJSON, schema: identity.Watchlist{}},
			errors:  []Code{CodeInvalidJSON, CodeInvalidBody, CodeInvalidArgument, CodeConflict, CodeUnavailable},
			handle:  s.createWatchlist,
		},
		{
			method: http.MethodDelete, path: "/api/v1/watchlists/{name}", op: "deleteWatchlist", tag: "people",
			summary:    "Delete a manual watchlist (audited).",
			roles:      rolesTriage,
			pathParams: []param{pName},
			resp:       content{status: http.StatusNoContent, desc: "Deleted."},
			errors:     []Code{CodeNotFound, CodeInvalidArgument, CodeUnavailable},
			handle:     s.deleteWatchlist,
		},
		{
			method: http.MethodPut, path: "/api/v1/watchlists/{name}/members/{user}", op: "addWatchlistMember", tag: "people",
			summary:    "Put a person on a manual watchlist, with a reason (audited).",
			roles:      rolesTriage,
			pathParams: []param{pName, pUser},
			body:       &content{desc: "Why.", mediaType: mediaJSON, schema: memberRequest{}, optional: true},
			limit:      s.cfg.MaxRequestBytes,
			resp:       content{status: http.StatusOK, desc: "The watchlist after the change.", mediaType: mediaJSON, schema: identity.Watchlist{}},
			errors:     []Code{CodeNotFound, CodeInvalidArgument, CodeUnavailable},
			handle:     s.addWatchlistMember,
		},
		{
			method: http.MethodDelete, path: "/api/v1/watchlists/{name}/members/{user}", op: "removeWatchlistMember", tag: "people",
			summary:    "Take a person off a manual watchlist (audited).",
			roles:      rolesTriage,
			pathParams: []param{pName, pUser},
			resp:       content{status: http.StatusOK, desc: "The watchlist after the change.", mediaType: mediaJSON, schema: identity.Watchlist{}},
			errors:     []Code{CodeNotFound, CodeInvalidArgument, CodeUnavailable},
			handle:     s.removeWatchlistMember,
		},
		{
			method: http.MethodGet, path: "/api/v1/sinks", op: "listSinks", tag: "sinks",
			summary: "List SIEM sinks with their queue and dead-letter counts.",
			roles:   rolesRead,
			resp:    content{status: http.StatusOK, desc: "The sinks.", mediaType: mediaJSON, schema: sinkList{}},
			errors:  []Code{CodeUnavailable},
			handle:  s.listSinks,
		},
		{
			method: http.MethodGet, path: "/api/v1/sinks/{name}/dead-letters", op: "listDeadLetters", tag: "sinks",
			summary:    "List the alerts a sink gave up delivering.",
			roles:      rolesAdmin,
			pathParams: []param{pName},
			resp:       content{status: http.StatusOK, desc: "The dead letters.", mediaType: mediaJSON, schema: deadLetterList{}},
			errors:     sinkErrs,
			handle:     s.listDeadLetters,
		},
		{
			method: http.MethodPost, path: "/api/v1/sinks/{name}/dead-letters/retry", op: "retryAllDeadLetters", tag: "sinks",
			summary:    "Queue every dead letter of a sink again (audited).",
			roles:      rolesAdmin,
			pathParams: []param{pName},
			resp:       content{status: http.StatusOK, desc: "How many went back to the queue.", mediaType: mediaJSON, schema: retryResponse{}},
			errors:     sinkErrs,
			handle:     s.sinkChange("sink.retry", retryAllDeadLetters),
		},
		{
			method: http.MethodPost, path: "/api/v1/sinks/{name}/dead-letters/{id}/retry", op: "retryDeadLetter", tag: "sinks",
			summary:    "Queue one dead letter again (audited).",
			roles:      rolesAdmin,
			pathParams: []param{pName, pDead},
			resp:       content{status: http.StatusOK, desc: "Queued again.", mediaType: mediaJSON, schema: retryResponse{}},
			errors:     sinkErrs,
			handle:     s.sinkChange("sink.retry", retryDeadLetter),
		},
		{
			method: http.MethodDelete, path: "/api/v1/sinks/{name}/dead-letters/{id}", op: "discardDeadLetter", tag: "sinks",
			summary:    "Discard one dead letter (audited).",
			roles:      rolesAdmin,
			pathParams: []param{pName, pDead},
			resp:       content{status: http.StatusNoContent, desc: "Discarded."},
			errors:     sinkErrs,
			handle:     s.sinkChange("sink.discard", discardDeadLetter),
		},
		{
			method: http.MethodPost, path: "/api/v1/sinks/{name}/test", op: "testSink", tag: "sinks",
			summary:    "Send a sample alert through a sink now and report whether the receiver took it (audited).",
			roles:      rolesAdmin,
			pathParams: []param{pName},
			resp:       content{status: http.StatusNoContent, desc: "Delivered."},
			errors:     sinkErrs,
			handle:     s.sinkChange("sink.test", testSink),
		},
	}
}
