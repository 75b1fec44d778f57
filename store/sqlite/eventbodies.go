package sqlite

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/s2"
)

// Event bodies are stored compressed, a chunk of events at a time
// (migration 0009). An Append cuts the events it stores, in rid order,
// into chunks of up to chunkEvents events with consecutive rids (see
// cutChunks); each chunk is one event_bodies row whose key, first, is its
// first event's rid, and whose data holds the bodies of events first,
// first+1, … The events rows of such events have an empty body. Rows
// stored before keep their body in the row, and are read as before.
//
// The events of one agent's batch repeat most of each other's text (field
// names, the host, the user and their directory entry), so a chunk
// compresses about four times where one event alone compresses by a
// third; the store writes and checkpoints a quarter of the bytes.
//
// The event with rid r is in the chunk with the greatest first <= r: rids
// only grow, and a rid is given again only once every event after it is
// gone (see deleteBlockEvents), so a later chunk never starts before a
// live event of an earlier one, and an earlier chunk's slot for a rid
// given again was cleared when its event was deleted.

// chunkEvents is the most events a chunk holds. A query that shows one
// event reads and decompresses its whole chunk (about 20 KB for 16 events
// of the generated stream), so chunks stay small: chunks of 32 made a
// page of 100 events from many agents about one and a half times as slow
// to read, and the store only 2 % smaller; chunks of 8 made it 12 %
// larger.
const chunkEvents = 16

// chunkFormat is the first byte of a chunk's data: the rest is an S2
// block of a uvarint count, count uvarint body lengths, and the bodies.
// A body of length 0 is a deleted event's.
const chunkFormat = 0x01

// chunkWriter encodes chunks, reusing its buffers.
type chunkWriter struct{ raw, dst []byte }

// encode returns the data of the chunk of bodies, in a new slice.
func (w *chunkWriter) encode(bodies [][]byte) []byte {
	raw := binary.AppendUvarint(w.raw[:0], uint64(len(bodies)))
	size := 0
	for _, b := range bodies {
		raw = binary.AppendUvarint(raw, uint64(len(b)))
		size += len(b)
	}
	raw = slices.Grow(raw, size)
	for _, b := range bodies {
		raw = append(raw, b...)
	}
	w.raw = raw
	// S2 needs room for the worst case; the chunk keeps only what it used.
	w.dst = slices.Grow(w.dst[:0], s2.MaxEncodedLen(len(raw)))
	enc := s2.Encode(w.dst[:cap(w.dst)], raw)
	out := make([]byte, 1+len(enc))
	out[0] = chunkFormat
	copy(out[1:], enc)
	return out
}

// parseChunk returns the bodies of a chunk's slots, sliced from one
// buffer: buf when it is large enough, else a new one, which it also
// returns. A deleted event's slot is empty.
func parseChunk(buf, data []byte) ([][]byte, []byte, error) {
	slots, raw, err := parseChunkInto(buf, data)
	if err != nil {
		return nil, buf, fmt.Errorf("%w: event chunk: %w", errCorrupt, err)
	}
	return slots, raw, nil
}

func parseChunkInto(buf, data []byte) ([][]byte, []byte, error) {
	if len(data) == 0 || data[0] != chunkFormat {
		return nil, nil, errors.New("unknown format")
	}
	n, err := s2.DecodedLen(data[1:])
	if err != nil {
		return nil, nil, err
	}
	if n > maxChunkRaw {
		return nil, nil, fmt.Errorf("%d bytes decompressed", n)
	}
	if n > cap(buf) {
		buf = make([]byte, n)
	}
	raw, err := s2.Decode(buf[:cap(buf)], data[1:])
	if err != nil {
		return nil, nil, err
	}
	slots, err := splitChunk(raw)
	return slots, buf, err
}

// splitChunk cuts a decompressed chunk into its slots.
func splitChunk(raw []byte) ([][]byte, error) {
	n, k := binary.Uvarint(raw)
	// Each slot takes at least one byte for its length.
	if k <= 0 || n == 0 || n > uint64(len(raw)-k) {
		return nil, errors.New("bad count")
	}
	raw = raw[k:]
	lens := make([]uint64, n)
	total := uint64(0)
	for i := range lens {
		l, k := binary.Uvarint(raw)
		if k <= 0 || l > uint64(len(raw)) {
			return nil, fmt.Errorf("bad length of slot %d", i)
		}
		lens[i], total, raw = l, total+l, raw[k:]
	}
	if total != uint64(len(raw)) {
		return nil, fmt.Errorf("%d bytes of bodies for lengths that add up to %d", len(raw), total)
	}
	out := make([][]byte, n)
	for i, l := range lens {
		out[i], raw = raw[:l:l], raw[l:]
	}
	return out, nil
}

// chunkBytes is the most body bytes a chunk holds, unless its one event
// is larger; with maxChunkRaw it bounds what a damaged chunk can make a
// reader allocate.
const chunkBytes = 1 << 20

// maxChunkRaw is the largest decompressed chunk a reader accepts: far
// more than chunkEvents events of the largest request the API takes.
const maxChunkRaw = 1 << 30

// bodyChunk is an encoded chunk and the index of its first event.
type bodyChunk struct {
	start int
	data  []byte
}

// cutChunks cuts n bodies, body(i) each, into chunks in order: at most
// chunkEvents events and chunkBytes bytes each (or one event), and a new
// chunk wherever split(i) says so. It returns them encoded.
func cutChunks(n int, body func(i int) []byte, split func(i int) bool) []bodyChunk {
	var (
		w      chunkWriter
		chunks = make([]bodyChunk, 0, (n+chunkEvents-1)/chunkEvents)
		bodies = make([][]byte, 0, chunkEvents)
		size   int
		start  int
	)
	for i := range n {
		b := body(i)
		if len(bodies) > 0 && (len(bodies) == chunkEvents || size+len(b) > chunkBytes || split != nil && split(i)) {
			chunks = append(chunks, bodyChunk{start, w.encode(bodies)})
			bodies, size, start = bodies[:0], 0, i
		}
		bodies = append(bodies, b)
		size += len(b)
	}
	if len(bodies) > 0 {
		chunks = append(chunks, bodyChunk{start, w.encode(bodies)})
	}
	return chunks
}

// chunkBodies cuts the bodies of rows into chunks and encodes them: the
// work of the caller's goroutine, so that the writer only writes them
// (see insertBodies).
func chunkBodies(rows []encodedEvent) []bodyChunk {
	return cutChunks(len(rows), func(i int) []byte { return rows[i].body }, nil)
}

const insertChunk = "INSERT INTO event_bodies (first, data) VALUES (?, ?)"

// insertBodies writes the chunks of the events an Append stored. chunks
// are those chunkBodies cut from every row of the batch: they are written
// as they are when every event was stored, with consecutive rids, as is
// usual; otherwise (some were stored already) the stored events' bodies
// are cut into chunks again here, never across a gap in their rids.
func (tx *wtx) insertBodies(rows []encodedEvent, stored []keyedEvent, chunks []bodyChunk) error {
	if len(stored) == 0 {
		return nil
	}
	if len(stored) != len(rows) || !consecutive(stored) {
		chunks = cutChunks(len(stored), func(i int) []byte { return stored[i].row.body },
			func(i int) bool { return stored[i].rid != stored[i-1].rid+1 })
	}
	for _, c := range chunks {
		if _, err := tx.exec(insertChunk, stored[c.start].rid, c.data); err != nil {
			return err
		}
	}
	return nil
}

// consecutive reports whether evs have the rids first, first+1, and so on.
func consecutive(evs []keyedEvent) bool {
	for i, e := range evs {
		if e.rid != evs[0].rid+int64(i) {
			return false
		}
	}
	return true
}

// chunkOf is the query that finds the chunks of the rids a JSON array
// lists: for each rid, the chunk with the greatest first at or below it.
const chunkOf = `SELECT first, data FROM event_bodies WHERE first IN
(SELECT (SELECT max(first) FROM event_bodies WHERE first <= value) FROM json_each(?))`

// chunkSet is the parsed chunks a read needs, by first rid, in order.
// Its buffers come from chunkBufs: call release once the bodies are no
// longer used.
type chunkSet struct {
	firsts []int64
	slots  [][][]byte
	bufs   []*[]byte
}

// chunkBufs holds buffers for decompressed chunks, which a page of events
// from many agents' batches reads by the dozen.
var chunkBufs = sync.Pool{New: func() any { return new([]byte) }}

// release returns the set's buffers to chunkBufs.
func (c *chunkSet) release() {
	for _, b := range c.bufs {
		chunkBufs.Put(b)
	}
	*c = chunkSet{}
}

// read parses the chunks rows of chunkOf return, and closes rows.
func (c *chunkSet) read(rows *sql.Rows) error {
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			first int64
			data  sql.RawBytes // parsed at once: not copied
		)
		if err := rows.Scan(&first, &data); err != nil {
			return classify(err)
		}
		buf, ok := chunkBufs.Get().(*[]byte)
		if !ok {
			buf = new([]byte)
		}
		c.bufs = append(c.bufs, buf)
		slots, raw, err := parseChunk(*buf, data)
		*buf = raw
		if err != nil {
			return fmt.Errorf("chunk %d: %w", first, err)
		}
		i, _ := slices.BinarySearch(c.firsts, first)
		c.firsts = slices.Insert(c.firsts, i, first)
		c.slots = slices.Insert(c.slots, i, slots)
	}
	return classify(rows.Err())
}

// find returns the chunk and slot of the event rid, if a chunk has one.
func (c *chunkSet) find(rid int64) (chunk int, slot int64, ok bool) {
	i, found := slices.BinarySearch(c.firsts, rid)
	if !found {
		i--
	}
	if i < 0 || rid-c.firsts[i] >= int64(len(c.slots[i])) {
		return 0, 0, false
	}
	return i, rid - c.firsts[i], true
}

// body returns the stored body of the event rid, or nil when no chunk
// holds it (the event was deleted).
func (c *chunkSet) body(rid int64) []byte {
	if i, slot, ok := c.find(rid); ok && len(c.slots[i][slot]) > 0 {
		return c.slots[i][slot]
	}
	return nil
}

// purgeBodies removes the bodies of the deleted events es from their
// chunks: a chunk left with no event is deleted, the others are written
// again without them, so that no deleted event's text stays in the
// database. Events stored before chunks, whose body was in their own row,
// have no chunk.
func (tx *wtx) purgeBodies(es []keyEntry) error {
	if len(es) == 0 {
		return nil
	}
	rows, err := tx.query(chunkOf, ridList(es))
	if err != nil {
		return classify(err)
	}
	var set chunkSet
	defer set.release()
	if err := set.read(rows); err != nil {
		return err
	}
	changed := make([]bool, len(set.firsts))
	for _, e := range es {
		if i, slot, ok := set.find(e.rid); ok {
			set.slots[i][slot] = nil
			changed[i] = true
		}
	}
	var w chunkWriter
	for i, first := range set.firsts {
		if !changed[i] {
			continue
		}
		if !slices.ContainsFunc(set.slots[i], func(b []byte) bool { return len(b) > 0 }) {
			if _, err := tx.exec("DELETE FROM event_bodies WHERE first = ?", first); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.exec("UPDATE event_bodies SET data = ? WHERE first = ?", w.encode(set.slots[i]), first); err != nil {
			return err
		}
	}
	return nil
}
