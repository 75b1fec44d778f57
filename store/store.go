package store

import (
	"errors"
	"io"
)

// Sentinel errors. Implementations wrap them with what was being done, such
// as `alert "01J…": transition acknowledged → open: store: invalid status
// transition`; callers test for them with errors.Is and map them to API
// responses.
var (
	// ErrNotFound reports that the record asked for does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports that a write contradicts a stored record, such as a
	// bundle revision uploaded again with different contents.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid reports an argument the store cannot accept: a missing id,
	// an unknown role, a malformed paging cursor.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrInvalidTransition reports an alert status change the workflow does
	// not allow (see AlertStatus.CanTransitionTo).
	ErrInvalidTransition = errors.New("store: invalid status transition")
	// ErrUnauthorized reports a token secret that is unknown, revoked,
	// expired, already used, or of the wrong kind. It never says which.
	ErrUnauthorized = errors.New("store: unauthorized")
	// ErrReadOnly reports a write to a store that cannot be written: opened
	// read-only, or backed by a read-only file or file system.
	ErrReadOnly = errors.New("store: read-only")
	// ErrFull reports a write refused because the disk, or the size limit
	// the store was configured with, is full. Nothing acknowledged before is
	// lost; the write may be retried once space is freed.
	ErrFull = errors.New("store: storage full")
	// ErrClosed reports a call on a store that has been closed.
	ErrClosed = errors.New("store: closed")
	// ErrSchemaTooNew reports a database written by a newer version of
	// Vigil, whose schema this version does not know. The store refuses to
	// open it rather than risk damaging it.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this version of vigil")
)

// Store bundles the stores of every kind of record behind one handle with
// one lifecycle. The accessors return views of the same underlying
// database; they are cheap, safe for concurrent use and remain valid until
// Close.
//
// Close stops accepting writes, waits until every write already accepted has
// been committed (or has failed and told its caller), and releases the
// database. Calls after Close fail with ErrClosed. Close is safe to call
// more than once.
type Store interface {
	Events() Events
	Decisions() Decisions
	Alerts() Alerts
	Evidence() Evidence
	Bundles() Bundles
	Users() Users
	Audit() Audit
	Tokens() Tokens
	Agents() Agents
	io.Closer
}

// Paging defaults shared by every List and Query method.
const (
	// DefaultLimit is the page size used when a filter's Limit is zero or
	// negative.
	DefaultLimit = 100
	// MaxLimit is the largest page size; larger limits are reduced to it.
	MaxLimit = 1000
)

// PageLimit returns the page size to use for a requested limit.
func PageLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}
