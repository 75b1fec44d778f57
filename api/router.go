package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

// Keys of the values the middleware leaves in the gin context.
const (
	ctxToken     = "vigil.token"
	ctxRequestID = "vigil.request_id"
	// ctxUnconfigured marks a request answered "not configured on this
	// server", which the request log does not report as a failure.
	ctxUnconfigured = "vigil.unconfigured"
)

// headerRequestID carries the request id, both ways.
const headerRequestID = "X-Request-Id"

// buildRouter makes the gin engine from the route table.
func (s *Server) buildRouter() *gin.Engine {
	// Release mode keeps gin from printing every route at start; it is a
	// process-wide setting of gin, which Vigil only uses here.
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.Use(s.requestID, s.observe)
	r.NoRoute(func(c *gin.Context) {
		s.writeError(c, errorf(CodeNotFound, "no endpoint %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		s.writeError(c, errorf(CodeMethodNotAllowed, "%s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	for _, rt := range s.routes {
		r.Handle(rt.method, ginPath(rt.path), s.wrap(rt))
	}
	for _, m := range s.deps.Mounts {
		h := gin.WrapH(m.Handler)
		prefix := strings.TrimRight(m.Prefix, "/")
		r.Any(prefix, h)
		r.Any(prefix+"/*rest", h)
	}
	if s.deps.Home != "" {
		r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, s.deps.Home) })
	}
	return r
}

// requestID takes the client's X-Request-Id when it is a sensible token,
// or makes one, and returns it in the response.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader(headerRequestID)
	if !validRequestID(id) {
		id = event.NewID(s.now())
	}
	c.Set(ctxRequestID, id)
	c.Header(headerRequestID, id)
	c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return false
		}
	}
	return true
}

func requestIDOf(c *gin.Context) string { return c.GetString(ctxRequestID) }

// observe counts and times every request, logs it, and turns a panic in a
// handler into a 500.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler { //nolint:errorlint // a sentinel panic value, compared as net/http does
				panic(p)
			}
			s.log.Error("panic serving request", "request_id", requestIDOf(c), "method", c.Request.Method,
				"path", c.Request.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				s.writeError(c, errors.New("panic"))
			}
		}
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(route, c.Request.Method, fmt.Sprint(status)).Inc()
		s.metrics.duration.WithLabelValues(route, c.Request.Method).Observe(elapsed.Seconds())
		level := slog.LevelDebug
		if status >= 500 && !c.GetBool(ctxUnconfigured) {
			level = slog.LevelError
		}
		attrs := []any{"request_id", requestIDOf(c), "method", c.Request.Method, "route", route,
			"path", c.Request.URL.Path, "status", status, "duration", elapsed, "bytes", c.Writer.Size()}
		if tok, ok := tokenOf(c); ok {
			attrs = append(attrs, "token", tok.Name)
		}
		s.log.Log(c.Request.Context(), level, "request", attrs...)
	}()
	c.Next()
}

// wrap turns a route into a gin handler: authentication and the role
// check, query parameter and body checks, then the route's handler and
// the writing of its result.
func (s *Server) wrap(rt route) gin.HandlerFunc {
	allowed := make(map[string]bool, len(rt.query))
	names := make([]string, 0, len(rt.query))
	for _, q := range rt.query {
		allowed[q.name] = true
		names = append(names, q.name)
	}
	return func(c *gin.Context) {
		if rt.roles != nil {
			tok, err := s.authenticate(c)
			if err != nil {
				s.writeError(c, err)
				return
			}
			if !slices.Contains(rt.roles, tok.Role) {
				s.writeError(c, errorf(CodeForbidden, "role %q may not call %s %s (allowed: %s)",
					tok.Role, rt.method, rt.path, joinRoles(rt.roles)))
				return
			}
			c.Set(ctxToken, tok)
		}
		for name := range c.Request.URL.Query() {
			if !allowed[name] {
				msg := fmt.Sprintf("unknown query parameter %q", name)
				if len(names) == 0 {
					msg += ": this endpoint takes none"
				} else {
					msg += " (known: " + strings.Join(names, ", ") + ")"
				}
				s.writeError(c, errorf(CodeInvalidArgument, "%s", msg))
				return
			}
		}
		if rt.body != nil {
			if err := checkContentType(c, rt.body.mediaType); err != nil {
				s.writeError(c, err)
				return
			}
			if c.Request.ContentLength > rt.limit {
				s.writeError(c, errorf(CodeBodyTooLarge, "request body of %d bytes is larger than the limit of %d bytes",
					c.Request.ContentLength, rt.limit))
				return
			}
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, rt.limit)
		}
		resp, err := rt.handle(c)
		switch {
		case err != nil:
			s.writeError(c, err)
		case resp == nil:
			if !c.Writer.Written() {
				c.Status(http.StatusNoContent)
			}
		default:
			status := http.StatusOK
			if r, ok := resp.(reply); ok {
				status, resp = r.status, r.body
			}
			s.writeJSON(c, status, resp)
		}
	}
}

func joinRoles(roles []store.Role) string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return strings.Join(out, ", ")
}

// authenticate finds the token of the request's bearer secret.
func (s *Server) authenticate(c *gin.Context) (store.Token, error) {
	h := c.GetHeader("Authorization")
	if h == "" {
		return store.Token{}, errorf(CodeUnauthenticated, "missing bearer token: send Authorization: Bearer <token>")
	}
	scheme, secret, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return store.Token{}, errorf(CodeUnauthenticated, "Authorization: want the Bearer scheme")
	}
	secret = strings.TrimSpace(secret)
	if !store.WellFormedTokenSecret(secret) {
		return store.Token{}, errorf(CodeUnauthenticated, "invalid token")
	}
	tok, err := s.deps.Tokens.Authenticate(c.Request.Context(), secret)
	if errors.Is(err, store.ErrUnauthorized) {
		return store.Token{}, &apiError{code: CodeUnauthenticated, msg: "invalid token", err: err}
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("authenticate: %w", err)
	}
	return tok, nil
}

// tokenOf returns the token that authenticated the request.
func tokenOf(c *gin.Context) (store.Token, bool) {
	v, ok := c.Get(ctxToken)
	if !ok {
		return store.Token{}, false
	}
	tok, ok := v.(store.Token)
	return tok, ok
}

// actorOf names who made the request, for the audit log and alert
// history: the token's name.
func actorOf(c *gin.Context) string {
	if tok, ok := tokenOf(c); ok {
		return tok.Name
	}
	return "anonymous"
}

// checkContentType accepts a body whose Content-Type is absent or fits
// the route's media type.
func checkContentType(c *gin.Context, want string) error {
	ct := c.GetHeader("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return errorf(CodeUnsupportedMediaType, "Content-Type %q: %v", ct, err)
	}
	ok := mt == want
	switch want {
	case mediaGzip:
		ok = ok || mt == "application/x-gzip" || mt == "application/octet-stream"
	case mediaZip:
		ok = ok || mt == "application/x-zip-compressed" || mt == "application/octet-stream"
	}
	if !ok {
		return errorf(CodeUnsupportedMediaType, "Content-Type %q: want %s", mt, want)
	}
	return nil
}

// readBody reads the request body within the route's limit, undoing a
// gzip Content-Encoding (the limit then holds for the decompressed bytes
// too).
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	body := c.Request.Body
	switch enc := strings.ToLower(strings.TrimSpace(c.GetHeader("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, &apiError{code: CodeInvalidBody, msg: "Content-Encoding gzip: " + err.Error(), err: err}
		}
		defer func() { _ = zr.Close() }()
		body = http.MaxBytesReader(c.Writer, zr, limit)
	default:
		return nil, errorf(CodeUnsupportedMediaType, "Content-Encoding %q: want gzip or none", enc)
	}
	var buf bytes.Buffer
	if n := c.Request.ContentLength; n > 0 && n <= limit {
		// ReadFrom wants MinRead bytes free before it sees EOF: without
		// them it would copy the whole body into a buffer twice the size.
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(CodeBodyTooLarge, "request body larger than the limit of %d bytes", limit)
		}
		if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &apiError{code: CodeInvalidBody, msg: "read body: " + err.Error(), err: err}
		}
		return nil, fmt.Errorf("read body: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeJSON decodes a whole JSON body strictly: unknown fields and data
// after the value are errors. An empty body decodes as {} when emptyOK.
func decodeJSON(data []byte, v any, emptyOK bool) error {
	if emptyOK && len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonFieldError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorf(CodeInvalidJSON, "unexpected data after the JSON value at offset %d", dec.InputOffset())
	}
	return nil
}

// writeJSON writes v as the JSON response.
func (s *Server) writeJSON(c *gin.Context, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.writeError(c, fmt.Errorf("encode response: %w", err))
		return
	}
	c.Data(status, "application/json; charset=utf-8", buf.Bytes())
}

// writeError writes err as a JSON error response, with the status and
// code the error table gives it, and logs what the client is not told.
func (s *Server) writeError(c *gin.Context, err error) {
	code, status, msg, details := classify(err)
	c.Abort()
	if code == CodeCanceled {
		// Nobody is listening; record the status for the metrics.
		c.Status(status)
		return
	}
	if isNotConfigured(err) {
		c.Set(ctxUnconfigured, true)
	} else if status >= 500 {
		s.log.Error("request failed", "request_id", requestIDOf(c), "method", c.Request.Method,
			"path", c.Request.URL.Path, "code", code, "err", err)
		if code == CodeInternal {
			msg = "internal error; the server log has the details under request id " + requestIDOf(c)
		}
	}
	if code == CodeUnauthenticated {
		c.Header("WWW-Authenticate", `Bearer realm="vigil"`)
	}
	s.writeJSON(c, status, errorBody{Error: errorDetail{Code: code, Message: msg, RequestID: requestIDOf(c), Details: details}})
}
