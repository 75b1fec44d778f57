package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-itm/vigil/store"
)

type decisions struct{ db *DB }

var _ store.Decisions = decisions{}

// Put implements store.Decisions.
func (s decisions) Put(ctx context.Context, d store.DecisionRecord) error {
	r, err := newDecisionRow(d, s.db.now())
	if err == nil {
		err = s.db.write(ctx, r.rows(), r.put)
	}
	if err != nil {
		return fmt.Errorf("put decision %q: %w", d.ID, err)
	}
	return nil
}

// decisionRow is a decision record checked and encoded for its row.
type decisionRow struct {
	d       store.DecisionRecord
	ruleIDs string
	body    any
}

// newDecisionRow checks d and encodes it; a zero time becomes now.
func newDecisionRow(d store.DecisionRecord, now time.Time) (decisionRow, error) {
	if d.ID == "" {
		return decisionRow{}, fmt.Errorf("%w: no id", store.ErrInvalid)
	}
	if len(d.Decision) > 0 && !json.Valid(d.Decision) {
		return decisionRow{}, fmt.Errorf("%w: decision is not valid JSON", store.ErrInvalid)
	}
	ruleIDs, err := jsonList(d.RuleIDs)
	if err != nil {
		return decisionRow{}, err
	}
	if d.Time.IsZero() {
		d.Time = now
	}
	r := decisionRow{d: d, ruleIDs: ruleIDs}
	if len(d.Decision) > 0 {
		r.body = []byte(d.Decision)
	}
	return r, nil
}

// rows is how many rows put writes at most.
func (r decisionRow) rows() int { return 1 + len(r.d.RuleIDs) }

// put inserts the decision and its rule index, unless its id is stored.
func (r decisionRow) put(tx *wtx) error {
	d := r.d
	res, err := tx.exec(`INSERT INTO decisions (id, ts, event_id, action, user_name, host_name, bundle_name,
bundle_revision, alert, severity, risk_score, rule_ids, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`,
		d.ID, nanos(d.Time), d.EventID, d.Action, d.User, d.Host, d.BundleName, d.BundleRevision,
		boolInt(d.Alert), d.Severity, d.RiskScore, r.ruleIDs, r.body)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return classify(err) // nil when already stored: Put is idempotent
	}
	rid, err := res.LastInsertId()
	if err != nil {
		return classify(err)
	}
	for _, rule := range d.RuleIDs {
		if _, err := tx.exec("INSERT OR IGNORE INTO decision_rules (rule_id, decision_rid) VALUES (?, ?)", rule, rid); err != nil {
			return err
		}
	}
	return nil
}

const decisionColumns = `rid, id, ts, event_id, action, user_name, host_name, bundle_name, bundle_revision,
alert, severity, risk_score, rule_ids, body`

func scanDecision(sc interface{ Scan(...any) error }) (d store.DecisionRecord, pos position, err error) {
	var (
		alert   int
		ruleIDs string
		body    []byte
	)
	err = sc.Scan(&pos.rid, &d.ID, &pos.ts, &d.EventID, &d.Action, &d.User, &d.Host, &d.BundleName,
		&d.BundleRevision, &alert, &d.Severity, &d.RiskScore, &ruleIDs, &body)
	if err != nil {
		return d, pos, err
	}
	d.Time = fromNanos(pos.ts)
	d.Alert = alert != 0
	if d.RuleIDs, err = parseList(ruleIDs); err != nil {
		return d, pos, err
	}
	if len(body) > 0 {
		d.Decision = json.RawMessage(body)
	}
	return d, pos, nil
}

// Get implements store.Decisions.
func (s decisions) Get(ctx context.Context, id string) (store.DecisionRecord, error) {
	d, _, err := scanDecision(s.db.queryRow(ctx, "SELECT "+decisionColumns+" FROM decisions WHERE id = ?", id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return d, fmt.Errorf("get decision %q: %w", id, store.ErrNotFound)
	case err != nil:
		return d, fmt.Errorf("get decision %q: %w", id, s.db.readErr(err))
	}
	return d, nil
}

// List implements store.Decisions.
func (s decisions) List(ctx context.Context, f store.DecisionFilter) ([]store.DecisionRecord, string, error) {
	limit := store.PageLimit(f.Limit)
	var w where
	w.eq("user_name", f.User)
	w.eq("host_name", f.Host)
	w.eq("bundle_name", f.Bundle)
	if f.Rule != "" {
		w.add("rid IN (SELECT decision_rid FROM decision_rules WHERE rule_id = ?)", f.Rule)
	}
	if f.AlertsOnly {
		w.add("alert = 1")
	}
	w.timeRange("ts", f.From, f.To)
	if err := w.after(f.Cursor, "ts", "rid", true); err != nil {
		return nil, "", fmt.Errorf("list decisions: %w", err)
	}
	rows, err := s.db.query(ctx, "SELECT "+decisionColumns+" FROM decisions"+w.String()+order("ts", "rid", true, limit), w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list decisions: %w", err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	out, next, err := page(rows, limit, scanDecision)
	if err != nil {
		return nil, "", fmt.Errorf("list decisions: %w", s.db.readErr(err))
	}
	return out, next, nil
}

// page reads up to limit rows with scan and returns the cursor of the
// next page, "" when the rows end within the page.
func page[T any](rows *sql.Rows, limit int, scan func(interface{ Scan(...any) error }) (T, position, error)) ([]T, string, error) {
	var (
		out  []T
		last position
	)
	for rows.Next() {
		if len(out) == limit {
			return out, last.String(), nil
		}
		v, pos, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
		last = pos
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	return out, "", nil
}

// jsonList returns the stored form of a string list: a JSON array, "[]"
// for none.
func jsonList(list []string) (string, error) {
	if len(list) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return "", fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	return string(b), nil
}

// parseList reads the stored form of a string list; none is nil.
func parseList(stored string) ([]string, error) {
	if stored == "" || stored == "[]" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal([]byte(stored), &list); err != nil {
		return nil, fmt.Errorf("stored list %q: %w", stored, err)
	}
	return list, nil
}
