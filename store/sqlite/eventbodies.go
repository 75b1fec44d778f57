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

// Events are stored compressed, a chunk of events at a time (migrations
// 0009 and 0010). An Append cuts the events it stores, in rid order, into
// chunks of up to chunkEvents events with consecutive rids (see
// cutChunks); each chunk is one event_bodies row whose key, first, is its
// first event's rid, and whose data holds events first, first+1, … Since
// migration 0010 a chunk (format 2) holds each event's id, user, host and
// action beside its body, and the time of ingest, so that an event has no
// row of its own: only its id → rid entry in event_ids. Chunks of format
// 1 (migration 0009) hold bodies only; their events keep an events row
// with an empty body. Events stored before 0009 keep their body in their
// row. All three are read side by side.
//
// The events of one agent's batch repeat most of each other's text (field
// names, the host, the user and their directory entry), so a chunk
// compresses about four times where one event alone compresses by a
// third; the store writes and checkpoints a quarter of the bytes.
//
// The event with rid r is in the chunk with the greatest first <= r: rids
// only grow (since 0010 they are counted in event_rid and never given
// again; before, SQLite gave a rid again only once every event after it
// was gone, see deleteBlockEvents), so a later chunk never starts before
// a live event of an earlier one, and an earlier chunk's slot for a rid
// given again was cleared when its event was deleted.

// chunkEvents is the most events a chunk holds. A query that shows one
// event reads and decompresses its whole chunk (about 20 KB for 16 events
// of the generated stream), so chunks stay small: chunks of 32 made a
// page of 100 events from many agents about one and a half times as slow
// to read, and the store only 2 % smaller; chunks of 8 made it 12 %
// larger.
const chunkEvents = 16

// The first byte of a chunk's data is its format; the rest is an S2
// block. Format 1 (chunkBodiesOnly): a uvarint count, count uvarint body
// lengths, and the bodies. Format 2 (chunkFormat): a uvarint count; the
// batch the events came in: the time of ingest and the batch's seq as
// varints, the length of the agent id as a uvarint and the agent id; for
// each slot five uvarint lengths (id, user, host, action, body); then each
// slot's five strings in that order. A deleted event's slot is empty:
// every length 0.
const (
	chunkBodiesOnly = 0x01
	chunkFormat     = 0x02
)

// chunkSlot is one event of a parsed chunk. In a chunk of format 1 only
// body is set: the rest is in the event's row.
type chunkSlot struct{ id, user, host, action, body []byte }

// live reports whether the slot holds an event.
func (s *chunkSlot) live() bool { return len(s.body) > 0 }

// batchInfo is what a chunk of format 2 keeps of the Append that stored
// its events: the time of ingest (nanoseconds), and the agent and seq of
// the batch, so that where each event came from stays known.
type batchInfo struct {
	ingested int64
	agent    string
	seq      int64
}

// chunk is a parsed chunk.
type chunk struct {
	format byte
	batch  batchInfo // format 2 only
	slots  []chunkSlot
}

// chunkWriter encodes chunks, reusing its buffers.
type chunkWriter struct{ raw, dst []byte }

// encode returns the data of a chunk of format with the events evs (a
// zero encodedEvent is a deleted event's slot) that came in batch, in a
// new slice. Format 1 keeps neither batch nor each event's id, user, host
// and action.
func (w *chunkWriter) encode(format byte, batch batchInfo, evs []encodedEvent) []byte {
	raw := binary.AppendUvarint(w.raw[:0], uint64(len(evs)))
	size := 0
	if format == chunkBodiesOnly {
		for i := range evs {
			raw = binary.AppendUvarint(raw, uint64(len(evs[i].body)))
			size += len(evs[i].body)
		}
	} else {
		raw = binary.AppendVarint(raw, batch.ingested)
		raw = binary.AppendVarint(raw, batch.seq)
		raw = binary.AppendUvarint(raw, uint64(len(batch.agent)))
		raw = append(raw, batch.agent...)
		for i := range evs {
			e := &evs[i]
			if len(e.body) == 0 {
				raw = append(raw, 0, 0, 0, 0, 0)
				continue
			}
			for _, l := range [...]int{len(e.id), len(e.user), len(e.host), len(e.action), len(e.body)} {
				raw = binary.AppendUvarint(raw, uint64(l))
				size += l
			}
		}
	}
	raw = slices.Grow(raw, size)
	for i := range evs {
		e := &evs[i]
		if format == chunkFormat && len(e.body) > 0 {
			raw = append(append(append(append(raw, e.id...), e.user...), e.host...), e.action...)
		}
		raw = append(raw, e.body...)
	}
	w.raw = raw
	// S2 needs room for the worst case; the chunk keeps only what it used.
	w.dst = slices.Grow(w.dst[:0], s2.MaxEncodedLen(len(raw)))
	enc := s2.Encode(w.dst[:cap(w.dst)], raw)
	out := make([]byte, 1+len(enc))
	out[0] = format
	copy(out[1:], enc)
	return out
}

// parseChunk parses a chunk's data, slicing its strings from one buffer:
// buf when it is large enough, else a new one, which it also returns.
func parseChunk(buf, data []byte) (chunk, []byte, error) {
	c, raw, err := parseChunkInto(buf, data)
	if err != nil {
		return chunk{}, buf, fmt.Errorf("%w: event chunk: %w", errCorrupt, err)
	}
	return c, raw, nil
}

func parseChunkInto(buf, data []byte) (chunk, []byte, error) {
	if len(data) == 0 || data[0] != chunkBodiesOnly && data[0] != chunkFormat {
		return chunk{}, nil, errors.New("unknown format")
	}
	n, err := s2.DecodedLen(data[1:])
	if err != nil {
		return chunk{}, nil, err
	}
	if n > maxChunkRaw {
		return chunk{}, nil, fmt.Errorf("%d bytes decompressed", n)
	}
	if n > cap(buf) {
		buf = make([]byte, n)
	}
	raw, err := s2.Decode(buf[:cap(buf)], data[1:])
	if err != nil {
		return chunk{}, nil, err
	}
	c, err := splitChunk(data[0], raw)
	return c, buf, err
}

// splitChunk cuts a decompressed chunk of format into its slots.
func splitChunk(format byte, raw []byte) (chunk, error) {
	c := chunk{format: format}
	n, k := binary.Uvarint(raw)
	fields := uint64(1) // lengths per slot, each at least one byte
	if format == chunkFormat {
		fields = 5
	}
	// No writer of these formats puts more than chunkEvents events in a
	// chunk.
	if k <= 0 || n == 0 || n > chunkEvents || n > uint64(len(raw)-k)/fields {
		return c, errors.New("bad count")
	}
	raw = raw[k:]
	if format == chunkFormat {
		if c.batch.ingested, k = binary.Varint(raw); k <= 0 {
			return c, errors.New("bad time of ingest")
		}
		raw = raw[k:]
		if c.batch.seq, k = binary.Varint(raw); k <= 0 {
			return c, errors.New("bad batch seq")
		}
		raw = raw[k:]
		l, k := binary.Uvarint(raw)
		if k <= 0 || l > uint64(len(raw)-k) {
			return c, errors.New("bad agent id")
		}
		c.batch.agent, raw = string(raw[k:k+int(l)]), raw[k+int(l):]
	}
	lens := make([]uint64, n*fields)
	total := uint64(0)
	for i := range lens {
		l, k := binary.Uvarint(raw)
		if k <= 0 || l > uint64(len(raw)) {
			return c, fmt.Errorf("bad length %d of slot %d", i%int(fields), uint64(i)/fields)
		}
		lens[i], total, raw = l, total+l, raw[k:]
	}
	if total != uint64(len(raw)) {
		return c, fmt.Errorf("%d bytes of events for lengths that add up to %d", len(raw), total)
	}
	c.slots = make([]chunkSlot, n)
	next := func(l uint64) []byte {
		var b []byte
		b, raw = raw[:l:l], raw[l:]
		return b
	}
	for i := range c.slots {
		s := &c.slots[i]
		if format == chunkBodiesOnly {
			s.body = next(lens[i])
			continue
		}
		l := lens[5*i : 5*i+5]
		s.id, s.user, s.host, s.action, s.body = next(l[0]), next(l[1]), next(l[2]), next(l[3]), next(l[4])
		if !s.live() && (len(s.id) > 0 || len(s.user) > 0 || len(s.host) > 0 || len(s.action) > 0) {
			return c, fmt.Errorf("slot %d has an event without a body", i)
		}
		if s.live() && len(s.id) == 0 {
			return c, fmt.Errorf("slot %d has an event without an id", i)
		}
	}
	return c, nil
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

// cutChunks cuts n events, ev(i) each, into chunks of format 2 in order:
// at most chunkEvents events and chunkBytes bytes of bodies each (or one
// event), and a new chunk wherever split(i) says so. It returns them
// encoded.
func cutChunks(n int, batch batchInfo, ev func(i int) *encodedEvent, split func(i int) bool) []bodyChunk {
	var (
		w      chunkWriter
		chunks = make([]bodyChunk, 0, (n+chunkEvents-1)/chunkEvents)
		evs    = make([]encodedEvent, 0, chunkEvents)
		size   int
		start  int
	)
	for i := range n {
		e := ev(i)
		if len(evs) > 0 && (len(evs) == chunkEvents || size+len(e.body) > chunkBytes || split != nil && split(i)) {
			chunks = append(chunks, bodyChunk{start, w.encode(chunkFormat, batch, evs)})
			evs, size, start = evs[:0], 0, i
		}
		evs = append(evs, *e)
		size += len(e.body)
	}
	if len(evs) > 0 {
		chunks = append(chunks, bodyChunk{start, w.encode(chunkFormat, batch, evs)})
	}
	return chunks
}

// chunkBodies cuts rows into chunks and encodes them: the work of the
// caller's goroutine, so that the writer only writes them (see
// insertBodies).
func chunkBodies(rows []encodedEvent, batch batchInfo) []bodyChunk {
	return cutChunks(len(rows), batch, func(i int) *encodedEvent { return &rows[i] }, nil)
}

const insertChunk = "INSERT INTO event_bodies (first, data) VALUES (?, ?)"

// insertBodies writes the chunks of the events an Append stored. chunks
// are those chunkBodies cut from every row of the batch: they are written
// as they are when every event was stored, with consecutive rids, as is
// usual; otherwise (some were stored already) the stored events' bodies
// are cut into chunks again here, never across a gap in their rids.
func (tx *wtx) insertBodies(rows []encodedEvent, batch batchInfo, stored []keyedEvent, chunks []bodyChunk) error {
	if len(stored) == 0 {
		return nil
	}
	if len(stored) != len(rows) || !consecutive(stored) {
		chunks = cutChunks(len(stored), batch, func(i int) *encodedEvent { return stored[i].row },
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
// Its buffers come from chunkBufs: call release once the events are no
// longer used.
type chunkSet struct {
	firsts []int64
	chunks []chunk
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

// read parses the chunks that rows of chunkOf return, and closes rows; it
// takes the query's error too, so that a query's results pass straight
// in: c.read(tx.query(chunkOf, ridList(es))).
func (c *chunkSet) read(rows *sql.Rows, err error) error {
	if err != nil {
		return classify(err)
	}
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
		parsed, raw, err := parseChunk(*buf, data)
		*buf = raw
		if err != nil {
			return fmt.Errorf("chunk %d: %w", first, err)
		}
		i, _ := slices.BinarySearch(c.firsts, first)
		c.firsts = slices.Insert(c.firsts, i, first)
		c.chunks = slices.Insert(c.chunks, i, parsed)
	}
	return classify(rows.Err())
}

// find returns the chunk and slot of the event rid, if a chunk has one.
func (c *chunkSet) find(rid int64) (chunk int, slot int64, ok bool) {
	i, found := slices.BinarySearch(c.firsts, rid)
	if !found {
		i--
	}
	if i < 0 || rid-c.firsts[i] >= int64(len(c.chunks[i].slots)) {
		return 0, 0, false
	}
	return i, rid - c.firsts[i], true
}

// event returns the stored event rid and its chunk, or nil when no chunk
// holds it (the event was deleted, or is stored in its own row).
func (c *chunkSet) event(rid int64) (*chunkSlot, *chunk) {
	if i, slot, ok := c.find(rid); ok && c.chunks[i].slots[slot].live() {
		return &c.chunks[i].slots[slot], &c.chunks[i]
	}
	return nil, nil
}

// body returns the stored body of the event rid, or nil when no chunk
// holds it.
func (c *chunkSet) body(rid int64) []byte {
	if s, _ := c.event(rid); s != nil {
		return s.body
	}
	return nil
}

// purgeBodies removes the deleted events es from their chunks, which set
// holds: a chunk left with no event is deleted, the others are written
// again without them, so that no deleted event's text stays in the
// database. Events stored before chunks, whose body was in their own row,
// have no chunk.
func (tx *wtx) purgeBodies(set *chunkSet, es []keyEntry) error {
	changed := make([]bool, len(set.firsts))
	for _, e := range es {
		if i, slot, ok := set.find(e.rid); ok {
			set.chunks[i].slots[slot] = chunkSlot{}
			changed[i] = true
		}
	}
	var (
		w   chunkWriter
		evs []encodedEvent
	)
	for i, first := range set.firsts {
		if !changed[i] {
			continue
		}
		c := &set.chunks[i]
		if !slices.ContainsFunc(c.slots, func(s chunkSlot) bool { return s.live() }) {
			if _, err := tx.exec("DELETE FROM event_bodies WHERE first = ?", first); err != nil {
				return err
			}
			continue
		}
		evs = evs[:0]
		for _, s := range c.slots {
			evs = append(evs, encodedEvent{id: string(s.id), user: string(s.user), host: string(s.host),
				action: string(s.action), body: s.body})
		}
		if _, err := tx.exec("UPDATE event_bodies SET data = ? WHERE first = ?", w.encode(c.format, c.batch, evs), first); err != nil {
			return err
		}
	}
	return nil
}
