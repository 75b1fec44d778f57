package api

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// queryParams reads typed query parameters, remembering the first
// malformed one.
type queryParams struct {
	c   *gin.Context
	err error
}

func (q *queryParams) fail(name, value, want string) {
	if q.err == nil {
		q.err = errorf(CodeInvalidArgument, "query parameter %s=%q: want %s", name, value, want)
	}
}

// str returns a parameter as it is.
func (q *queryParams) str(name string) string { return q.c.Query(name) }

// enum returns a parameter that must be one of values (or absent).
func (q *queryParams) enum(name string, values []string) string {
	v := q.c.Query(name)
	if v == "" {
		return ""
	}
	for _, ok := range values {
		if v == ok {
			return v
		}
	}
	q.fail(name, v, "one of "+quoteList(values))
	return ""
}

// time returns an RFC 3339 time parameter, or the zero time.
func (q *queryParams) time(name string) time.Time {
	v := q.c.Query(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		q.fail(name, v, "an RFC 3339 time such as 2026-11-28T10:00:00Z")
		return time.Time{}
	}
	return t.UTC()
}

// int returns an integer parameter in [lo, hi], or def when absent.
func (q *queryParams) int(name string, def, lo, hi int) int {
	v := q.c.Query(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		q.fail(name, v, "an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
		return def
	}
	return n
}

// bool returns a boolean parameter, or nil when absent.
func (q *queryParams) bool(name string) *bool {
	v := q.c.Query(name)
	if v == "" {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		q.fail(name, v, "true or false")
		return nil
	}
	return &b
}

func quoteList(values []string) string {
	out := ""
	for i, v := range values {
		if i > 0 {
			out += ", "
		}
		out += strconv.Quote(v)
	}
	return out
}
