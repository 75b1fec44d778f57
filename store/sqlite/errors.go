package sqlite

import (
	"errors"
	"fmt"

	"modernc.org/sqlite"

	"github.com/vigil-itm/vigil/store"
)

// SQLite result codes (https://sqlite.org/rescode.html); stable across
// versions.
const (
	codeBusy       = 5
	codeReadOnly   = 8
	codeIOErr      = 10
	codeCorrupt    = 11
	codeFull       = 13
	codeCantOpen   = 14
	codeConstraint = 19
	codeNotADB     = 26

	codeConstraintPrimaryKey = codeConstraint | 6<<8
	codeConstraintUnique     = codeConstraint | 8<<8
)

// classify maps a SQLite failure to the store's sentinel errors, keeping
// SQLite's own message: a full disk becomes store.ErrFull, a read-only
// database store.ErrReadOnly, a uniqueness violation store.ErrConflict, any other
// constraint violation store.ErrInvalid.
// Other errors are returned as they are.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch code := se.Code(); code & 0xff {
	case codeFull:
		return fmt.Errorf("%w: %w", store.ErrFull, err)
	case codeReadOnly:
		return fmt.Errorf("%w: %w", store.ErrReadOnly, err)
	case codeConstraint:
		switch code {
		case codeConstraintUnique, codeConstraintPrimaryKey:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
		// NOT NULL, CHECK, foreign key, or a trigger refusing the change
		// (the audit log's).
		return fmt.Errorf("%w: %w", store.ErrInvalid, err)
	case codeBusy:
		return fmt.Errorf("database locked by another process: %w", err)
	case codeCorrupt, codeNotADB:
		return fmt.Errorf("not a vigil database, or damaged: %w", err)
	case codeCantOpen:
		return fmt.Errorf("cannot open the database file: %w", err)
	case codeIOErr:
		return fmt.Errorf("disk I/O error: %w", err)
	}
	return err
}
