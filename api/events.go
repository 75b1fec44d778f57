package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

// eventList is a page of stored events.
type eventList struct {
	Events []*event.Event `json:"events"`
	Next   string         `json:"next,omitempty"`
}

// listEvents serves GET /api/v1/events: stored events, for a user's
// timeline around an alert and for investigations.
func (s *Server) listEvents(c *gin.Context) (any, error) {
	q := queryParams{c: c}
	f := store.EventFilter{User: q.str("user"), Host: q.str("host"), Action: q.str("action"),
		From: q.time("from"), To: q.time("to"), Limit: q.int("limit", 0, 1, maxLimit), Cursor: q.str("cursor")}
	if v := q.str("order"); v != "" {
		if v != "asc" && v != "desc" {
			return nil, errorf(CodeInvalidArgument, "order: want asc or desc, got %q", v)
		}
		f.Descending = v == "desc"
	}
	if q.err != nil {
		return nil, q.err
	}
	evs, next, err := s.deps.Events.Query(c.Request.Context(), f)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	if evs == nil {
		evs = []*event.Event{}
	}
	return eventList{Events: evs, Next: next}, nil
}

func (s *Server) eventRoutes() []route {
	return []route{{
		method: http.MethodGet, path: "/api/v1/events", op: "listEvents", tag: "events",
		summary: "List stored events, oldest first (order=desc for newest first), filtered by user, host, action and time.",
		roles:   rolesRead,
		query: []param{qUser, qHost, {name: "action", typ: "string", desc: "The event.action."}, qFrom, qTo,
			{name: "order", typ: "string", desc: "asc (default) or desc.", enum: []string{"asc", "desc"}}, qLimit, qCursor},
		resp:   content{status: http.StatusOK, desc: "A page of events.", mediaType: mediaJSON, schema: eventList{}},
		errors: []Code{CodeInvalidArgument},
		handle: s.listEvents,
	}}
}
