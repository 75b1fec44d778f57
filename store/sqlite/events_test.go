package sqlite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

// withIngested returns a copy of e with the ingest time the store records.
func withIngested(e *event.Event, at time.Time) *event.Event {
	c := *e
	if c.Event.Ingested == nil {
		c.Event.Ingested = &at
	}
	return &c
}

func encode(t *testing.T, e *event.Event) string {
	t.Helper()
	b, err := event.Encode(e)
	require.NoError(t, err)
	return string(b)
}

func TestAppendAndQueryRoundTrip(t *testing.T) {
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	evs := genEvents(1, 200)

	res, err := db.Events().Append(t.Context(), "agent-1", 1, evs)
	require.NoError(t, err)
	require.Equal(t, store.AppendResult{Stored: 200, LastSeq: 1, New: slices.Repeat([]bool{true}, 200)}, res)

	got := queryAll(t, db, store.EventFilter{Limit: 37})
	require.Len(t, got, len(evs))
	for i, e := range evs { // generated in time order
		require.Equal(t, encode(t, withIngested(e, clk.Now())), encode(t, got[i]), "event %d", i)
	}
	// Append neither kept nor changed the caller's events.
	require.Nil(t, evs[0].Event.Ingested)
}

func TestAppendEncoded(t *testing.T) {
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	evs := genEvents(1, 20)
	own := clk.Now().Add(-time.Hour)
	evs[3].Event.Ingested = &own // a relay's event keeps its own time of ingest
	bodies := make([][]byte, len(evs))
	for i, e := range evs {
		if i%2 == 0 { // the others the store encodes
			bodies[i] = []byte(encode(t, e))
		}
	}
	res, err := db.Events().AppendEncoded(t.Context(), "agent-1", 1, evs, bodies)
	require.NoError(t, err)
	require.Equal(t, 20, res.Stored)

	// Every body is the event as it came, without the time of ingest.
	stored := storedBodies(t, db)
	for _, e := range evs {
		require.Equal(t, encode(t, e), stored[e.Event.ID])
	}
	// Queries return the time of ingest all the same.
	got := queryAll(t, db, store.EventFilter{Limit: 7})
	require.Len(t, got, len(evs))
	for i, e := range evs {
		require.Equal(t, encode(t, withIngested(e, clk.Now())), encode(t, got[i]), "event %d", i)
	}
	require.Equal(t, own, *got[3].Event.Ingested)

	_, err = db.Events().AppendEncoded(t.Context(), "agent-1", 2, genEvents(2, 2), [][]byte{nil})
	require.ErrorIs(t, err, store.ErrInvalid)
}

func TestAppendIdempotent(t *testing.T) {
	ctx := t.Context()
	db, _ := openTest(t, Options{})
	ev := db.Events()
	a, b := genEvents(1, 10), genEvents(2, 10)

	tests := []struct {
		name   string
		agent  string
		seq    int64
		events []*event.Event
		want   store.AppendResult
		fresh  []int // the indexes of the events stored
	}{
		{"first batch", "agent-1", 1, a, store.AppendResult{Stored: 10, LastSeq: 1}, span(0, 10)},
		{"same batch again", "agent-1", 1, a, store.AppendResult{Duplicates: 10, DuplicateBatch: true, LastSeq: 1}, nil},
		{"same events under a new seq", "agent-1", 2, a, store.AppendResult{Duplicates: 10, LastSeq: 2}, nil},
		{"seq regression with new events", "agent-1", 1, b, store.AppendResult{Duplicates: 10, DuplicateBatch: true, LastSeq: 2}, nil},
		{"half old half new", "agent-1", 3, append(a[5:], b[:5]...), store.AppendResult{Stored: 5, Duplicates: 5, LastSeq: 3}, span(5, 10)},
		{"same event ids from another agent", "agent-2", 1, b, store.AppendResult{Stored: 5, Duplicates: 5, LastSeq: 1}, span(5, 10)},
		{"duplicate within a batch", "agent-2", 2, []*event.Event{genEvents(3, 1)[0], genEvents(3, 1)[0]}, store.AppendResult{Stored: 1, Duplicates: 1, LastSeq: 2}, span(0, 1)},
		{"unsequenced import", "", 0, append(genEvents(4, 3), a[0]), store.AppendResult{Stored: 3, Duplicates: 1}, span(0, 3)},
		{"unsequenced from a known agent", "agent-1", 0, genEvents(5, 2), store.AppendResult{Stored: 2, LastSeq: 3}, span(0, 2)},
		{"gap in seq is fine", "agent-1", 10, genEvents(6, 1), store.AppendResult{Stored: 1, LastSeq: 10}, span(0, 1)},
		{"empty batch moves seq", "agent-1", 11, nil, store.AppendResult{LastSeq: 11}, nil},
	}
	total := 0
	for _, tt := range tests {
		if tt.fresh != nil {
			tt.want.New = make([]bool, len(tt.events))
			for _, i := range tt.fresh {
				tt.want.New[i] = true
			}
		}
		res, err := ev.Append(ctx, tt.agent, tt.seq, tt.events)
		require.NoError(t, err, tt.name)
		require.Equal(t, tt.want, res, tt.name)
		total += res.Stored
	}
	require.Equal(t, total, count(t, db, "event_ids"))
	require.Equal(t, 10+10+1+3+2+1, total)

	seq, err := ev.LastSeq(ctx, "agent-1")
	require.NoError(t, err)
	require.EqualValues(t, 11, seq)
	seq, err = ev.LastSeq(ctx, "never-seen")
	require.NoError(t, err)
	require.Zero(t, seq)
}

// span returns the ints from lo to hi, hi excluded.
func span(lo, hi int) []int {
	var out []int
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

func TestAppendRejectsBadBatchWhole(t *testing.T) {
	ctx := t.Context()
	db, _ := openTest(t, Options{})
	ev := db.Events()
	noID := genEvents(1, 3)
	noID[1] = &event.Event{Timestamp: time.Now(), Event: event.Meta{Action: "logon"}}

	for name, call := range map[string]func() error{
		"negative seq":      func() error { _, err := ev.Append(ctx, "a", -1, genEvents(1, 1)); return err },
		"seq without agent": func() error { _, err := ev.Append(ctx, "", 1, genEvents(1, 1)); return err },
		"nil event":         func() error { _, err := ev.Append(ctx, "a", 1, []*event.Event{nil}); return err },
		"event without id":  func() error { _, err := ev.Append(ctx, "a", 1, noID); return err },
	} {
		require.ErrorIs(t, call(), store.ErrInvalid, name)
	}
	require.Zero(t, count(t, db, "event_ids"))
	seq, err := ev.LastSeq(ctx, "a")
	require.NoError(t, err)
	require.Zero(t, seq, "a refused batch must not move the agent's seq")
}

func TestQueryFiltersAndPaging(t *testing.T) {
	ctx := t.Context()
	db, _ := openTest(t, Options{})
	evs := genEvents(7, 300)
	for i := 0; i < len(evs); i += 100 {
		_, err := db.Events().Append(ctx, "agent-1", int64(i/100+1), evs[i:i+100])
		require.NoError(t, err)
	}
	user, host, action := evs[3].User.Name, evs[5].Host.Name, evs[8].Event.Action
	from, to := evs[100].Timestamp, evs[200].Timestamp

	want := func(keep func(e *event.Event) bool) []string {
		var ids []string
		for _, e := range evs {
			if keep(e) {
				ids = append(ids, e.Event.ID)
			}
		}
		return ids
	}
	ids := func(list []*event.Event) []string {
		var out []string
		for _, e := range list {
			out = append(out, e.Event.ID)
		}
		return out
	}
	reversed := func(s []string) []string {
		var out []string
		for i := len(s) - 1; i >= 0; i-- {
			out = append(out, s[i])
		}
		return out
	}
	inRange := func(e *event.Event) bool { return !e.Timestamp.Before(from) && e.Timestamp.Before(to) }

	tests := []struct {
		name string
		f    store.EventFilter
		keep func(e *event.Event) bool
	}{
		{"all", store.EventFilter{}, func(*event.Event) bool { return true }},
		{"user", store.EventFilter{User: user}, func(e *event.Event) bool { return e.User.Name == user }},
		{"host", store.EventFilter{Host: host}, func(e *event.Event) bool { return e.Host.Name == host }},
		{"action", store.EventFilter{Action: action}, func(e *event.Event) bool { return e.Event.Action == action }},
		{"time range", store.EventFilter{From: from, To: to}, inRange},
		{"user and time", store.EventFilter{User: user, From: from, To: to}, func(e *event.Event) bool { return e.User.Name == user && inRange(e) }},
		{"nothing", store.EventFilter{User: "nobody"}, func(*event.Event) bool { return false }},
	}
	for _, tt := range tests {
		for _, limit := range []int{2, 30, 1000} {
			t.Run(fmt.Sprintf("%s/limit=%d", tt.name, limit), func(t *testing.T) {
				f := tt.f
				f.Limit = limit
				exp := want(tt.keep)
				got := ids(queryAll(t, db, f))
				require.Equal(t, exp, got)
				f.Descending = true
				require.Equal(t, reversed(exp), ids(queryAll(t, db, f)))
			})
		}
	}

	t.Run("page sizes", func(t *testing.T) {
		page, next, err := db.Events().Query(ctx, store.EventFilter{})
		require.NoError(t, err)
		require.Len(t, page, store.DefaultLimit)
		require.NotEmpty(t, next)
		page, _, err = db.Events().Query(ctx, store.EventFilter{Limit: 1 << 20})
		require.NoError(t, err)
		require.Len(t, page, len(evs)) // 300 < MaxLimit
		page, next, err = db.Events().Query(ctx, store.EventFilter{Limit: len(evs)})
		require.NoError(t, err)
		require.Len(t, page, len(evs))
		require.Empty(t, next, "a page that ends the list has no next cursor")
	})

	t.Run("bad cursor", func(t *testing.T) {
		for _, c := range []string{"!!", stringCursor("x"), "AAAA"} {
			_, _, err := db.Events().Query(ctx, store.EventFilter{Cursor: c})
			require.ErrorIs(t, err, store.ErrInvalid, c)
		}
	})
}

func TestAppendSameMillisecondAndOddTimes(t *testing.T) {
	ctx := t.Context()
	db, _ := openTest(t, Options{})
	at := time.Date(2026, 11, 28, 10, 0, 0, 123_000_000, time.UTC)
	evs := genEvents(8, 50)
	for _, e := range evs {
		e.Timestamp = at
	}
	_, err := db.Events().Append(ctx, "a", 1, evs)
	require.NoError(t, err)

	// More events of the same instant in a later batch.
	late := genEvents(9, 20)
	for _, e := range late {
		e.Timestamp = at
	}
	res, err := db.Events().Append(ctx, "a", 2, late)
	require.NoError(t, err)
	require.Equal(t, 20, res.Stored)

	// Times at the ends of the stored range are kept and ordered.
	odd := genEvents(10, 3)
	odd[0].Timestamp = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	odd[1].Timestamp = time.Date(1969, 12, 31, 23, 59, 59, 999_500_000, time.UTC)
	odd[2].Timestamp = time.Date(2900, 1, 1, 0, 0, 0, 0, time.UTC)
	res, err = db.Events().Append(ctx, "a", 3, odd)
	require.NoError(t, err)
	require.Equal(t, 3, res.Stored)

	all := queryAll(t, db, store.EventFilter{})
	require.Len(t, all, 73)
	require.Equal(t, odd[0].Event.ID, all[0].Event.ID)
	require.Equal(t, odd[1].Event.ID, all[1].Event.ID)
	require.Equal(t, odd[2].Event.ID, all[72].Event.ID)
	same := queryAll(t, db, store.EventFilter{From: at, To: at.Add(time.Nanosecond), Limit: 9})
	require.Len(t, same, 70)
}

// TestConcurrentAppend has many agents append at once, each resending
// some of its batches and sharing some events with the others: every
// event must be stored exactly once.
func TestConcurrentAppend(t *testing.T) {
	ctx := t.Context()
	db, _ := openTest(t, Options{})
	const (
		agents  = 8
		batches = 10
		size    = 25
	)
	shared := genEvents(1000, size) // sent by every agent
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		stored int
		unique = map[string]bool{}
	)
	for _, e := range shared {
		unique[e.Event.ID] = true
	}
	for a := range agents {
		evs := genEvents(int64(a+1), batches*size)
		copy(evs[3*size:], shared) // batch 3 of every agent
		for _, e := range evs {
			unique[e.Event.ID] = true
		}
		wg.Go(func() {
			agent := fmt.Sprintf("agent-%d", a)
			n := 0
			for b := range batches {
				batch := evs[b*size : (b+1)*size]
				for range 1 + b%2 { // every other batch is resent
					res, err := db.Events().Append(ctx, agent, int64(b+1), batch)
					if err != nil {
						t.Error(err)
						return
					}
					n += res.Stored
				}
			}
			mu.Lock()
			stored += n
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, len(unique), stored)
	require.Equal(t, len(unique), count(t, db, "event_ids"))
	checkBodies(t, db) // and every event is stored once
	for a := range agents {
		seq, err := db.Events().LastSeq(ctx, fmt.Sprintf("agent-%d", a))
		require.NoError(t, err)
		require.EqualValues(t, batches, seq)
	}
}

// TestCloseDrainsWriter closes the store while writers are busy: every
// write acknowledged before Close must be on disk after it, and every
// other one must have failed with ErrClosed.
func TestCloseDrainsWriter(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/drain.db"
	db, err := Open(ctx, path, Options{QueueSize: 4})
	require.NoError(t, err)

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked = map[string]bool{}
	)
	start := make(chan struct{})
	for g := range 8 {
		wg.Go(func() {
			<-start
			// Append until the store closes under us.
			for b := 1; ; b++ {
				evs := genEvents(int64(g*100_000+b), 10)
				_, err := db.Events().Append(ctx, fmt.Sprintf("agent-%d", g), int64(b), evs)
				if errors.Is(err, store.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, e := range evs {
					acked[e.Event.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 200
	}, 10*time.Second, time.Millisecond)
	require.NoError(t, db.Close())
	wg.Wait() // every writer saw ErrClosed
	require.NoError(t, db.Close(), "Close twice")
	_, err = db.Events().Append(ctx, "late", 1, genEvents(1, 1))
	require.ErrorIs(t, err, store.ErrClosed)
	_, _, err = db.Events().Query(ctx, store.EventFilter{})
	require.ErrorIs(t, err, store.ErrClosed)

	db = openAt(t, path, Options{})
	got := queryAll(t, db, store.EventFilter{Limit: store.MaxLimit})
	require.Len(t, got, len(acked))
	for _, e := range got {
		require.True(t, acked[e.Event.ID])
	}
}

func TestAppendCancelled(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := db.Events().Append(ctx, "a", 1, genEvents(1, 5))
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, count(t, db, "event_ids"))
	seq, err := db.Events().LastSeq(t.Context(), "a")
	require.NoError(t, err)
	require.Zero(t, seq)
}
