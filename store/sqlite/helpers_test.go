package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
	"github.com/vigil-itm/vigil/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openAt opens a store at path and closes it when the test ends.
func openAt(t *testing.T, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(t.Context(), path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db
}

// openTest opens a new store in the test's temporary directory.
func openTest(t *testing.T, opts Options) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vigil.db")
	return openAt(t, path, opts), path
}

// genEvents returns n generated events; seeds give disjoint event ids.
func genEvents(seed int64, n int) []*event.Event {
	return eventgen.New(seed, eventgen.Options{Users: 20}).Batch(n)
}

// rawDB opens a plain connection to a store's file, for checks below the
// interface.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	return raw
}

// count returns the rows of a table, read below the interface.
func count(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.readers.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}

// queryAll pages through every event the filter selects.
func queryAll(t *testing.T, db *DB, f store.EventFilter) []*event.Event {
	t.Helper()
	var out []*event.Event
	for {
		page, next, err := db.Events().Query(t.Context(), f)
		require.NoError(t, err)
		out = append(out, page...)
		if next == "" {
			return out
		}
		f.Cursor = next
	}
}

// storedEvent is an event as the database holds it: in a chunk of
// format 2 (since migration 0010), or in an events row with its body in
// the row (before 0009) or in a chunk of format 1.
type storedEvent struct {
	id, user, host, action string
	ts, ingested           int64
	agent                  string // the agent and seq of the batch it came in
	seq                    int64
	row                    bool   // has an events row
	rowBody                []byte // the body in its row
	body                   []byte // the body, from its row or its chunk ("" if neither has one)
}

// loadEvents reads every stored event by rid, from the events rows and
// every chunk, and returns them with the chunks.
func loadEvents(t *testing.T, db *DB) (map[int64]storedEvent, *chunkSet) {
	t.Helper()
	chunks := &chunkSet{}
	require.NoError(t, chunks.read(db.readers.QueryContext(t.Context(), "SELECT first, data FROM event_bodies")))
	rows, err := db.readers.QueryContext(t.Context(), "SELECT rid, id, ts, ingested, agent_id, seq, user_name, host_name, action, body FROM events")
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	out := map[int64]storedEvent{}
	for rows.Next() {
		var (
			rid int64
			e   = storedEvent{row: true}
		)
		require.NoError(t, rows.Scan(&rid, &e.id, &e.ts, &e.ingested, &e.agent, &e.seq, &e.user, &e.host, &e.action, &e.rowBody))
		e.body = e.rowBody
		if len(e.body) == 0 {
			e.body = chunks.body(rid)
		}
		out[rid] = e
	}
	require.NoError(t, rows.Err())
	for i, first := range chunks.firsts {
		c := &chunks.chunks[i]
		if c.format != chunkFormat {
			continue
		}
		for slot, s := range c.slots {
			if !s.live() {
				continue
			}
			rid := first + int64(slot)
			_, dup := out[rid]
			require.False(t, dup, "event %d has a row and a slot in chunk %d of format 2", rid, first)
			ev, err := event.Decode(s.body)
			require.NotNil(t, ev, "event %d: %v", rid, err)
			out[rid] = storedEvent{id: string(s.id), user: string(s.user), host: string(s.host), action: string(s.action),
				ts: nanos(ev.Timestamp), ingested: c.batch.ingested, agent: c.batch.agent, seq: c.batch.seq, body: s.body}
		}
	}
	return out, chunks
}

// storedBodies returns the stored body of every event by id, from its row
// or its chunk, as the database holds it.
func storedBodies(t *testing.T, db *DB) map[string]string {
	t.Helper()
	evs, _ := loadEvents(t, db)
	stored := map[string]string{}
	for rid, e := range evs {
		require.NotEmpty(t, e.body, "event %d has no body", rid)
		stored[e.id] = string(e.body)
	}
	return stored
}

// checkOrigin checks that the store keeps, for each of evs, the agent and
// seq of the batch that stored it.
func checkOrigin(t *testing.T, db *DB, evs []*event.Event, agent string, seq int64) {
	t.Helper()
	stored, _ := loadEvents(t, db)
	byID := map[string]storedEvent{}
	for _, e := range stored {
		byID[e.id] = e
	}
	for _, e := range evs {
		got, ok := byID[e.Event.ID]
		require.True(t, ok, "event %s is not stored", e.Event.ID)
		require.Equal(t, agent, got.agent, "event %s", e.Event.ID)
		require.Equal(t, seq, got.seq, "event %s", e.Event.ID)
	}
}
