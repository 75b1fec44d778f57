package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

type events struct{ db *DB }

var _ store.Events = events{}

// encodedEvent is an event ready to insert, encoded by the caller's
// goroutine so that the writer only writes.
type encodedEvent struct {
	id, action, user, host string
	ts                     int64
	body                   []byte
}

// insertEvent appends an event unless its id is stored: the rid SQLite
// gives it is the last one plus one, so every batch writes at the end of
// the table (see migration 0006).
const insertEvent = `INSERT INTO events (id, ts, ingested, agent_id, seq, action, user_name, host_name, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`

// Append implements store.Events.
func (s events) Append(ctx context.Context, agentID string, seq int64, evs []*event.Event) (store.AppendResult, error) {
	fail := func(err error) (store.AppendResult, error) {
		return store.AppendResult{}, fmt.Errorf("append %d events from agent %q (seq %d): %w", len(evs), agentID, seq, err)
	}
	switch {
	case seq < 0:
		return fail(fmt.Errorf("%w: negative seq", store.ErrInvalid))
	case seq > 0 && agentID == "":
		return fail(fmt.Errorf("%w: a sequenced batch needs an agent id", store.ErrInvalid))
	}
	ingested := s.db.now()
	rows := make([]encodedEvent, len(evs))
	// One buffer for the whole batch: fewer allocations than one per event.
	buf := make([]byte, 0, 1024*len(evs))
	for i, e := range evs {
		if e == nil || e.Event.ID == "" {
			return fail(fmt.Errorf("%w: event %d has no event.id", store.ErrInvalid, i))
		}
		c := *e
		if c.Event.Ingested == nil {
			c.Event.Ingested = &ingested
		}
		start := len(buf)
		var err error
		if buf, err = event.AppendJSON(buf, &c); err != nil {
			return fail(fmt.Errorf("%w: %w", store.ErrInvalid, err))
		}
		r := encodedEvent{id: e.Event.ID, action: e.Event.Action, ts: nanos(e.Timestamp), body: buf[start:len(buf):len(buf)]}
		if e.User != nil {
			r.user = e.User.Name
		}
		if e.Host != nil {
			r.host = e.Host.Name
		}
		rows[i] = r
	}
	var res store.AppendResult
	err := s.db.writeBulk(ctx, len(rows), func(tx *wtx) error {
		res = store.AppendResult{}
		var last int64
		if agentID != "" {
			err := tx.queryRow("SELECT last_seq FROM agents WHERE agent_id = ?", agentID).Scan(&last)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return classify(err)
			}
		}
		if seq > 0 && seq <= last {
			res = store.AppendResult{Duplicates: len(rows), DuplicateBatch: true, LastSeq: last}
			return nil
		}
		ing := nanos(ingested)
		for i := range rows {
			stored, err := tx.insertEvent(&rows[i], ing, agentID, seq)
			if err != nil {
				return fmt.Errorf("event %q: %w", rows[i].id, err)
			}
			if stored {
				res.Stored++
			}
		}
		res.Duplicates = len(rows) - res.Stored
		res.LastSeq = max(last, seq)
		if agentID != "" {
			if _, err := tx.exec(`INSERT INTO agents (agent_id, last_seq, last_seen) VALUES (?, ?, ?)
ON CONFLICT (agent_id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq), last_seen = excluded.last_seen`,
				agentID, seq, ing); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if m := s.db.metrics; m != nil {
		m.eventsStored.Add(float64(res.Stored))
		m.eventsDuplicate.Add(float64(res.Duplicates))
	}
	return res, nil
}

// insertEvent stores one event unless its id is stored, and reports
// whether it stored it.
func (tx *wtx) insertEvent(r *encodedEvent, ingested int64, agentID string, seq int64) (bool, error) {
	n, err := tx.execCount(insertEvent, r.id, r.ts, ingested, agentID, seq, r.action, r.user, r.host, r.body)
	return n == 1, err
}

// Query implements store.Events.
func (s events) Query(ctx context.Context, f store.EventFilter) ([]*event.Event, string, error) {
	limit := store.PageLimit(f.Limit)
	q, args, err := eventQuery(f, limit)
	if err != nil {
		return nil, "", fmt.Errorf("query events: %w", err)
	}
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("query events: %w", err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	var (
		out  []*event.Event
		last position
	)
	for rows.Next() {
		if len(out) == limit {
			return out, last.String(), nil
		}
		var body []byte
		if err := rows.Scan(&last.ts, &last.rid, &body); err != nil {
			return nil, "", fmt.Errorf("query events: %w", classify(err))
		}
		e, err := event.Decode(body)
		if e == nil {
			// Only a stored body that is not an event at all fails here; a
			// validation problem (rules may have changed since) keeps the
			// event.
			return nil, "", fmt.Errorf("query events: stored event %d: %w", last.rid, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("query events: %w", s.db.readErr(err))
	}
	return out, "", nil
}

// eventQuery returns the SELECT of one page of events in time order. It
// always bounds ts from below, if need be by the lowest time: without a
// range on ts the planner may scan another index and sort.
func eventQuery(f store.EventFilter, limit int) (string, []any, error) {
	var w where
	w.eq("user_name", f.User)
	w.eq("host_name", f.Host)
	w.eq("action", f.Action)
	if f.From.IsZero() {
		w.add("ts >= ?", int64(math.MinInt64))
	}
	w.timeRange("ts", f.From, f.To)
	if err := w.after(f.Cursor, "ts", "rid", f.Descending); err != nil {
		return "", nil, err
	}
	return "SELECT ts, rid, body FROM events" + w.String() + order("ts", "rid", f.Descending, limit), w.args, nil
}

// LastSeq implements store.Events.
func (s events) LastSeq(ctx context.Context, agentID string) (int64, error) {
	var seq int64
	err := s.db.queryRow(ctx, "SELECT last_seq FROM agents WHERE agent_id = ?", agentID).Scan(&seq)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("last seq of agent %q: %w", agentID, s.db.readErr(err))
	}
	return seq, nil
}
