package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vigil-itm/vigil/store"
)

type identity struct{ db *DB }

var _ store.Identity = identity{}

// Identity returns the identity directory's document store. It is not part
// of store.Store (yet); callers that hold a *DB use it directly.
func (db *DB) Identity() store.Identity { return identity{db} }

// List implements store.Identity.
func (s identity) List(ctx context.Context, kind string) ([]store.IdentityDoc, error) {
	rows, err := s.db.query(ctx, "SELECT id, doc, updated FROM identity_docs WHERE kind = ? ORDER BY id", kind)
	if err != nil {
		return nil, fmt.Errorf("list identity documents %q: %w", kind, err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	var out []store.IdentityDoc
	for rows.Next() {
		var (
			d       = store.IdentityDoc{Kind: kind}
			doc     string
			updated int64
		)
		if err := rows.Scan(&d.ID, &doc, &updated); err != nil {
			return nil, fmt.Errorf("list identity documents %q: %w", kind, classify(err))
		}
		d.Doc, d.Updated = json.RawMessage(doc), fromNanos(updated)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list identity documents %q: %w", kind, s.db.readErr(err))
	}
	return out, nil
}

// Apply implements store.Identity.
func (s identity) Apply(ctx context.Context, ops []store.IdentityOp) error {
	for i, op := range ops {
		if op.Kind == "" || (!op.Clear && op.ID == "") {
			return fmt.Errorf("apply identity changes: op %d: %w: kind and id are required", i, store.ErrInvalid)
		}
		if op.Doc != nil && !json.Valid(op.Doc) {
			return fmt.Errorf("apply identity changes: op %d (%s/%s): %w: document is not JSON", i, op.Kind, op.ID, store.ErrInvalid)
		}
	}
	now := nanos(s.db.now())
	err := s.db.write(ctx, max(len(ops), 1), func(tx *wtx) error {
		for _, op := range ops {
			var err error
			switch {
			case op.Clear:
				_, err = tx.exec("DELETE FROM identity_docs WHERE kind = ?", op.Kind)
			case op.Doc == nil:
				_, err = tx.exec("DELETE FROM identity_docs WHERE kind = ? AND id = ?", op.Kind, op.ID)
			default:
				_, err = tx.exec(`INSERT INTO identity_docs (kind, id, doc, updated) VALUES (?, ?, ?, ?)
ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc, updated = excluded.updated`, op.Kind, op.ID, string(op.Doc), now)
			}
			if err != nil {
				return fmt.Errorf("%s/%s: %w", op.Kind, op.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply %d identity changes: %w", len(ops), err)
	}
	return nil
}
