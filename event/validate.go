package event

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// ErrInvalid is matched (with errors.Is) by every error that reports a bad
// event: a validation problem, a field of the wrong type, an unknown field or
// malformed JSON. Callers map it to "bad request" rather than to a failure
// of their own.
var ErrInvalid = errors.New("invalid event")

// FieldError is one problem with one field of an event. Path is the field's
// ECS dotted path, with an index for list elements ("email.to[2]"); it is
// empty for a problem with the event as a whole.
type FieldError struct {
	Path string
	Msg  string
}

// Error returns "path: message", such as
// `event.action: unknown value "fil-created" (did you mean "file-created"?)`.
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Is reports whether target is ErrInvalid, so that errors.Is(err, ErrInvalid)
// holds for every FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// FieldErrors returns every FieldError in err, which may be a single
// FieldError, a wrapped one or a tree of errors.Join results, in order.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		switch x := err.(type) { //nolint:errorlint // walks the tree itself, in order, to collect every FieldError
		case nil:
		case *FieldError:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}

// ECS allowed values, from the ECS 8.x field reference ("Allowed values").
var (
	ecsKinds = []string{"alert", "asset", "enrichment", "event", "metric", "state", "pipeline_error", "signal"}

	ecsCategories = []string{
		"api", "authentication", "configuration", "database", "driver", "email", "file", "host",
		"iam", "intrusion_detection", "library", "malware", "network", "package", "process",
		"registry", "session", "threat", "vulnerability", "web",
	}

	ecsTypes = []string{
		"access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied",
		"end", "error", "group", "indicator", "info", "installation", "protocol", "start", "user",
	}

	ecsOutcomes = []string{"success", "failure", "unknown"}

	ecsNetworkDirections = []string{"ingress", "egress", "inbound", "outbound", "internal", "external", "unknown"}

	employmentStatuses = []string{"active", "notice", "leave", "terminated", "contractor"}

	clipboardOperations = []string{"copy", "cut", "paste"}
)

// Validate checks the event against the schema's rules and returns every
// problem found, joined with errors.Join; each is a *FieldError and the
// result matches ErrInvalid. It returns nil for a valid event.
//
// Required: @timestamp, event.id and an event.action from the vocabulary.
// Enumerated fields (event.kind, event.category, event.type, event.outcome,
// network.direction, clipboard.operation, user.employment.status) must hold
// one of their values; counts, sizes, ports and process ids must not be
// negative; digests must be hex of the right length; dates must parse.
func (e *Event) Validate() error {
	if e == nil {
		return &FieldError{Msg: "no event"}
	}
	v := validator{}
	v.time("@timestamp", e.Timestamp, true)
	m := &e.Event
	if m.ID == "" {
		v.add("event.id", "required")
	}
	switch {
	case m.Action == "":
		v.add("event.action", "required")
	case !KnownAction(m.Action):
		v.add("event.action", "unknown value "+strconv.Quote(m.Action)+didYouMean(m.Action, actionNames))
	}
	v.enum("event.kind", m.Kind, ecsKinds)
	v.enumList("event.category", m.Category, ecsCategories)
	v.enumList("event.type", m.Type, ecsTypes)
	v.enum("event.outcome", m.Outcome, ecsOutcomes)
	v.nonNegative("event.sequence", m.Sequence)
	if m.Ingested != nil {
		v.time("event.ingested", *m.Ingested, false)
	}
	if m.OCSF != nil {
		v.nonNegative("event.ocsf.class_uid", m.OCSF.ClassUID)
		v.nonNegative("event.ocsf.activity_id", m.OCSF.ActivityID)
	}
	if u := e.User; u != nil {
		if math.IsNaN(u.RiskScore) || math.IsInf(u.RiskScore, 0) || u.RiskScore < 0 {
			v.add("user.risk_score", "must be a non-negative finite number")
		}
		if em := u.Employment; em != nil {
			v.enum("user.employment.status", em.Status, employmentStatuses)
			v.date("user.employment.start_date", em.StartDate)
			v.date("user.employment.notice_date", em.NoticeDate)
			v.date("user.employment.end_date", em.EndDate)
		}
	}
	if p := e.Process; p != nil {
		v.nonNegative("process.pid", p.PID)
		v.hash("process.hash", p.Hash)
		if p.Parent != nil {
			v.nonNegative("process.parent.pid", p.Parent.PID)
		}
	}
	if f := e.File; f != nil {
		v.nonNegative("file.size", f.Size)
		v.hash("file.hash", f.Hash)
	}
	if vol := e.Volume; vol != nil {
		v.nonNegative("volume.size", vol.Size)
	}
	if d := e.Device; d != nil {
		v.nonNegative("device.size", d.Size)
	}
	if u := e.URL; u != nil {
		v.port("url.port", u.Port)
	}
	if s := e.Source; s != nil {
		v.port("source.port", s.Port)
		v.nonNegative("source.bytes", s.Bytes)
	}
	if d := e.Destination; d != nil {
		v.port("destination.port", d.Port)
		v.nonNegative("destination.bytes", d.Bytes)
	}
	if n := e.Network; n != nil {
		v.enum("network.direction", n.Direction, ecsNetworkDirections)
		v.nonNegative("network.bytes", n.Bytes)
	}
	if em := e.Email; em != nil {
		v.nonNegative("email.size", em.Size)
		v.nonNegative("email.external_recipients", em.ExternalRecipients)
		for i := range em.Attachments {
			a := &em.Attachments[i]
			if a.Size < 0 {
				v.add("email.attachments["+strconv.Itoa(i)+"].size", "must not be negative")
			}
			if a.SHA256 != "" && !isHex(a.SHA256, 64) {
				v.add("email.attachments["+strconv.Itoa(i)+"].sha256", "want 64 hex digits")
			}
		}
	}
	if p := e.Print; p != nil {
		v.nonNegative("print.pages", p.Pages)
		v.nonNegative("print.copies", p.Copies)
		v.nonNegative("print.size", p.Size)
	}
	if c := e.Clipboard; c != nil {
		v.enum("clipboard.operation", c.Operation, clipboardOperations)
		v.nonNegative("clipboard.content_length", c.ContentLength)
		if c.ContentSHA256 != "" && !isHex(c.ContentSHA256, 64) {
			v.add("clipboard.content_sha256", "want 64 hex digits")
		}
	}
	if w := e.Window; w != nil {
		v.nonNegative("window.pid", w.PID)
	}
	if a := e.Agent; a != nil {
		v.nonNegative("agent.dropped", a.Dropped)
	}
	return v.err()
}

// validator collects field errors.
type validator struct {
	errs []error
}

func (v *validator) add(path, msg string) {
	v.errs = append(v.errs, &FieldError{Path: path, Msg: msg})
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return errors.Join(v.errs...)
}

func (v *validator) enum(path, value string, allowed []string) {
	if value == "" || contains(allowed, value) {
		return
	}
	v.add(path, "unknown value "+strconv.Quote(value)+didYouMean(value, allowed))
}

func (v *validator) enumList(path string, values, allowed []string) {
	for i, value := range values {
		if !contains(allowed, value) {
			v.add(path+"["+strconv.Itoa(i)+"]", "unknown value "+strconv.Quote(value)+didYouMean(value, allowed))
		}
	}
}

func (v *validator) nonNegative(path string, n int64) {
	if n < 0 {
		v.add(path, "must not be negative")
	}
}

func (v *validator) port(path string, n int64) {
	if n < 0 || n > 65535 {
		v.add(path, "want a port number from 0 to 65535")
	}
}

func (v *validator) hash(path string, h *Hash) {
	if h == nil {
		return
	}
	if h.SHA256 != "" && !isHex(h.SHA256, 64) {
		v.add(path+".sha256", "want 64 hex digits")
	}
	if h.MD5 != "" && !isHex(h.MD5, 32) {
		v.add(path+".md5", "want 32 hex digits")
	}
}

func (v *validator) time(path string, t time.Time, required bool) {
	if t.IsZero() {
		if required {
			v.add(path, "required")
		}
		return
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		v.add(path, "year "+strconv.Itoa(y)+" out of range")
	}
}

func (v *validator) date(path, s string) {
	if s == "" {
		return
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		v.add(path, "want a date such as 2026-11-28, got "+strconv.Quote(s))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isHex reports whether s is exactly n hex digits, in either case.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
