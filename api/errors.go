package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/vigil-itm/vigil/alerts"
	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
	"github.com/vigil-itm/vigil/store"
)

// Code is the stable, machine-readable code of an API error, sent as
// error.code. Clients branch on it; the message is for people.
type Code string

// The error codes. Each has exactly one HTTP status, given by errorTable.
const (
	CodeInvalidJSON          Code = "invalid_json"
	CodeInvalidBody          Code = "invalid_body"
	CodeInvalidEvent         Code = "invalid_event"
	CodeInvalidArgument      Code = "invalid_argument"
	CodeUnauthenticated      Code = "unauthenticated"
	CodeForbidden            Code = "forbidden"
	CodeNotFound             Code = "not_found"
	CodeMethodNotAllowed     Code = "method_not_allowed"
	CodeConflict             Code = "conflict"
	CodeInvalidTransition    Code = "invalid_transition"
	CodeBodyTooLarge         Code = "body_too_large"
	CodeBatchTooLarge        Code = "batch_too_large"
	CodeBundleTooLarge       Code = "bundle_too_large"
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeInvalidBundle        Code = "invalid_bundle"
	CodeInvalidSignature     Code = "invalid_signature"
	CodeInvalidEvidence      Code = "invalid_evidence"
	CodeReasonRequired       Code = "reason_required"
	CodeCanceled             Code = "canceled"
	CodeTimeout              Code = "timeout"
	CodeUnavailable          Code = "unavailable"
	CodeStorageFull          Code = "storage_full"
	CodeInternal             Code = "internal"
)

// statusClientClosedRequest is the status logged (it never reaches the
// client) when the client went away before the answer; nginx's 499, as in
// Prometheus.
const statusClientClosedRequest = 499

// errorClass is one row of the error table: a code, its HTTP status, the
// error values classified under it, and what it means (for the docs).
type errorClass struct {
	code   Code
	status int
	// sentinels are matched with errors.Is, in table order: the first row
	// with a matching sentinel wins.
	sentinels []error
	meaning   string
}

// errorTable is the one place that maps error kinds to HTTP statuses.
// Rows are tried in order; more specific kinds come first.
var errorTable = []errorClass{
	{CodeInvalidJSON, http.StatusBadRequest, nil,
		"The request body is not well-formed JSON."},
	{CodeInvalidBody, http.StatusBadRequest, nil,
		"The JSON does not fit the request: an unknown field, a value of the wrong type, a missing field."},
	{CodeInvalidEvent, http.StatusBadRequest, []error{event.ErrInvalid, engine.ErrNoEvent},
		"An event failed decoding or validation; the message names the field (and, in a batch, the index)."},
	{CodeInvalidArgument, http.StatusBadRequest, []error{store.ErrInvalid},
		"A query or path parameter is malformed or out of range, or the store refused an argument."},
	{CodeReasonRequired, http.StatusBadRequest, nil,
		"Viewing or verifying evidence needs a reason, which is written to the audit log."},
	{CodeUnauthenticated, http.StatusUnauthorized, []error{store.ErrUnauthorized},
		"No bearer token, or a token that is unknown, revoked or expired."},
	{CodeForbidden, http.StatusForbidden, nil,
		"The token's role may not call this endpoint, or an agent acted for another agent."},
	{CodeNotFound, http.StatusNotFound, []error{store.ErrNotFound, alerts.ErrNotFound},
		"No such record (alert, decision, bundle revision, user, token), or no such endpoint."},
	{CodeMethodNotAllowed, http.StatusMethodNotAllowed, nil,
		"The endpoint exists but not with this method."},
	{CodeInvalidTransition, http.StatusConflict, []error{store.ErrInvalidTransition},
		"The alert workflow does not allow this status change."},
	{CodeConflict, http.StatusConflict, []error{store.ErrConflict},
		"The write contradicts a stored record, such as a bundle revision uploaded again with other contents."},
	{CodeBodyTooLarge, http.StatusRequestEntityTooLarge, nil,
		"The request body is larger than the endpoint's limit."},
	{CodeBatchTooLarge, http.StatusRequestEntityTooLarge, nil,
		"The batch holds more events than the server accepts in one request; split it."},
	{CodeBundleTooLarge, http.StatusRequestEntityTooLarge, []error{policies.ErrTooLarge},
		"The bundle exceeds a size or file-count limit once decompressed."},
	{CodeUnsupportedMediaType, http.StatusUnsupportedMediaType, nil,
		"The Content-Type or Content-Encoding is not one the endpoint accepts."},
	{CodeInvalidSignature, http.StatusUnprocessableEntity, []error{policies.ErrSignature},
		"The bundle is unsigned, signed by another key, or a file does not match its signed hash."},
	{CodeInvalidBundle, http.StatusUnprocessableEntity, []error{policies.ErrInvalidBundle, policies.ErrUnsafeEntry, engine.ErrCompile},
		"The bundle is not a valid Vigil bundle tarball, or it does not compile."},
	{CodeInvalidEvidence, http.StatusUnprocessableEntity, nil,
		"The evidence archive is not a valid package, or a hash, the frame chain or the agent's signature does not verify."},
	{CodeStorageFull, http.StatusInsufficientStorage, []error{store.ErrFull},
		"The store is full; nothing of the request was kept. Retry once space is freed."},
	{CodeUnavailable, http.StatusServiceUnavailable, []error{store.ErrClosed, store.ErrReadOnly},
		"The server cannot serve the request now (store closed or read-only, feature not configured); retry later."},
	{CodeTimeout, http.StatusServiceUnavailable, []error{context.DeadlineExceeded},
		"The request took longer than the server allows; retry."},
	{CodeCanceled, statusClientClosedRequest, []error{context.Canceled},
		"The client closed the request before the answer (logged only, never sent)."},
	{CodeInternal, http.StatusInternalServerError, nil,
		"An unexpected failure; the message carries the request id to find it in the server log."},
}

// statusOf returns the HTTP status of a code.
func statusOf(c Code) int {
	for _, row := range errorTable {
		if row.code == c {
			return row.status
		}
	}
	return http.StatusInternalServerError
}

// apiError is an error the API raises itself, with its code and a message
// for the client.
type apiError struct {
	code Code
	msg  string
	// details, when set, is sent as error.details.
	details any
	// err is the cause, when there is one.
	err error
	// unconfigured marks the answer of a route whose feature this server
	// was not configured with: a 503 for the client (nothing to retry
	// until an operator configures it), but no failure of the server, so
	// it is not logged as one.
	unconfigured bool
}

func (e *apiError) Error() string {
	if e.err != nil && e.msg == "" {
		return e.err.Error()
	}
	return e.msg
}

func (e *apiError) Unwrap() error { return e.err }

// errorf returns an apiError with a formatted message.
func errorf(code Code, format string, args ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// notConfigured is the error of a route whose feature this server was not
// configured with (see apiError.unconfigured).
func notConfigured(format string, args ...any) *apiError {
	e := errorf(CodeUnavailable, format, args...)
	e.unconfigured = true
	return e
}

// isNotConfigured reports an error made by notConfigured.
func isNotConfigured(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.unconfigured
}

// classify finds the code, status and client message of err. Errors the
// table does not know are internal: their text stays in the server log.
func classify(err error) (code Code, status int, msg string, details any) {
	var ae *apiError
	if errors.As(err, &ae) {
		msg := ae.msg
		if msg == "" && ae.err != nil {
			msg = ae.err.Error()
		}
		return ae.code, statusOf(ae.code), msg, ae.details
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return CodeBodyTooLarge, statusOf(CodeBodyTooLarge),
			fmt.Sprintf("request body larger than %d bytes", mbe.Limit), nil
	}
	for _, row := range errorTable {
		for _, s := range row.sentinels {
			if errors.Is(err, s) {
				return row.code, row.status, clientMessage(err), nil
			}
		}
	}
	return CodeInternal, http.StatusInternalServerError, "internal error", nil
}

// clientMessage is the message sent for a classified error: its text, one
// problem a line joined with "; ".
func clientMessage(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// errorBody is the JSON form of every error response:
// {"error": {"code": "...", "message": "...", "request_id": "..."}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

// errorDetail is the error object of an error response.
type errorDetail struct {
	// Code is the stable error code.
	Code Code `json:"code"`
	// Message says what went wrong, for people.
	Message string `json:"message"`
	// RequestID identifies the request in the server log.
	RequestID string `json:"request_id,omitempty"`
	// Details carries structured information for some codes, such as the
	// diagnostics of an invalid bundle.
	Details any `json:"details,omitempty"`
}

// jsonFieldError turns an encoding/json decoding error into an apiError
// that names the field or offset.
func jsonFieldError(err error) *apiError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &apiError{code: CodeInvalidJSON, msg: fmt.Sprintf("invalid JSON at offset %d: %s", se.Offset, se.Error()), err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &apiError{code: CodeInvalidJSON, msg: "invalid JSON: unexpected end of input", err: err}
	case errors.Is(err, io.EOF):
		return &apiError{code: CodeInvalidJSON, msg: "empty request body: want a JSON object", err: err}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		return &apiError{code: CodeInvalidBody, msg: fmt.Sprintf("%s: want %s, got JSON %s", field, jsonTypeName(te.Type.Kind().String()), te.Value), err: err}
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &apiError{code: CodeInvalidBody, msg: "unknown field " + rest, err: err}
	}
	return &apiError{code: CodeInvalidBody, msg: strings.TrimPrefix(msg, "json: "), err: err}
}

// jsonTypeName names a Go kind the way a JSON author thinks of it.
func jsonTypeName(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "integer"
	case "float32", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	case "bool":
		return "boolean"
	}
	return kind
}
