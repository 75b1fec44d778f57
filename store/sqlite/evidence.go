package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-itm/vigil/store"
)

type evidence struct{ db *DB }

var _ store.Evidence = evidence{}

const evidenceColumns = "package_id, alert_id, path, sha256, size, created, verified, verified_at"

func scanEvidence(sc interface{ Scan(...any) error }) (store.EvidenceRecord, error) {
	var (
		r          store.EvidenceRecord
		created    int64
		verified   int
		verifiedAt *int64
	)
	if err := sc.Scan(&r.PackageID, &r.AlertID, &r.Path, &r.SHA256, &r.Size, &created, &verified, &verifiedAt); err != nil {
		return r, err
	}
	r.Created, r.Verified, r.VerifiedAt = fromNanos(created), verified != 0, fromNullNanos(verifiedAt)
	return r, nil
}

// Add implements store.Evidence.
func (s evidence) Add(ctx context.Context, r store.EvidenceRecord) error {
	switch {
	case r.PackageID == "":
		return fmt.Errorf("add evidence: %w: no package id", store.ErrInvalid)
	case r.AlertID == "":
		return fmt.Errorf("add evidence %q: %w: no alert id", r.PackageID, store.ErrInvalid)
	case r.Size < 0:
		return fmt.Errorf("add evidence %q: %w: negative size", r.PackageID, store.ErrInvalid)
	}
	if r.Created.IsZero() {
		r.Created = s.db.now()
	}
	err := s.db.write(ctx, 1, func(tx *wtx) error {
		n, err := tx.execCount(`INSERT INTO evidence (package_id, alert_id, path, sha256, size, created, verified, verified_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (package_id) DO NOTHING`,
			r.PackageID, r.AlertID, r.Path, r.SHA256, r.Size, nanos(r.Created), boolInt(r.Verified), nullNanos(r.VerifiedAt))
		if err != nil || n == 1 {
			return err
		}
		old, err := scanEvidence(tx.queryRow("SELECT "+evidenceColumns+" FROM evidence WHERE package_id = ?", r.PackageID))
		if err != nil {
			return classify(err)
		}
		if old.AlertID != r.AlertID || old.Path != r.Path || old.SHA256 != r.SHA256 || old.Size != r.Size {
			return fmt.Errorf("%w: package already indexed for alert %q at %q with sha256 %s", store.ErrConflict, old.AlertID, old.Path, old.SHA256)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add evidence %q: %w", r.PackageID, err)
	}
	return nil
}

// Get implements store.Evidence.
func (s evidence) Get(ctx context.Context, packageID string) (store.EvidenceRecord, error) {
	r, err := scanEvidence(s.db.queryRow(ctx, "SELECT "+evidenceColumns+" FROM evidence WHERE package_id = ?", packageID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return r, fmt.Errorf("get evidence %q: %w", packageID, store.ErrNotFound)
	case err != nil:
		return r, fmt.Errorf("get evidence %q: %w", packageID, s.db.readErr(err))
	}
	return r, nil
}

// List implements store.Evidence.
func (s evidence) List(ctx context.Context, alertID string) ([]store.EvidenceRecord, error) {
	rows, err := s.db.query(ctx, "SELECT "+evidenceColumns+" FROM evidence WHERE alert_id = ? ORDER BY created, package_id", alertID)
	if err != nil {
		return nil, fmt.Errorf("list evidence of alert %q: %w", alertID, err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	var out []store.EvidenceRecord
	for rows.Next() {
		r, err := scanEvidence(rows)
		if err != nil {
			return nil, fmt.Errorf("list evidence of alert %q: %w", alertID, classify(err))
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list evidence of alert %q: %w", alertID, s.db.readErr(err))
	}
	return out, nil
}

// SetVerified implements store.Evidence.
func (s evidence) SetVerified(ctx context.Context, packageID string, verified bool, at time.Time) error {
	if at.IsZero() {
		at = s.db.now()
	}
	err := s.db.write(ctx, 1, func(tx *wtx) error {
		n, err := tx.execCount("UPDATE evidence SET verified = ?, verified_at = ? WHERE package_id = ?",
			boolInt(verified), nanos(at), packageID)
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("set evidence %q verified: %w", packageID, err)
	}
	return nil
}
