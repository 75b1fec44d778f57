package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-itm/vigil/store"
)

type users struct{ db *DB }

var _ store.Users = users{}

const userColumns = `id, name, full_name, email, department, manager, groups_json, employment_status, end_date,
contractor, updated`

func scanUser(sc interface{ Scan(...any) error }) (store.User, error) {
	var (
		u          store.User
		groups     string
		contractor int
		updated    int64
	)
	err := sc.Scan(&u.ID, &u.Name, &u.FullName, &u.Email, &u.Department, &u.Manager, &groups,
		&u.EmploymentStatus, &u.EndDate, &contractor, &updated)
	if err != nil {
		return u, err
	}
	u.Contractor, u.Updated = contractor != 0, fromNanos(updated)
	u.Groups, err = parseList(groups)
	return u, err
}

// Upsert implements store.Users.
func (s users) Upsert(ctx context.Context, u store.User) error {
	if u.ID == "" || u.Name == "" {
		return fmt.Errorf("upsert user %q: %w: id and name are required", u.ID, store.ErrInvalid)
	}
	if u.EndDate != "" {
		if _, err := time.Parse(time.DateOnly, u.EndDate); err != nil {
			return fmt.Errorf("upsert user %q: %w: end date %q: want YYYY-MM-DD", u.ID, store.ErrInvalid, u.EndDate)
		}
	}
	groups, err := jsonList(u.Groups)
	if err != nil {
		return fmt.Errorf("upsert user %q: %w", u.ID, err)
	}
	now := nanos(s.db.now())
	err = s.db.write(ctx, 1, func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, full_name = excluded.full_name, email = excluded.email,
department = excluded.department, manager = excluded.manager, groups_json = excluded.groups_json,
employment_status = excluded.employment_status, end_date = excluded.end_date,
contractor = excluded.contractor, updated = excluded.updated`,
			u.ID, u.Name, u.FullName, u.Email, u.Department, u.Manager, groups, u.EmploymentStatus, u.EndDate,
			boolInt(u.Contractor), now)
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("%w: name %q belongs to another user", store.ErrConflict, u.Name)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("upsert user %q: %w", u.ID, err)
	}
	return nil
}

func (s users) getBy(ctx context.Context, col, v string) (store.User, error) {
	u, err := scanUser(s.db.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE "+col+" = ?", v))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return u, fmt.Errorf("user %s %q: %w", col, v, store.ErrNotFound)
	case err != nil:
		return u, fmt.Errorf("user %s %q: %w", col, v, s.db.readErr(err))
	}
	return u, nil
}

// Get implements store.Users.
func (s users) Get(ctx context.Context, id string) (store.User, error) { return s.getBy(ctx, "id", id) }

// Lookup implements store.Users.
func (s users) Lookup(ctx context.Context, name string) (store.User, error) {
	return s.getBy(ctx, "name", name)
}

// List implements store.Users.
func (s users) List(ctx context.Context, f store.UserFilter) ([]store.User, string, error) {
	limit := store.PageLimit(f.Limit)
	var w where
	w.eq("department", f.Department)
	w.eq("employment_status", f.EmploymentStatus)
	if f.Contractor != nil {
		w.add("contractor = ?", boolInt(*f.Contractor))
	}
	if f.Cursor != "" {
		after, err := parseStringCursor(f.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list users: %w", err)
		}
		w.add("id > ?", after)
	}
	rows, err := s.db.query(ctx, "SELECT "+userColumns+" FROM users"+w.String()+" ORDER BY id LIMIT ?", append(w.args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	var out []store.User
	for rows.Next() {
		if len(out) == limit {
			return out, stringCursor(out[len(out)-1].ID), nil
		}
		u, err := scanUser(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list users: %w", classify(err))
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list users: %w", s.db.readErr(err))
	}
	return out, "", nil
}

// Delete implements store.Users.
func (s users) Delete(ctx context.Context, id string) error {
	err := s.db.write(ctx, 1, func(tx *wtx) error {
		n, err := tx.execCount("DELETE FROM users WHERE id = ?", id)
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user %q: %w", id, err)
	}
	return nil
}

// riskSince returns the start of a risk period of days days.
func (s users) riskSince(days int) (int64, error) {
	if days <= 0 {
		return 0, fmt.Errorf("%w: want a period of at least one day, got %d", store.ErrInvalid, days)
	}
	return nanos(s.db.now().Add(-store.Days(days))), nil
}

// Risk implements store.Users.
func (s users) Risk(ctx context.Context, name string, days int) (store.UserRisk, error) {
	r := store.UserRisk{User: name}
	since, err := s.riskSince(days)
	if err != nil {
		return r, fmt.Errorf("risk of user %q: %w", name, err)
	}
	err = s.db.queryRow(ctx, `SELECT COALESCE(SUM(risk_score), 0), COUNT(*) FROM alerts
WHERE user_name = ? AND ts >= ? AND status != 'false-positive'`, name, since).Scan(&r.Score, &r.Alerts)
	if err != nil {
		return r, fmt.Errorf("risk of user %q: %w", name, s.db.readErr(err))
	}
	return r, nil
}

// TopRisk implements store.Users.
func (s users) TopRisk(ctx context.Context, days, limit int) ([]store.UserRisk, error) {
	since, err := s.riskSince(days)
	if err != nil {
		return nil, fmt.Errorf("top risk: %w", err)
	}
	rows, err := s.db.query(ctx, `SELECT user_name, SUM(risk_score) AS score, COUNT(*) FROM alerts
WHERE ts >= ? AND status != 'false-positive' AND user_name != ''
GROUP BY user_name ORDER BY score DESC, user_name LIMIT ?`, since, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("top risk: %w", err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	var out []store.UserRisk
	for rows.Next() {
		var r store.UserRisk
		if err := rows.Scan(&r.User, &r.Score, &r.Alerts); err != nil {
			return nil, fmt.Errorf("top risk: %w", classify(err))
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("top risk: %w", s.db.readErr(err))
	}
	return out, nil
}
