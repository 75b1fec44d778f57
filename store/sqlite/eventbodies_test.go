package sqlite

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

// slotEvents returns the slots of c as the events encode takes.
func slotEvents(c chunk) []encodedEvent {
	evs := make([]encodedEvent, len(c.slots))
	for i, s := range c.slots {
		evs[i] = encodedEvent{id: string(s.id), user: string(s.user), host: string(s.host), action: string(s.action), body: s.body}
	}
	return evs
}

func TestChunkRoundTrip(t *testing.T) {
	var w chunkWriter
	ev := func(id, user, host, action, body string) encodedEvent {
		return encodedEvent{id: id, user: user, host: host, action: action, body: []byte(body)}
	}
	for _, evs := range [][]encodedEvent{
		{ev("e1", "jdoe", "wks-1", "file-copy", `{"a":1}`)},
		{ev("e1", "", "", "", `{"a":1}`), {}, ev("e3", "ann", "", "print", `{"b":"two"}`), {}},
		{ev("e1", "u", "h", "a", strings.Repeat("x", 300)), ev("é", "é", "é", "é", "é")},
	} {
		for _, format := range []byte{chunkBodiesOnly, chunkFormat} {
			batch := batchInfo{ingested: -42, agent: "agent-é", seq: 1 << 40}
			got, _, err := parseChunk(nil, w.encode(format, batch, evs))
			require.NoError(t, err)
			require.Equal(t, format, got.format)
			require.Len(t, got.slots, len(evs))
			want := slices.Clone(evs)
			if format == chunkBodiesOnly {
				require.Zero(t, got.batch, "format 1 keeps nothing of the batch")
				for i := range want {
					want[i] = encodedEvent{body: want[i].body}
				}
			} else {
				require.Equal(t, batch, got.batch)
			}
			for i, s := range slotEvents(got) {
				require.Equal(t, want[i].id, s.id, "slot %d", i)
				require.Equal(t, [3]string{want[i].user, want[i].host, want[i].action}, [3]string{s.user, s.host, s.action}, "slot %d", i)
				require.Equal(t, string(want[i].body), string(s.body), "slot %d", i)
				require.Equal(t, len(want[i].body) > 0, got.slots[i].live(), "slot %d", i)
			}
		}
	}
	// The chunk's data is one format byte and an S2 block.
	evs := []encodedEvent{ev("i", "u", "", "act", "ab"), {}, ev("j", "", "h", "", "c")}
	batch := batchInfo{ingested: 5, agent: "ag", seq: 2}
	data := w.encode(chunkFormat, batch, evs)
	require.Equal(t, byte(chunkFormat), data[0])
	raw, err := s2.Decode(nil, data[1:])
	require.NoError(t, err)
	require.Equal(t, []byte{3, 10, 4, 2, 'a', 'g', 1, 1, 0, 3, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 'i', 'u', 'a', 'c', 't', 'a', 'b', 'j', 'h', 'c'}, raw)
	old := w.encode(chunkBodiesOnly, batch, evs)
	require.Equal(t, byte(chunkBodiesOnly), old[0])
	raw, err = s2.Decode(nil, old[1:])
	require.NoError(t, err)
	require.Equal(t, []byte{3, 2, 0, 1, 'a', 'b', 'c'}, raw)

	block := func(format byte, raw ...byte) []byte { return append([]byte{format}, s2.Encode(nil, raw)...) }
	for name, bad := range map[string][]byte{
		"empty":                        nil,
		"unknown format":               append([]byte{0x03}, data[1:]...),
		"not S2":                       {chunkFormat, 0xff, 0xff, 0xff},
		"truncated S2 block":           data[:len(data)-1],
		"format byte and no S2":        {chunkFormat},
		"claims more than maxChunkRaw": append(binary.AppendUvarint([]byte{chunkFormat}, maxChunkRaw+1), 0, 0, 0),

		"1: no slots":               block(chunkBodiesOnly, 0),
		"1: more slots than bytes":  block(chunkBodiesOnly, 5, 0, 0),
		"1: length past the end":    block(chunkBodiesOnly, 1, 9, 'a'),
		"1: bytes left over":        block(chunkBodiesOnly, 1, 1, 'a', 'b'),
		"1: bytes missing":          block(chunkBodiesOnly, 2, 1, 2, 'a', 'b'),
		"1: count not a uvarint":    block(chunkBodiesOnly, 0x80),
		"1: length not a uvarint":   block(chunkBodiesOnly, 1, 0x80),
		"1: huge count":             block(chunkBodiesOnly, binary.AppendUvarint(nil, 1<<40)...),
		"1: more than a chunk":      block(chunkBodiesOnly, append([]byte{chunkEvents + 1}, make([]byte, chunkEvents+1)...)...),
		"1: huge length":            block(chunkBodiesOnly, append([]byte{1}, binary.AppendUvarint(nil, 1<<40)...)...),
		"1: lengths add up to less": block(chunkBodiesOnly, 2, 1, 0, 'a', 'b'),

		"2: no slots":                 block(chunkFormat, 0, 0, 0, 0),
		"2: more slots than bytes":    block(chunkFormat, 2, 0, 0, 0, 0, 0, 0, 0, 0),
		"2: nothing after the count":  block(chunkFormat, 1),
		"2: time not a varint":        block(chunkFormat, 1, 0x80, 0x80, 0x80, 0x80, 0x80),
		"2: seq not a varint":         block(chunkFormat, 1, 0, 0x80, 0x80, 0x80, 0x80),
		"2: agent id past the end":    block(chunkFormat, 1, 0, 0, 9, 'a', 0, 0, 0, 0, 0),
		"2: a length missing":         block(chunkFormat, 1, 0, 0, 0, 1, 1, 1, 1),
		"2: length past the end":      block(chunkFormat, 1, 0, 0, 0, 1, 0, 0, 0, 9, 'i', 'b'),
		"2: bytes left over":          block(chunkFormat, 1, 0, 0, 0, 1, 0, 0, 0, 1, 'i', 'b', 'c'),
		"2: an event without a body":  block(chunkFormat, 1, 0, 0, 0, 1, 0, 0, 0, 0, 'i'),
		"2: an event without an id":   block(chunkFormat, 1, 0, 0, 0, 0, 0, 0, 0, 1, 'b'),
		"2: a deleted slot with text": block(chunkFormat, 1, 0, 0, 0, 0, 1, 0, 0, 0, 'u'),
		"2: huge length":              block(chunkFormat, append([]byte{1, 0, 0, 0, 1}, binary.AppendUvarint(nil, 1<<40)...)...),
		"2: more than a chunk":        block(chunkFormat, append([]byte{chunkEvents + 1, 0, 0, 0}, make([]byte, 5*(chunkEvents+1))...)...),
	} {
		_, _, err := parseChunk(nil, bad)
		require.ErrorIs(t, err, errCorrupt, name)
	}
}

func FuzzParseChunk(f *testing.F) {
	var w chunkWriter
	evs := []encodedEvent{{id: "e1", user: "u", host: "h", action: "a", body: []byte(`{"a":1}`)}, {}, {id: "e3", body: []byte("b")}}
	f.Add(w.encode(chunkFormat, batchInfo{ingested: 1, agent: "agent-1", seq: 9}, evs))
	f.Add(w.encode(chunkBodiesOnly, batchInfo{}, evs))
	f.Add([]byte{chunkFormat})
	f.Add(append([]byte{chunkBodiesOnly}, s2.Encode(nil, []byte{1, 1, 'x'})...))
	f.Add(append([]byte{chunkFormat}, s2.Encode(nil, []byte{1, 0, 0, 1, 'a', 1, 0, 0, 0, 1, 'i', 'x'})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := parseChunk(nil, data)
		if err != nil {
			require.ErrorIs(t, err, errCorrupt)
			return
		}
		require.NotEmpty(t, c.slots)
		var w chunkWriter
		again, _, err := parseChunk(make([]byte, 3), w.encode(c.format, c.batch, slotEvents(c)))
		require.NoError(t, err)
		require.Equal(t, slotEvents(c), slotEvents(again))
		require.Equal(t, c.batch, again.batch)
		require.Equal(t, c.format, again.format)
	})
}

// checkBodies checks the stored events against their chunks and
// event_ids: every event has one body, in its row or in one chunk, which
// is the event itself (with the id, user, host and action the store
// keeps for it); every chunk holds at least one event, and no chunk keeps
// a slot for an event that is gone (retention must not leave a deleted
// event's text behind); event_ids lists every stored event by its rid,
// and nothing else; and event_rid is past every rid.
func checkBodies(t *testing.T, db *DB) {
	t.Helper()
	evs, chunks := loadEvents(t, db)
	seen := map[int64]bool{}
	for i, first := range chunks.firsts {
		c := &chunks.chunks[i]
		live := 0
		for slot, s := range c.slots {
			if !s.live() {
				continue
			}
			live++
			rid := first + int64(slot)
			e, ok := evs[rid]
			require.True(t, ok, "chunk %d keeps the body of event %d, which is gone", first, rid)
			require.Equal(t, c.format == chunkBodiesOnly, e.row, "event %d in chunk %d of format %d", rid, first, c.format)
			require.Empty(t, e.rowBody, "event %d has a body in its row and in chunk %d", rid, first)
			require.False(t, seen[rid], "event %d in two chunks", rid)
			seen[rid] = true
		}
		require.Positive(t, live, "chunk %d holds no event", first)
	}
	ids := map[string]int64{}
	rows, err := db.readers.QueryContext(t.Context(), "SELECT id, rid FROM event_ids")
	require.NoError(t, err)
	for rows.Next() {
		var (
			id  string
			rid int64
		)
		require.NoError(t, rows.Scan(&id, &rid))
		ids[id] = rid
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.Len(t, ids, len(evs), "event_ids lists the stored events")
	var next int64
	require.NoError(t, db.readers.QueryRowContext(t.Context(), "SELECT next FROM event_rid").Scan(&next))
	for rid, e := range evs {
		require.True(t, len(e.rowBody) > 0 || seen[rid], "event %d has no body", rid)
		ev, err := event.Decode(e.body)
		require.NotNil(t, ev, "event %d: %v", rid, err)
		require.Equal(t, e.id, ev.Event.ID, "event %d", rid)
		require.Equal(t, [3]string{e.user, e.host, e.action}, eventKeys(ev), "event %d", rid)
		got, ok := ids[e.id]
		require.True(t, ok, "event %d (%s) is not in event_ids", rid, e.id)
		require.Equal(t, rid, got, "event_ids entry of %s", e.id)
		require.Less(t, rid, next, "event_rid gives rid %d again", rid)
	}
}

// eventKeys returns the user, host and action of e.
func eventKeys(e *event.Event) [3]string {
	var k [3]string
	if e.User != nil {
		k[0] = e.User.Name
	}
	if e.Host != nil {
		k[1] = e.Host.Name
	}
	k[2] = e.Event.Action
	return k
}

// TestAppendChunksStoredEventsOnly appends batches that repeat stored
// events at different places, so that the stored events' rids are not
// the batch's positions, and checks each stored body.
func TestAppendChunksStoredEventsOnly(t *testing.T) {
	ctx := t.Context()
	db, _ := openTest(t, Options{})
	first := genEvents(1, 2*chunkEvents+5)
	res, err := db.Events().Append(ctx, "agent-1", 1, first)
	require.NoError(t, err)
	require.Equal(t, len(first), res.Stored)
	require.Equal(t, 3, count(t, db, "event_bodies"))

	// New events with stored ones at the start, inside and at the end of
	// what would be the first chunk, and one twice in the batch.
	fresh := genEvents(2, 2*chunkEvents)
	batch := []*event.Event{first[0]}
	batch = append(batch, fresh[:10]...)
	batch = append(batch, first[7], fresh[10], fresh[10])
	batch = append(batch, fresh[11:]...)
	batch = append(batch, first[len(first)-1])
	res, err = db.Events().Append(ctx, "agent-1", 2, batch)
	require.NoError(t, err)
	require.Equal(t, len(fresh), res.Stored)
	require.Equal(t, len(batch)-len(fresh), res.Duplicates)
	require.Equal(t, 3+2, count(t, db, "event_bodies"))

	checkBodies(t, db)
	checkOrigin(t, db, first, "agent-1", 1)
	checkOrigin(t, db, fresh, "agent-1", 2)
	stored := storedBodies(t, db)
	for _, e := range append(first, fresh...) {
		require.Equal(t, encode(t, e), stored[e.Event.ID])
	}
	got := queryAll(t, db, store.EventFilter{Limit: 10})
	require.Len(t, got, len(first)+len(fresh))
}

// TestCorruptChunkIsAnError checks that a damaged chunk fails the query
// that reads it with errCorrupt rather than returning other events'
// bodies or nothing.
func TestCorruptChunkIsAnError(t *testing.T) {
	ctx := t.Context()
	db, _ := openTest(t, Options{})
	_, err := db.Events().Append(ctx, "agent-1", 1, genEvents(1, 3))
	require.NoError(t, err)
	require.NoError(t, db.writer.submit(ctx, 1, false, func(tx *wtx) error {
		_, err := tx.exec("UPDATE event_bodies SET data = x'01ff'")
		return err
	}))
	_, _, err = db.Events().Query(ctx, store.EventFilter{Limit: 10})
	require.ErrorIs(t, err, errCorrupt)
	require.True(t, strings.Contains(err.Error(), "chunk"), err.Error())

	// A chunk that is gone, with its events still there.
	require.NoError(t, db.writer.submit(ctx, 1, false, func(tx *wtx) error {
		_, err := tx.exec("DELETE FROM event_bodies")
		return err
	}))
	_, _, err = db.Events().Query(ctx, store.EventFilter{Limit: 10})
	require.ErrorIs(t, err, errCorrupt)
	require.Contains(t, err.Error(), "has no body")
}

func TestCutChunks(t *testing.T) {
	big := bytes.Repeat([]byte("b"), chunkBytes/2+1)
	huge := bytes.Repeat([]byte("h"), chunkBytes+1)
	small := []byte("s")
	tests := []struct {
		name   string
		bodies [][]byte
		split  []int // indexes that start a run of rids
		starts []int
	}{
		{"one", [][]byte{small}, nil, []int{0}},
		{"by count", slices.Repeat([][]byte{small}, 2*chunkEvents+1), nil, []int{0, chunkEvents, 2 * chunkEvents}},
		{"by size", [][]byte{big, big, small, big}, nil, []int{0, 1, 3}},
		{"one event larger than a chunk", [][]byte{small, huge, small}, nil, []int{0, 1, 2}},
		{"gaps in rids", slices.Repeat([][]byte{small}, 5), []int{2, 3}, []int{0, 2, 3}},
	}
	for _, tt := range tests {
		evs := make([]encodedEvent, len(tt.bodies))
		for i, b := range tt.bodies {
			evs[i] = encodedEvent{id: "e" + strconv.Itoa(i), user: "u", action: "a", body: b}
		}
		batch := batchInfo{ingested: 7, agent: "agent-1", seq: 3}
		chunks := cutChunks(len(evs), batch, func(i int) *encodedEvent { return &evs[i] },
			func(i int) bool { return slices.Contains(tt.split, i) })
		var starts []int
		next := 0
		for _, c := range chunks {
			require.Equal(t, next, c.start, tt.name)
			starts = append(starts, c.start)
			got, _, err := parseChunk(nil, c.data)
			require.NoError(t, err, tt.name)
			require.Equal(t, byte(chunkFormat), got.format, tt.name)
			require.Equal(t, batch, got.batch, tt.name)
			for j, s := range slotEvents(got) {
				want := evs[c.start+j]
				require.Equal(t, want.id, s.id, tt.name)
				require.Equal(t, want.body, s.body, tt.name)
			}
			next += len(got.slots)
		}
		require.Equal(t, len(tt.bodies), next, tt.name)
		require.Equal(t, tt.starts, starts, tt.name)
	}
}
