package store

import (
	"context"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// Events stores the events agents send and answers queries over them.
//
// Append is idempotent twice over, so that an agent may resend a batch it
// is not sure was stored:
//
//   - by batch: each agent numbers its batches with an increasing sequence
//     number (seq > 0). A batch whose seq is at or below the agent's last
//     acknowledged seq is a duplicate batch: nothing is stored and every
//     event is reported as a duplicate. Agents must keep their counter
//     across restarts; an agent that loses it must enrol again under a new
//     agent id. A seq of 0 means an unsequenced batch (an import, a replay),
//     deduplicated by event id alone.
//   - by event: an event whose event.id is already stored, from any agent
//     or batch, is not stored again and counts as a duplicate.
//
// A batch is stored whole or not at all: when Append returns an error,
// nothing of the batch was acknowledged and the agent's seq did not move,
// so the same batch can be sent again. Every event needs a non-empty
// event.id (ErrInvalid otherwise); Append does not otherwise validate events,
// which is the API's job. Append neither keeps nor modifies the events
// passed to it; it records the time of ingest, which Query returns as
// event.ingested when the event carries none.
//
// AppendEncoded is Append for a caller that has events in JSON already:
// bodies[i], when not nil, must be byte for byte what event.AppendJSON
// writes for events[i] (event.DecodeCanonical tells), and the store keeps
// it instead of encoding the event again. bodies may be nil.
//
// Query returns events in event-time order (oldest first unless
// EventFilter.Descending) one page at a time; the returned events belong to
// the caller. next is the cursor of the following page, "" after the last
// one. A malformed cursor is ErrInvalid.
//
// LastSeq returns the last acknowledged batch seq of an agent, 0 for an
// agent never seen, so that an agent can resynchronise its spool.
//
// All methods are safe for concurrent use. A cancelled ctx stops a wait; a
// write the store already started may still complete, which for Append is
// harmless since a retry is idempotent.
type Events interface {
	Append(ctx context.Context, agentID string, seq int64, events []*event.Event) (AppendResult, error)
	AppendEncoded(ctx context.Context, agentID string, seq int64, events []*event.Event, bodies [][]byte) (AppendResult, error)
	Query(ctx context.Context, f EventFilter) (events []*event.Event, next string, err error)
	LastSeq(ctx context.Context, agentID string) (int64, error)
}

// AppendResult reports what an Append stored.
type AppendResult struct {
	// Stored counts the events stored by this call.
	Stored int `json:"stored"`
	// Duplicates counts the events not stored because they were already
	// there (by event id, or because the whole batch was a duplicate).
	Duplicates int `json:"duplicates"`
	// DuplicateBatch reports that the batch's seq was at or below the
	// agent's last acknowledged seq, so nothing was looked at.
	DuplicateBatch bool `json:"duplicate_batch,omitempty"`
	// LastSeq is the agent's last acknowledged seq after the call.
	LastSeq int64 `json:"last_seq"`
	// New[i] reports that events[i] was stored by this call; nil when the
	// call stored nothing.
	New []bool `json:"-"`
}

// EventFilter selects events. Empty fields do not filter. From is
// inclusive and To exclusive, on event time.
type EventFilter struct {
	// User matches user.name.
	User string
	// Host matches host.name.
	Host string
	// Action matches event.action.
	Action string
	From   time.Time
	To     time.Time
	// Limit is the page size (see PageLimit).
	Limit int
	// Cursor is the next value of the previous page, "" for the first page.
	Cursor string
	// Descending returns the newest events first.
	Descending bool
}
