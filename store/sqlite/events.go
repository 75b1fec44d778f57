package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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

// insertEventID stores an event's id → rid entry unless its id is
// stored: the event itself goes to a chunk (see insertBodies). (One
// statement per event: a statement of 50 rows measured no cheaper.)
const insertEventID = "INSERT INTO event_ids (id, rid) VALUES (?, ?) ON CONFLICT (id) DO NOTHING"

// Append implements store.Events.
func (s events) Append(ctx context.Context, agentID string, seq int64, evs []*event.Event) (store.AppendResult, error) {
	return s.AppendEncoded(ctx, agentID, seq, evs, nil)
}

// AppendEncoded implements store.Events. The time of ingest is kept beside
// the body, not in it: a body is the event as it came; so are the agent
// id and seq of the batch.
func (s events) AppendEncoded(ctx context.Context, agentID string, seq int64, evs []*event.Event, bodies [][]byte) (store.AppendResult, error) {
	fail := func(err error) (store.AppendResult, error) {
		return store.AppendResult{}, fmt.Errorf("append %d events from agent %q (seq %d): %w", len(evs), agentID, seq, err)
	}
	switch {
	case seq < 0:
		return fail(fmt.Errorf("%w: negative seq", store.ErrInvalid))
	case seq > 0 && agentID == "":
		return fail(fmt.Errorf("%w: a sequenced batch needs an agent id", store.ErrInvalid))
	case bodies != nil && len(bodies) != len(evs):
		return fail(fmt.Errorf("%w: %d bodies for %d events", store.ErrInvalid, len(bodies), len(evs)))
	}
	ingested := s.db.now()
	rows := make([]encodedEvent, len(evs))
	// One buffer for the bodies to encode: fewer allocations than one per
	// event.
	var buf []byte
	for i, e := range evs {
		if e == nil || e.Event.ID == "" {
			return fail(fmt.Errorf("%w: event %d has no event.id", store.ErrInvalid, i))
		}
		var body []byte
		if bodies != nil {
			body = bodies[i]
		}
		if body == nil {
			if buf == nil {
				buf = make([]byte, 0, 1024*len(evs))
			}
			start := len(buf)
			var err error
			if buf, err = event.AppendJSON(buf, e); err != nil {
				return fail(fmt.Errorf("%w: %w", store.ErrInvalid, err))
			}
			body = buf[start:len(buf):len(buf)]
		}
		r := encodedEvent{id: e.Event.ID, action: e.Event.Action, ts: nanos(e.Timestamp), body: body}
		if e.User != nil {
			r.user = e.User.Name
		}
		if e.Host != nil {
			r.host = e.Host.Name
		}
		rows[i] = r
	}
	ing := nanos(ingested)
	batch := batchInfo{ingested: ing, agent: agentID, seq: seq}
	chunks := chunkBodies(rows, batch)
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
		keyed, err := tx.insertEvents(rows)
		if err != nil {
			return err
		}
		if err := tx.insertBodies(rows, batch, keyed, chunks); err != nil {
			return fmt.Errorf("store the bodies of %d events: %w", len(keyed), err)
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

// insertEvents gives the events of rows whose ids are not stored yet the
// next rids, stores their ids, and returns them in rid order.
func (tx *wtx) insertEvents(rows []encodedEvent) ([]keyedEvent, error) {
	var next int64
	if err := tx.queryRow("SELECT next FROM event_rid").Scan(&next); err != nil {
		return nil, fmt.Errorf("next rid: %w", classify(err))
	}
	keyed := make([]keyedEvent, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		n, err := tx.execCount(insertEventID, r.id, next)
		if err != nil {
			return nil, fmt.Errorf("event %q: %w", r.id, err)
		}
		if n == 0 {
			continue // stored already
		}
		keyed = append(keyed, keyedEvent{rid: next, row: r, index: i})
		next++
	}
	if len(keyed) > 0 {
		if _, err := tx.exec("UPDATE event_rid SET next = ?", next); err != nil {
			return nil, err
		}
	}
	return keyed, nil
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
