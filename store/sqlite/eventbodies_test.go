package sqlite

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

func TestChunkRoundTrip(t *testing.T) {
	var w chunkWriter
	for _, bodies := range [][][]byte{
		{[]byte(`{"a":1}`)},
		{[]byte(`{"a":1}`), nil, []byte(`{"b":"two"}`), {}},
		{bytes.Repeat([]byte("x"), 300), []byte("é")},
	} {
		got, _, err := parseChunk(nil, w.encode(bodies))
		require.NoError(t, err)
		require.Len(t, got, len(bodies))
		for i := range bodies {
			require.Equal(t, string(bodies[i]), string(got[i]), "slot %d", i)
		}
	}
	// The chunk's data is one format byte and an S2 block.
	data := w.encode([][]byte{[]byte("ab"), []byte("c")})
	require.Equal(t, byte(chunkFormat), data[0])
	raw, err := s2.Decode(nil, data[1:])
	require.NoError(t, err)
	require.Equal(t, []byte{2, 2, 1, 'a', 'b', 'c'}, raw)

	block := func(raw ...byte) []byte { return append([]byte{chunkFormat}, s2.Encode(nil, raw)...) }
	for name, bad := range map[string][]byte{
		"empty":                        nil,
		"unknown format":               append([]byte{0x02}, data[1:]...),
		"not S2":                       {chunkFormat, 0xff, 0xff, 0xff},
		"no slots":                     block(0),
		"more slots than bytes":        block(5, 0, 0),
		"length past the end":          block(1, 9, 'a'),
		"bytes left over":              block(1, 1, 'a', 'b'),
		"bytes missing":                block(2, 1, 2, 'a', 'b'),
		"count not a uvarint":          block(0x80),
		"length not a uvarint":         block(1, 0x80),
		"huge count":                   block(binary.AppendUvarint(nil, 1<<40)...),
		"huge length":                  block(append([]byte{1}, binary.AppendUvarint(nil, 1<<40)...)...),
		"truncated S2 block":           data[:len(data)-1],
		"format byte and no S2":        {chunkFormat},
		"lengths add up to less":       block(2, 1, 0, 'a', 'b'),
		"claims more than maxChunkRaw": append(binary.AppendUvarint([]byte{chunkFormat}, maxChunkRaw+1), 0, 0, 0),
	} {
		_, _, err := parseChunk(nil, bad)
		require.ErrorIs(t, err, errCorrupt, name)
	}
}

func FuzzParseChunk(f *testing.F) {
	var w chunkWriter
	f.Add(w.encode([][]byte{[]byte(`{"a":1}`), nil, []byte("b")}))
	f.Add([]byte{chunkFormat})
	f.Add(append([]byte{chunkFormat}, s2.Encode(nil, []byte{1, 1, 'x'})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		slots, _, err := parseChunk(nil, data)
		if err != nil {
			require.ErrorIs(t, err, errCorrupt)
			return
		}
		require.NotEmpty(t, slots)
		var w chunkWriter
		again, _, err := parseChunk(make([]byte, 3), w.encode(slots))
		require.NoError(t, err)
		require.Len(t, again, len(slots))
		for i := range slots {
			require.Equal(t, slots[i], again[i])
		}
	})
}

// checkBodies checks event_bodies against the events table: every event
// stored in a chunk has a body there that is the event itself, every
// chunk holds at least one event, and no chunk keeps a slot for an event
// that is gone (retention must not leave a deleted event's text behind).
func checkBodies(t *testing.T, db *DB) {
	t.Helper()
	rows, chunks := loadBodies(t, db)
	seen := map[int64]bool{}
	for i, first := range chunks.firsts {
		live := 0
		for slot, body := range chunks.slots[i] {
			if len(body) == 0 {
				continue
			}
			live++
			rid := first + int64(slot)
			r, ok := rows[rid]
			require.True(t, ok, "chunk %d keeps the body of event %d, which is gone", first, rid)
			require.Empty(t, r.body, "event %d has a body in its row and in chunk %d", rid, first)
			ev, err := event.Decode(body)
			require.NotNil(t, ev, "event %d: %v", rid, err)
			require.Equal(t, r.id, ev.Event.ID, "chunk %d slot %d", first, slot)
			require.False(t, seen[rid], "event %d in two chunks", rid)
			seen[rid] = true
		}
		require.Positive(t, live, "chunk %d holds no event", first)
	}
	for rid, r := range rows {
		require.True(t, len(r.body) > 0 || seen[rid], "event %d has no body", rid)
	}
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
		chunks := cutChunks(len(tt.bodies), func(i int) []byte { return tt.bodies[i] },
			func(i int) bool { return slices.Contains(tt.split, i) })
		var starts []int
		next := 0
		for _, c := range chunks {
			require.Equal(t, next, c.start, tt.name)
			starts = append(starts, c.start)
			slots, _, err := parseChunk(nil, c.data)
			require.NoError(t, err, tt.name)
			for j, s := range slots {
				require.Equal(t, tt.bodies[c.start+j], s, tt.name)
			}
			next += len(slots)
		}
		require.Equal(t, len(tt.bodies), next, tt.name)
		require.Equal(t, tt.starts, starts, tt.name)
	}
}
