package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

type tokens struct{ db *DB }

var _ store.Tokens = tokens{}

const tokenColumns = "id, name, role, kind, hash, created_by, created, expires, last_used, revoked, single_use, used"

// lastUsedResolution is how stale a token's last-used time may get: an
// authentication records the time only when the stored one is older, so
// that a busy token costs one write a minute, not one a request.
const lastUsedResolution = time.Minute

func scanToken(sc interface{ Scan(...any) error }) (store.Token, []byte, error) {
	var (
		t                                store.Token
		role, kind                       string
		hash                             []byte
		created                          int64
		expires, lastUsed, revoked, used *int64
		singleUse                        int
	)
	err := sc.Scan(&t.ID, &t.Name, &role, &kind, &hash, &t.CreatedBy, &created, &expires, &lastUsed, &revoked, &singleUse, &used)
	if err != nil {
		return t, nil, err
	}
	t.Role, t.Kind, t.SingleUse = store.Role(role), store.TokenKind(kind), singleUse != 0
	t.Created, t.Expires, t.LastUsed = fromNanos(created), fromNullNanos(expires), fromNullNanos(lastUsed)
	t.Revoked, t.Used = fromNullNanos(revoked), fromNullNanos(used)
	return t, hash, nil
}

// newToken checks nt and returns the token to store, without id.
func newToken(nt store.NewToken, now time.Time) (store.Token, error) {
	if nt.Kind == "" {
		nt.Kind = store.TokenAPI
	}
	switch {
	case nt.Name == "":
		return store.Token{}, fmt.Errorf("%w: no name", store.ErrInvalid)
	case !nt.Role.Valid():
		return store.Token{}, fmt.Errorf("%w: unknown role %q", store.ErrInvalid, nt.Role)
	case nt.Kind != store.TokenAPI && nt.Kind != store.TokenEnrollment:
		return store.Token{}, fmt.Errorf("%w: unknown kind %q", store.ErrInvalid, nt.Kind)
	case nt.Kind == store.TokenEnrollment && nt.Role != store.RoleAgent:
		return store.Token{}, fmt.Errorf("%w: an enrollment token is for the agent role", store.ErrInvalid)
	case nt.Kind == store.TokenEnrollment && !nt.SingleUse && nt.Expires.IsZero():
		return store.Token{}, fmt.Errorf("%w: an enrollment token must be single-use or expire", store.ErrInvalid)
	case nt.Kind == store.TokenAPI && nt.SingleUse:
		return store.Token{}, fmt.Errorf("%w: only enrollment tokens are single-use", store.ErrInvalid)
	case !nt.Expires.IsZero() && !nt.Expires.After(now):
		return store.Token{}, fmt.Errorf("%w: expiry %s is not in the future", store.ErrInvalid, nt.Expires.Format(time.RFC3339))
	}
	return store.Token{
		ID: event.NewID(now), Name: nt.Name, Role: nt.Role, Kind: nt.Kind, CreatedBy: nt.CreatedBy,
		Created: fromNanos(nanos(now)), Expires: canonical(nt.Expires), SingleUse: nt.SingleUse,
	}, nil
}

// canonical returns t as it reads back from the store.
func canonical(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return fromNanos(nanos(t))
}

const insertToken = `INSERT INTO tokens (id, name, role, kind, hash, created_by, created, expires, single_use)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (tx *wtx) insertToken(t store.Token, secret string) error {
	h := store.HashTokenSecret(secret)
	_, err := tx.exec(insertToken, t.ID, t.Name, string(t.Role), string(t.Kind), h[:], t.CreatedBy,
		nanos(t.Created), nullNanos(t.Expires), boolInt(t.SingleUse))
	return err
}

// Create implements store.Tokens.
func (s tokens) Create(ctx context.Context, nt store.NewToken) (store.Token, string, error) {
	t, err := newToken(nt, s.db.now())
	if err != nil {
		return store.Token{}, "", fmt.Errorf("create token %q: %w", nt.Name, err)
	}
	secret := store.NewTokenSecret()
	if err := s.db.write(ctx, 1, func(tx *wtx) error { return tx.insertToken(t, secret) }); err != nil {
		return store.Token{}, "", fmt.Errorf("create token %q: %w", nt.Name, err)
	}
	return t, secret, nil
}

// dummyHash is compared against when no token matches, so that a miss
// costs what a hit does.
var dummyHash = store.HashTokenSecret("")

// lookup returns the token whose digest is h, with ok false when there is
// none, comparing digests in constant time.
func lookup(sc interface{ Scan(...any) error }, h [32]byte) (t store.Token, ok bool, err error) {
	t, stored, err := scanToken(sc)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return t, false, err
	}
	if stored == nil {
		stored = dummyHash[:]
	}
	return t, subtle.ConstantTimeCompare(stored, h[:]) == 1 && err == nil, nil
}

// usable reports whether t may be used now as a token of kind.
func usable(t store.Token, kind store.TokenKind, now time.Time) bool {
	return t.Kind == kind && t.Revoked.IsZero() && (t.Expires.IsZero() || now.Before(t.Expires)) &&
		!(t.SingleUse && !t.Used.IsZero())
}

// Authenticate implements store.Tokens.
func (s tokens) Authenticate(ctx context.Context, secret string) (store.Token, error) {
	h := store.HashTokenSecret(secret)
	now := s.db.now()
	t, ok, err := lookup(s.db.queryRow(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE hash = ?", h[:]), h)
	if err != nil {
		return store.Token{}, fmt.Errorf("authenticate: %w", s.db.readErr(err))
	}
	if !ok || !usable(t, store.TokenAPI, now) {
		return store.Token{}, fmt.Errorf("authenticate: %w", store.ErrUnauthorized)
	}
	if now.Sub(t.LastUsed) >= lastUsedResolution && s.db.writer != nil {
		id, at := t.ID, nanos(now)
		s.db.writer.submitAsync(1, func(tx *wtx) error {
			_, err := tx.exec("UPDATE tokens SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used < ?)", at, id, at)
			return err
		})
		t.LastUsed = fromNanos(at)
	}
	return t, nil
}

// Enroll implements store.Tokens.
func (s tokens) Enroll(ctx context.Context, secret, name string) (store.Token, string, error) {
	now := s.db.now()
	agent, err := newToken(store.NewToken{Name: name, Role: store.RoleAgent, Kind: store.TokenAPI, CreatedBy: "enrollment"}, now)
	if err != nil {
		return store.Token{}, "", fmt.Errorf("enroll agent %q: %w", name, err)
	}
	agentSecret := store.NewTokenSecret()
	h := store.HashTokenSecret(secret)
	err = s.db.write(ctx, 2, func(tx *wtx) error {
		t, ok, err := lookup(tx.queryRow("SELECT "+tokenColumns+" FROM tokens WHERE hash = ?", h[:]), h)
		if err != nil {
			return classify(err)
		}
		if !ok || !usable(t, store.TokenEnrollment, now) {
			return store.ErrUnauthorized
		}
		agent.CreatedBy = "enrollment:" + t.ID
		if _, err := tx.exec("UPDATE tokens SET used = ?, last_used = ? WHERE id = ?", nanos(now), nanos(now), t.ID); err != nil {
			return err
		}
		return tx.insertToken(agent, agentSecret)
	})
	if err != nil {
		return store.Token{}, "", fmt.Errorf("enroll agent %q: %w", name, err)
	}
	return agent, agentSecret, nil
}

// Get implements store.Tokens.
func (s tokens) Get(ctx context.Context, id string) (store.Token, error) {
	t, _, err := scanToken(s.db.queryRow(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE id = ?", id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return t, fmt.Errorf("get token %q: %w", id, store.ErrNotFound)
	case err != nil:
		return t, fmt.Errorf("get token %q: %w", id, s.db.readErr(err))
	}
	return t, nil
}

// List implements store.Tokens.
func (s tokens) List(ctx context.Context) ([]store.Token, error) {
	rows, err := s.db.query(ctx, "SELECT "+tokenColumns+" FROM tokens ORDER BY created DESC, id DESC")
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	var out []store.Token
	for rows.Next() {
		t, _, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", classify(err))
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", s.db.readErr(err))
	}
	return out, nil
}

// Revoke implements store.Tokens.
func (s tokens) Revoke(ctx context.Context, id string) error {
	now := nanos(s.db.now())
	err := s.db.write(ctx, 1, func(tx *wtx) error {
		n, err := tx.execCount("UPDATE tokens SET revoked = COALESCE(revoked, ?) WHERE id = ?", now, id)
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", id, err)
	}
	return nil
}
