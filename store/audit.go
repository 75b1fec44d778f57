package store

import (
	"context"
	"time"
)

// AuditEntry is one entry of the audit log: who did what to which record,
// when and why.
type AuditEntry struct {
	// ID is assigned by Append and increases with every entry.
	ID   int64     `json:"id"`
	Time time.Time `json:"time"`
	// Actor is the token name or user that acted. Required.
	Actor string `json:"actor"`
	// Action names what was done, such as "evidence.view" or
	// "bundle.activate". Required.
	Action string `json:"action"`
	// Target is the record acted on, such as an alert or package id.
	Target    string `json:"target,omitempty"`
	Reason    string `json:"reason,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// AuditFilter selects audit entries. Empty fields do not filter. From is
// inclusive and To exclusive.
type AuditFilter struct {
	Actor  string
	Action string
	Target string
	From   time.Time
	To     time.Time
	Limit  int
	Cursor string
}

// Audit is the append-only audit log. There is no way to change or remove
// an entry through it; implementations also refuse it below the interface
// where they can (the SQLite one with triggers), except for retention,
// which removes entries older than the configured period.
//
// Append records an entry and returns it with its ID (and Time, when the
// entry had none). Actor and Action are required (ErrInvalid otherwise).
// Append returns only once the entry is committed, so that an audited view
// can be refused when auditing it fails.
//
// List returns entries newest first, one page at a time.
//
// All methods are safe for concurrent use.
type Audit interface {
	Append(ctx context.Context, e AuditEntry) (AuditEntry, error)
	List(ctx context.Context, f AuditFilter) (entries []AuditEntry, next string, err error)
}
