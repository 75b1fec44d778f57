package sqlite

import (
	"context"
	"fmt"

	"github.com/vigil-itm/vigil/store"
)

type audit struct{ db *DB }

var _ store.Audit = audit{}

// Append implements store.Audit.
func (s audit) Append(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	if e.Actor == "" || e.Action == "" {
		return e, fmt.Errorf("append audit entry: %w: actor and action are required", store.ErrInvalid)
	}
	if e.Time.IsZero() {
		e.Time = s.db.now()
	}
	e.Time = fromNanos(nanos(e.Time))
	err := s.db.write(ctx, 1, func(tx *wtx) error {
		res, err := tx.exec("INSERT INTO audit (ts, actor, action, target, reason, request_id) VALUES (?, ?, ?, ?, ?, ?)",
			nanos(e.Time), e.Actor, e.Action, e.Target, e.Reason, e.RequestID)
		if err != nil {
			return err
		}
		e.ID, err = res.LastInsertId()
		return classify(err)
	})
	if err != nil {
		return e, fmt.Errorf("append audit entry %s by %q: %w", e.Action, e.Actor, err)
	}
	return e, nil
}

func scanAudit(sc interface{ Scan(...any) error }) (store.AuditEntry, position, error) {
	var (
		e   store.AuditEntry
		pos position
	)
	if err := sc.Scan(&pos.rid, &pos.ts, &e.Actor, &e.Action, &e.Target, &e.Reason, &e.RequestID); err != nil {
		return e, pos, err
	}
	e.ID, e.Time = pos.rid, fromNanos(pos.ts)
	return e, pos, nil
}

// List implements store.Audit.
func (s audit) List(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, string, error) {
	limit := store.PageLimit(f.Limit)
	var w where
	w.eq("actor", f.Actor)
	w.eq("action", f.Action)
	w.eq("target", f.Target)
	w.timeRange("ts", f.From, f.To)
	if err := w.after(f.Cursor, "ts", "rid", true); err != nil {
		return nil, "", fmt.Errorf("list audit entries: %w", err)
	}
	rows, err := s.db.query(ctx, "SELECT rid, ts, actor, action, target, reason, request_id FROM audit"+
		w.String()+order("ts", "rid", true, limit), w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list audit entries: %w", err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	out, next, err := page(rows, limit, scanAudit)
	if err != nil {
		return nil, "", fmt.Errorf("list audit entries: %w", s.db.readErr(err))
	}
	return out, next, nil
}
