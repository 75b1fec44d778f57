package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

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

// insertChunk is how many events one INSERT statement stores: one
// statement per event cost a third of the writer's time per event in
// binding and statement overhead.
const insertChunk = 50

// insertEventsSQL returns the INSERT of n events. Each is skipped if its id
// is stored; SQLite gives each new row the last rid plus one, so every
// batch writes at the end of the table (see migration 0006).
func insertEventsSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO events (id, ts, ingested, agent_id, seq, action, user_name, host_name, body) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(" ON CONFLICT (id) DO NOTHING")
	return b.String()
}

var insertChunkSQL = insertEventsSQL(insertChunk)

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
		keyed, err := tx.insertEvents(rows, ing, agentID, seq)
		if err != nil {
			return err
		}
		if err := tx.insertKeys(keyed); err != nil {
			return fmt.Errorf("index %d events: %w", len(keyed), err)
		}
		res.Stored = len(keyed)
		if res.Stored > 0 {
			res.New = make([]bool, len(rows))
			for _, k := range keyed {
				res.New[k.index] = true
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

// insertEvents stores the events of rows whose ids are not stored yet and
// returns them with their rids, in rid order.
func (tx *wtx) insertEvents(rows []encodedEvent, ingested int64, agentID string, seq int64) ([]keyedEvent, error) {
	var last int64
	if err := tx.queryRow("SELECT COALESCE(MAX(rid), 0) FROM events").Scan(&last); err != nil {
		return nil, classify(err)
	}
	keyed := make([]keyedEvent, 0, len(rows))
	args := make([]any, 0, 9*insertChunk)
	for start := 0; start < len(rows); start += insertChunk {
		chunk := rows[start:min(start+insertChunk, len(rows))]
		q := insertChunkSQL
		if len(chunk) < insertChunk {
			q = insertEventsSQL(len(chunk))
		}
		args = args[:0]
		for i := range chunk {
			r := &chunk[i]
			args = append(args, r.id, r.ts, ingested, agentID, seq, r.action, r.user, r.host, r.body)
		}
		res, err := tx.exec(q, args...)
		if err != nil {
			return nil, fmt.Errorf("events %d to %d: %w", start, start+len(chunk)-1, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, classify(err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return nil, classify(err)
		}
		if n == int64(len(chunk)) && id == last+n {
			for i := range chunk {
				keyed = append(keyed, keyedEvent{rid: last + 1 + int64(i), row: &chunk[i], index: start + i})
			}
			last = id
			continue
		}
		if n == 0 {
			continue
		}
		// Some ids were stored already: ask which rows are new.
		if keyed, last, err = tx.newRows(keyed, chunk, start, last); err != nil {
			return nil, err
		}
	}
	return keyed, nil
}

// newRows appends to keyed the events of chunk, rows[start:], stored after
// rid last, in rid order, and returns the last rid stored.
func (tx *wtx) newRows(keyed []keyedEvent, chunk []encodedEvent, start int, last int64) ([]keyedEvent, int64, error) {
	rows, err := tx.query("SELECT rid, id FROM events WHERE rid > ? ORDER BY rid", last)
	if err != nil {
		return nil, 0, classify(err)
	}
	rid := make(map[string]int64, len(chunk))
	for rows.Next() {
		var (
			r  int64
			id string
		)
		if err := rows.Scan(&r, &id); err != nil {
			_ = rows.Close()
			return nil, 0, classify(err)
		}
		rid[id] = r
		last = max(last, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, classify(err)
	}
	for i := range chunk {
		// The first of repeated ids in chunk is the one stored.
		if r, ok := rid[chunk[i].id]; ok {
			keyed = append(keyed, keyedEvent{rid: r, row: &chunk[i], index: start + i})
			delete(rid, chunk[i].id)
		}
	}
	return keyed, last, nil
}

// Query implements store.Events. Events are found through event_keys
// (see eventkeys.go).
func (s events) Query(ctx context.Context, f store.EventFilter) ([]*event.Event, string, error) {
	out, next, err := s.queryEvents(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("query events: %w", err)
	}
	return out, next, nil
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
