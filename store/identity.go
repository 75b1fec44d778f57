package store

import (
	"context"
	"encoding/json"
	"time"
)

// IdentityDoc is one JSON document of the identity directory's own state:
// what one source (SCIM, LDAP, an HR feed) said about one person or group,
// a SCIM resource as provisioned, a watchlist, a sync cursor. Kind groups
// documents ("src.hr", "scim.user", "watchlist", ...); ID is unique within
// its kind. The store does not look inside Doc.
type IdentityDoc struct {
	Kind    string          `json:"kind"`
	ID      string          `json:"id"`
	Doc     json.RawMessage `json:"doc"`
	Updated time.Time       `json:"updated"`
}

// IdentityOp is one change of an Identity.Apply batch. With Clear set it
// removes every document of Kind (ID and Doc are ignored); otherwise a nil
// Doc deletes the document Kind/ID (absent is not an error) and a non-nil
// Doc creates or replaces it.
type IdentityOp struct {
	Kind  string
	ID    string
	Doc   json.RawMessage
	Clear bool
}

// Identity persists the identity directory's documents.
//
// List returns every document of kind, ordered by ID. Apply runs ops in
// order in one transaction: either all of them are committed or none is
// (an op without Kind, or without ID when not Clear, is ErrInvalid and
// fails the batch). Updated is set to the commit time.
//
// Both methods are safe for concurrent use.
type Identity interface {
	List(ctx context.Context, kind string) ([]IdentityDoc, error)
	Apply(ctx context.Context, ops []IdentityOp) error
}
