package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

type alerts struct{ db *DB }

var _ store.Alerts = alerts{}

// systemActor is the actor of history entries the store writes itself.
const systemActor = "vigil"

const alertColumns = `rid, id, decision_id, ts, created, updated, event_id, action, user_name, host_name,
severity, risk_score, rule_ids, bundle_name, bundle_revision, status, assignee`

func scanAlert(sc interface{ Scan(...any) error }) (a store.Alert, pos position, err error) {
	var (
		created, updated int64
		ruleIDs, status  string
	)
	err = sc.Scan(&pos.rid, &a.ID, &a.DecisionID, &pos.ts, &created, &updated, &a.EventID, &a.Action,
		&a.User, &a.Host, &a.Severity, &a.RiskScore, &ruleIDs, &a.BundleName, &a.BundleRevision,
		&status, &a.Assignee)
	if err != nil {
		return a, pos, err
	}
	a.Time, a.Created, a.Updated = fromNanos(pos.ts), fromNanos(created), fromNanos(updated)
	a.Status = store.AlertStatus(status)
	a.RuleIDs, err = parseList(ruleIDs)
	return a, pos, err
}

// Create implements store.Alerts.
func (s alerts) Create(ctx context.Context, d store.DecisionRecord) (store.Alert, bool, error) {
	switch {
	case d.ID == "":
		return store.Alert{}, false, fmt.Errorf("create alert: %w: decision has no id", store.ErrInvalid)
	case !d.Alert:
		return store.Alert{}, false, fmt.Errorf("create alert for decision %q: %w: the decision does not ask for an alert", d.ID, store.ErrInvalid)
	}
	ruleIDs, err := jsonList(d.RuleIDs)
	if err != nil {
		return store.Alert{}, false, fmt.Errorf("create alert for decision %q: %w", d.ID, err)
	}
	now := s.db.now()
	if d.Time.IsZero() {
		d.Time = now
	}
	id := event.NewID(now)
	var (
		a       store.Alert
		created bool
	)
	err = s.db.write(ctx, alertRows(d), func(tx *wtx) error {
		var err error
		a, created, err = raiseAlert(tx, d, ruleIDs, id, now)
		return err
	})
	if err != nil {
		return store.Alert{}, false, fmt.Errorf("create alert for decision %q: %w", d.ID, err)
	}
	return a, created, nil
}

// Raise implements store.Alerts.
func (s alerts) Raise(ctx context.Context, recs []store.DecisionRecord) ([]store.Raised, error) {
	out := make([]store.Raised, len(recs))
	now := s.db.now()
	type item struct {
		i       int
		r       decisionRow
		alertID string // "" when the decision does not alert
	}
	items := make([]item, 0, len(recs))
	rows := 0
	for i, d := range recs {
		r, err := newDecisionRow(d, now)
		if err != nil {
			out[i].Err = fmt.Errorf("put decision %q: %w", d.ID, err)
			continue
		}
		it := item{i: i, r: r}
		rows += r.rows()
		if d.Alert {
			it.alertID = event.NewID(now)
			rows += alertRows(d)
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return out, nil
	}
	// Every record was checked above, and the rows are new or left alone
	// (ON CONFLICT DO NOTHING, INSERT OR IGNORE, a fresh alert id): only
	// the database can fail these writes, so they need no savepoint,
	// which would copy each page they touch first.
	err := s.db.writeBulk(ctx, rows, func(tx *wtx) error {
		for _, it := range items {
			if err := it.r.put(tx); err != nil {
				return fmt.Errorf("put decision %q: %w", it.r.d.ID, err)
			}
			if it.alertID == "" {
				continue
			}
			a, created, err := raiseAlert(tx, it.r.d, it.r.ruleIDs, it.alertID, now)
			if err != nil {
				return fmt.Errorf("create alert for decision %q: %w", it.r.d.ID, err)
			}
			out[it.i] = store.Raised{Alert: a, Created: created}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("raise %d decisions: %w", len(items), err)
		for _, it := range items {
			out[it.i] = store.Raised{Err: err}
		}
		return out, err
	}
	return out, nil
}

// alertRows is how many rows raiseAlert writes at most for d.
func alertRows(d store.DecisionRecord) int { return 2 + len(d.RuleIDs) }

// raiseAlert creates the alert of decision d, with id, unless d has one:
// then it returns that one with created false.
func raiseAlert(tx *wtx, d store.DecisionRecord, ruleIDs, id string, now time.Time) (a store.Alert, created bool, err error) {
	a, _, err = scanAlert(tx.queryRow("SELECT "+alertColumns+" FROM alerts WHERE decision_id = ?", d.ID))
	if err == nil {
		return a, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Alert{}, false, classify(err)
	}
	res, err := tx.exec(`INSERT INTO alerts (id, decision_id, ts, created, updated, event_id, action, user_name,
host_name, severity, risk_score, rule_ids, bundle_name, bundle_revision, status)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, d.ID, nanos(d.Time), nanos(now), nanos(now), d.EventID, d.Action, d.User, d.Host, d.Severity,
		d.RiskScore, ruleIDs, d.BundleName, d.BundleRevision, string(store.StatusOpen))
	if err != nil {
		return store.Alert{}, false, err
	}
	rid, err := res.LastInsertId()
	if err != nil {
		return store.Alert{}, false, classify(err)
	}
	for _, r := range d.RuleIDs {
		if _, err := tx.exec("INSERT OR IGNORE INTO alert_rules (rule_id, alert_rid) VALUES (?, ?)", r, rid); err != nil {
			return store.Alert{}, false, err
		}
	}
	if _, err := tx.exec(`INSERT INTO alert_history (alert_rid, ts, actor, from_status, to_status, comment)
VALUES (?, ?, ?, '', ?, ?)`, rid, nanos(now), systemActor, string(store.StatusOpen), "raised by decision "+d.ID); err != nil {
		return store.Alert{}, false, err
	}
	a = store.Alert{
		ID: id, DecisionID: d.ID, Time: fromNanos(nanos(d.Time)), Created: fromNanos(nanos(now)), Updated: fromNanos(nanos(now)),
		EventID: d.EventID, Action: d.Action, User: d.User, Host: d.Host, Severity: d.Severity,
		RiskScore: d.RiskScore, BundleName: d.BundleName, BundleRevision: d.BundleRevision,
		Status: store.StatusOpen,
	}
	a.RuleIDs, err = parseList(ruleIDs)
	if err != nil {
		return store.Alert{}, false, err
	}
	return a, true, nil
}

// Get implements store.Alerts.
func (s alerts) Get(ctx context.Context, id string) (store.Alert, error) {
	a, _, err := scanAlert(s.db.queryRow(ctx, "SELECT "+alertColumns+" FROM alerts WHERE id = ?", id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return a, fmt.Errorf("get alert %q: %w", id, store.ErrNotFound)
	case err != nil:
		return a, fmt.Errorf("get alert %q: %w", id, s.db.readErr(err))
	}
	return a, nil
}

// List implements store.Alerts.
func (s alerts) List(ctx context.Context, f store.AlertFilter) ([]store.Alert, string, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, "", fmt.Errorf("list alerts: %w: unknown status %q", store.ErrInvalid, f.Status)
	}
	limit := store.PageLimit(f.Limit)
	var w where
	w.eq("status", string(f.Status))
	w.eq("severity", f.Severity)
	w.eq("user_name", f.User)
	w.eq("host_name", f.Host)
	w.eq("assignee", f.Assignee)
	if f.Rule != "" {
		w.add("rid IN (SELECT alert_rid FROM alert_rules WHERE rule_id = ?)", f.Rule)
	}
	w.timeRange("ts", f.From, f.To)
	if err := w.after(f.Cursor, "ts", "rid", true); err != nil {
		return nil, "", fmt.Errorf("list alerts: %w", err)
	}
	rows, err := s.db.query(ctx, "SELECT "+alertColumns+" FROM alerts"+w.String()+order("ts", "rid", true, limit), w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list alerts: %w", err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	out, next, err := page(rows, limit, scanAlert)
	if err != nil {
		return nil, "", fmt.Errorf("list alerts: %w", s.db.readErr(err))
	}
	return out, next, nil
}

// Update implements store.Alerts.
func (s alerts) Update(ctx context.Context, id string, u store.AlertUpdate) (store.Alert, error) {
	fail := func(err error) (store.Alert, error) {
		return store.Alert{}, fmt.Errorf("update alert %q: %w", id, err)
	}
	switch {
	case u.Actor == "":
		return fail(fmt.Errorf("%w: no actor", store.ErrInvalid))
	case u.Status != "" && !u.Status.Valid():
		return fail(fmt.Errorf("%w: unknown status %q", store.ErrInvalid, u.Status))
	case u.Status == "" && u.Assignee == nil && u.Comment == "":
		return fail(fmt.Errorf("%w: nothing to change", store.ErrInvalid))
	}
	now := nanos(s.db.now())
	var a store.Alert
	err := s.db.write(ctx, 2, func(tx *wtx) error {
		cur, pos, err := scanAlert(tx.queryRow("SELECT "+alertColumns+" FROM alerts WHERE id = ?", id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return classify(err)
		}
		to := cur.Status
		if u.Status != "" {
			if !cur.Status.CanTransitionTo(u.Status) {
				return fmt.Errorf("%w: %s → %s", store.ErrInvalidTransition, cur.Status, u.Status)
			}
			to = u.Status
		}
		assignee := cur.Assignee
		if u.Assignee != nil {
			assignee = *u.Assignee
		}
		if _, err := tx.exec("UPDATE alerts SET status = ?, assignee = ?, updated = ? WHERE rid = ?",
			string(to), assignee, now, pos.rid); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO alert_history (alert_rid, ts, actor, from_status, to_status, assignee, comment)
VALUES (?, ?, ?, ?, ?, ?, ?)`, pos.rid, now, u.Actor, string(cur.Status), string(to), assignee, u.Comment); err != nil {
			return err
		}
		a = cur
		a.Status, a.Assignee, a.Updated = to, assignee, fromNanos(now)
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return a, nil
}

// History implements store.Alerts.
func (s alerts) History(ctx context.Context, id string) ([]store.AlertChange, error) {
	fail := func(err error) ([]store.AlertChange, error) {
		return nil, fmt.Errorf("alert %q history: %w", id, err)
	}
	var rid int64
	err := s.db.queryRow(ctx, "SELECT rid FROM alerts WHERE id = ?", id).Scan(&rid)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fail(store.ErrNotFound)
	case err != nil:
		return fail(s.db.readErr(err))
	}
	rows, err := s.db.query(ctx, `SELECT ts, actor, from_status, to_status, assignee, comment
FROM alert_history WHERE alert_rid = ? ORDER BY rid`, rid)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	var out []store.AlertChange
	for rows.Next() {
		var (
			c        store.AlertChange
			ts       int64
			from, to string
		)
		if err := rows.Scan(&ts, &c.Actor, &from, &to, &c.Assignee, &c.Comment); err != nil {
			return fail(classify(err))
		}
		c.Time, c.FromStatus, c.ToStatus = fromNanos(ts), store.AlertStatus(from), store.AlertStatus(to)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return fail(s.db.readErr(err))
	}
	return out, nil
}
