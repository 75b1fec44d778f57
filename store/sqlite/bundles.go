package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/vigil-itm/vigil/store"
)

type bundles struct{ db *DB }

var _ store.Bundles = bundles{}

// activeRid selects the rid of the active bundle, NULL when none.
const activeRid = "(SELECT bundle_rid FROM bundle_activations ORDER BY rid DESC LIMIT 1)"

const bundleColumns = "rid, name, revision, sha256, size, uploaded_by, uploaded_at, rid IS " + activeRid

func scanBundle(sc interface{ Scan(...any) error }) (store.BundleRevision, int64, error) {
	var (
		b          store.BundleRevision
		rid, at    int64
		activeFlag int
	)
	if err := sc.Scan(&rid, &b.Name, &b.Revision, &b.SHA256, &b.Size, &b.UploadedBy, &at, &activeFlag); err != nil {
		return b, 0, err
	}
	b.UploadedAt, b.Active = fromNanos(at), activeFlag != 0
	return b, rid, nil
}

// Upload implements store.Bundles.
func (s bundles) Upload(ctx context.Context, u store.BundleUpload) (store.BundleRevision, error) {
	fail := func(err error) (store.BundleRevision, error) {
		return store.BundleRevision{}, fmt.Errorf("upload bundle %q revision %q: %w", u.Name, u.Revision, err)
	}
	switch {
	case u.Name == "" || u.Revision == "":
		return fail(fmt.Errorf("%w: name and revision are required", store.ErrInvalid))
	case len(u.Tarball) == 0:
		return fail(fmt.Errorf("%w: empty tarball", store.ErrInvalid))
	}
	sum := sha256.Sum256(u.Tarball)
	digest := hex.EncodeToString(sum[:])
	now := s.db.now()
	var b store.BundleRevision
	err := s.db.write(ctx, 1, func(tx *wtx) error {
		var err error
		b, _, err = scanBundle(tx.queryRow("SELECT "+bundleColumns+" FROM bundles WHERE name = ? AND revision = ?", u.Name, u.Revision))
		switch {
		case err == nil && b.SHA256 == digest:
			return nil
		case err == nil:
			return fmt.Errorf("%w: revision already stored with sha256 %s; revisions are immutable", store.ErrConflict, b.SHA256)
		case !errors.Is(err, sql.ErrNoRows):
			return classify(err)
		}
		if _, err := tx.exec(`INSERT INTO bundles (name, revision, sha256, size, tarball, uploaded_by, uploaded_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`, u.Name, u.Revision, digest, len(u.Tarball), u.Tarball, u.UploadedBy, nanos(now)); err != nil {
			return err
		}
		b = store.BundleRevision{Name: u.Name, Revision: u.Revision, SHA256: digest, Size: int64(len(u.Tarball)),
			UploadedBy: u.UploadedBy, UploadedAt: fromNanos(nanos(now))}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return b, nil
}

// List implements store.Bundles.
func (s bundles) List(ctx context.Context, name string) ([]store.BundleRevision, error) {
	var w where
	w.eq("name", name)
	rows, err := s.db.query(ctx, "SELECT "+bundleColumns+" FROM bundles"+w.String()+" ORDER BY uploaded_at DESC, rid DESC", w.args...)
	if err != nil {
		return nil, fmt.Errorf("list bundles: %w", err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	var out []store.BundleRevision
	for rows.Next() {
		b, _, err := scanBundle(rows)
		if err != nil {
			return nil, fmt.Errorf("list bundles: %w", classify(err))
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list bundles: %w", s.db.readErr(err))
	}
	return out, nil
}

// Tarball implements store.Bundles.
func (s bundles) Tarball(ctx context.Context, name, revision string) ([]byte, error) {
	var data []byte
	err := s.db.queryRow(ctx, "SELECT tarball FROM bundles WHERE name = ? AND revision = ?", name, revision).Scan(&data)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("bundle %q revision %q: %w", name, revision, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("bundle %q revision %q: %w", name, revision, s.db.readErr(err))
	}
	return data, nil
}

// Activate implements store.Bundles.
func (s bundles) Activate(ctx context.Context, name, revision, by, reason string) error {
	now := nanos(s.db.now())
	err := s.db.write(ctx, 1, func(tx *wtx) error {
		var rid int64
		err := tx.queryRow("SELECT rid FROM bundles WHERE name = ? AND revision = ?", name, revision).Scan(&rid)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return classify(err)
		}
		_, err = tx.exec("INSERT INTO bundle_activations (bundle_rid, activated_by, activated_at, reason) VALUES (?, ?, ?, ?)",
			rid, by, now, reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("activate bundle %q revision %q: %w", name, revision, err)
	}
	return nil
}

// Active implements store.Bundles.
func (s bundles) Active(ctx context.Context) (store.BundleRevision, error) {
	b, _, err := scanBundle(s.db.queryRow(ctx, "SELECT "+bundleColumns+" FROM bundles WHERE rid = "+activeRid))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return b, fmt.Errorf("active bundle: %w: no bundle activated yet", store.ErrNotFound)
	case err != nil:
		return b, fmt.Errorf("active bundle: %w", s.db.readErr(err))
	}
	return b, nil
}

// Activations implements store.Bundles.
func (s bundles) Activations(ctx context.Context) ([]store.Activation, error) {
	rows, err := s.db.query(ctx, `SELECT b.name, b.revision, b.sha256, a.activated_by, a.activated_at, a.reason
FROM bundle_activations a JOIN bundles b ON b.rid = a.bundle_rid ORDER BY a.rid DESC`)
	if err != nil {
		return nil, fmt.Errorf("bundle activations: %w", err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	var out []store.Activation
	for rows.Next() {
		var (
			a  store.Activation
			at int64
		)
		if err := rows.Scan(&a.Name, &a.Revision, &a.SHA256, &a.ActivatedBy, &at, &a.Reason); err != nil {
			return nil, fmt.Errorf("bundle activations: %w", classify(err))
		}
		a.ActivatedAt = fromNanos(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bundle activations: %w", s.db.readErr(err))
	}
	return out, nil
}
