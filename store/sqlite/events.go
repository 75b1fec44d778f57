package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

type events struct{ db *DB }

var _ store.Events = events{}

// The events table is clustered by event time: an event's rowid (rid) is
// its time in milliseconds shifted left by ridSlotBits, plus a slot that
// tells apart the events of one millisecond. So the table itself serves
// time ranges, retention and paging, without a time index, and every
// other index (user, host, action), which carries the rowid, is ordered by
// time within its key. The exact time is kept in ts for filtering.
const (
	ridSlotBits = 20 // a million events per millisecond
	ridSlots    = 1 << ridSlotBits
	// Milliseconds that fit the rowid: about 278 years either side of
	// 1970. Events outside are clamped (ts keeps their time).
	maxRidMillis = 1<<(63-ridSlotBits) - 1
	minRidMillis = -maxRidMillis
)

// ridMillis returns the rowid block of the millisecond of t.
func ridMillis(t int64) int64 {
	ms := t / 1e6
	if t < 0 && t%1e6 != 0 {
		ms-- // floor, for times before 1970
	}
	return min(max(ms, minRidMillis), maxRidMillis) << ridSlotBits
}

// encodedEvent is an event ready to insert, encoded by the caller's
// goroutine so that the writer only writes.
type encodedEvent struct {
	id, action, user, host string
	ts                     int64
	body                   []byte
}

const insertEvent = `INSERT INTO events (rid, id, ts, ingested, agent_id, seq, action, user_name, host_name, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

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
// whether it stored it. The slot of its rowid comes from a counter of the
// writer, so that events of one millisecond get distinct rowids without a
// lookup; only when that rowid is taken (the counter went round, or old
// events arrive late) does it look up the first free one.
func (tx *wtx) insertEvent(r *encodedEvent, ingested int64, agentID string, seq int64) (bool, error) {
	block := ridMillis(r.ts)
	rid := block | int64(tx.w.ridCounter%ridSlots)
	tx.w.ridCounter++
	for attempt := 0; ; attempt++ {
		n, err := tx.execCount(insertEvent, rid, r.id, r.ts, ingested, agentID, seq, r.action, r.user, r.host, r.body)
		if err != nil || n == 1 {
			return n == 1, err
		}
		// Nothing inserted: a duplicate id, or the rowid is taken.
		var dup bool
		if err := tx.queryRow("SELECT EXISTS (SELECT 1 FROM events WHERE id = ?)", r.id).Scan(&dup); err != nil {
			return false, classify(err)
		}
		if dup {
			return false, nil
		}
		if attempt > 0 {
			return false, errors.New("no free rowid for the event") // unreachable: the last rowid + 1 is free
		}
		var top sql.NullInt64
		if err := tx.queryRow("SELECT MAX(rid) FROM events WHERE rid >= ? AND rid < ?", block, block+ridSlots).Scan(&top); err != nil {
			return false, classify(err)
		}
		switch {
		case !top.Valid:
			rid = block
		case top.Int64+1 < block+ridSlots:
			rid = top.Int64 + 1
		default:
			// A million events in this millisecond: append the event after
			// every other one. Time filters still hold (they also test ts);
			// only its place in time order is off.
			if err := tx.queryRow("SELECT MAX(rid) + 1 FROM events").Scan(&rid); err != nil {
				return false, classify(err)
			}
		}
	}
}

// Query implements store.Events.
func (s events) Query(ctx context.Context, f store.EventFilter) ([]*event.Event, string, error) {
	limit := store.PageLimit(f.Limit)
	var w where
	w.eq("user_name", f.User)
	w.eq("host_name", f.Host)
	w.eq("action", f.Action)
	// The rowid range narrows the scan; the ts test is exact.
	if !f.From.IsZero() {
		from := nanos(f.From)
		w.add("rid >= ? AND ts >= ?", ridMillis(from), from)
	}
	if !f.To.IsZero() {
		to := nanos(f.To)
		w.add("rid < ? AND ts < ?", ridMillis(to)+ridSlots, to)
	}
	if f.Cursor != "" {
		after, err := parseStringCursor(f.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("query events: %w", err)
		}
		rid, err := strconv.ParseInt(after, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("query events: %w: malformed cursor %q", store.ErrInvalid, f.Cursor)
		}
		if f.Descending {
			w.add("rid < ?", rid)
		} else {
			w.add("rid > ?", rid)
		}
	}
	dir := ""
	if f.Descending {
		dir = " DESC"
	}
	q := "SELECT rid, body FROM events" + w.String() + " ORDER BY rid" + dir + " LIMIT " + strconv.Itoa(limit+1)
	rows, err := s.db.query(ctx, q, w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("query events: %w", err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	var (
		out  []*event.Event
		last int64
	)
	for rows.Next() {
		if len(out) == limit {
			return out, stringCursor(strconv.FormatInt(last, 10)), nil
		}
		var body []byte
		if err := rows.Scan(&last, &body); err != nil {
			return nil, "", fmt.Errorf("query events: %w", classify(err))
		}
		e, err := event.Decode(body)
		if e == nil {
			// Only a stored body that is not an event at all fails here; a
			// validation problem (rules may have changed since) keeps the
			// event.
			return nil, "", fmt.Errorf("query events: stored event %d: %w", last, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("query events: %w", s.db.readErr(err))
	}
	return out, "", nil
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
