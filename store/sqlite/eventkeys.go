package sqlite

import (
	"cmp"
	"container/heap"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

// Stored events are indexed a block at a time (migration 0007): a block
// is the events one Append stored, and event_keys has one row per key of
// the block (every event, each user, host and action) listing the key's
// events as [rid - first, ts] pairs in time order. A user, host or action
// with fewer than keyRowMin events in the block has event_key_entries rows
// instead, one per event. Storing an agent's batch so writes, per event,
// its id → rid entry (event_ids), a share of a chunk (see eventbodies.go)
// and a share of a few key rows, instead of a row and four index entries;
// a query merges the key rows that overlap its time range with the key's
// event_key_entries, and reads the events of one page only.

// Kinds of event_keys rows.
const (
	keyAll    = 0 // every event of the block; value ""
	keyUser   = 1 // user.name
	keyHost   = 2 // host.name
	keyAction = 3 // event.action
)

// keyEntry is one event in a key row.
type keyEntry struct{ ts, rid int64 }

// compare orders entries by time, then rid: the order of an ascending page
// and of a key row's entries.
func (e keyEntry) compare(o keyEntry) int {
	return cmp.Or(cmp.Compare(e.ts, o.ts), cmp.Compare(e.rid, o.rid))
}

// The entries column of a key row lists its entries in one of two
// formats. Rows written since migration 0008 are binary: entriesBinary,
// then entrySize bytes per entry, rid - first as a little-endian uint32
// and ts as a little-endian int64, a third of the size of the JSON array
// of [rid - first, ts] pairs that migration 0007 and the rows before
// wrote, and read without parsing digits. Both are read; a row is
// rewritten in binary when retention trims it. (An entry whose rid -
// first does not fit 32 bits, which one Append cannot store, would keep
// its row in JSON.)
const (
	entriesBinary = '\x01' // never starts a JSON array
	entrySize     = 12
)

// appendEntries appends the entries column of a key row listing es, in
// that order.
func appendEntries(b []byte, first int64, es []keyEntry) []byte {
	for _, e := range es {
		if off := e.rid - first; off < 0 || off > math.MaxUint32 {
			return appendEntriesJSON(b, first, es)
		}
	}
	b = slices.Grow(b, 1+entrySize*len(es))
	b = append(b, entriesBinary)
	for _, e := range es {
		b = binary.LittleEndian.AppendUint32(b, uint32(e.rid-first))
		b = binary.LittleEndian.AppendUint64(b, uint64(e.ts))
	}
	return b
}

// appendEntriesJSON appends es as the JSON array of [rid - first, ts]
// pairs that rows written before migration 0008 hold.
func appendEntriesJSON(b []byte, first int64, es []keyEntry) []byte {
	b = append(b, '[')
	for i, e := range es {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, e.rid-first, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, e.ts, 10)
		b = append(b, ']')
	}
	return append(b, ']')
}

// parseEntries appends the entries of a key row to dst. It accepts exactly
// what appendEntries, appendEntriesJSON and migration 0007 write.
func parseEntries(dst []keyEntry, first int64, s string) ([]keyEntry, error) {
	r, err := newEntryRun(nil, first, s)
	if err != nil {
		return dst, err
	}
	for r.i < r.j {
		e, err := r.firstEntry()
		if err != nil {
			return dst, err
		}
		dst = append(dst, e)
	}
	return dst, nil
}

// parseInt reads a decimal int64 at the start of s and returns it with the
// bytes it took; 0 bytes when there is none or it overflows.
func parseInt(s string) (int64, int) {
	sign := 0
	if len(s) > 0 && s[0] == '-' {
		sign = 1
	}
	digits := 0
	for sign+digits < len(s) && s[sign+digits] >= '0' && s[sign+digits] <= '9' {
		digits++
	}
	n := sign + digits
	switch {
	case digits == 0:
		return 0, 0
	case digits > 18: // may overflow: let strconv judge
		v, err := strconv.ParseInt(s[:n], 10, 64)
		if err != nil {
			return 0, 0
		}
		return v, n
	}
	var v int64
	for _, c := range s[sign:n] {
		v = v*10 + int64(c-'0')
	}
	if sign == 1 {
		v = -v
	}
	return v, n
}

// errCorrupt reports stored data that Vigil did not write.
var errCorrupt = errors.New("not a vigil database, or damaged")

// keyedEvent is a stored event as its block's keys need it.
type keyedEvent struct {
	rid   int64
	row   *encodedEvent
	index int // in the batch
}

// keyRow is one event_keys row being built.
type keyRow struct {
	kind    int
	value   string
	entries []keyEntry
}

// insertKeys writes the event_keys rows of the block of evs, the events
// one Append stored, in rid order.
func (tx *wtx) insertKeys(evs []keyedEvent) error {
	if len(evs) == 0 {
		return nil
	}
	first := evs[0].rid
	all := make([]keyEntry, len(evs))
	rows := []keyRow{{kind: keyAll, entries: all}}
	type key struct {
		kind  int
		value string
	}
	index := make(map[key]int, 32)
	add := func(kind int, value string, e keyEntry) {
		if value == "" {
			return
		}
		k := key{kind, value}
		i, ok := index[k]
		if !ok {
			i = len(rows)
			index[k] = i
			rows = append(rows, keyRow{kind: kind, value: value})
		}
		rows[i].entries = append(rows[i].entries, e)
	}
	for i, ev := range evs {
		e := keyEntry{ts: ev.row.ts, rid: ev.rid}
		all[i] = e
		add(keyUser, ev.row.user, e)
		add(keyHost, ev.row.host, e)
		add(keyAction, ev.row.action, e)
	}
	var (
		buf   []byte
		small []any // kind, value, ts, rid of each entry of event_key_entries
	)
	for _, r := range rows {
		if r.kind != keyAll && len(r.entries) < keyRowMin {
			for _, e := range r.entries {
				small = append(small, r.kind, r.value, e.ts, e.rid)
			}
			continue
		}
		if err := tx.insertKeyRow(first, r.kind, r.value, r.entries, &buf); err != nil {
			return err
		}
	}
	return tx.insertSmallKeys(small)
}

// keyRowMin is the fewest events a user, host or action needs in a block
// to get an event_keys row there; fewer are listed in event_key_entries,
// one row each. A batch that mixes hundreds of users and hosts (an import,
// a relay) would otherwise write a row for nearly every event and key, and
// a row costs several entries.
const keyRowMin = 4

// smallKeysChunk is how many event_key_entries rows one INSERT writes:
// the rows are small, and one statement each would cost more than the
// rows.
const smallKeysChunk = 100

// insertSmallKeys writes event_key_entries rows, four arguments each.
func (tx *wtx) insertSmallKeys(args []any) error {
	const cols = 4
	for len(args) > 0 {
		n := min(len(args)/cols, smallKeysChunk)
		q := insertSmallFull
		if n < smallKeysChunk {
			q = insertSmallSQL(n)
		}
		if _, err := tx.exec(q, args[:n*cols]...); err != nil {
			return err
		}
		args = args[n*cols:]
	}
	return nil
}

func insertSmallSQL(n int) string {
	return "INSERT INTO event_key_entries (kind, value, ts, rid) VALUES " +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?),", n), ",")
}

var insertSmallFull = insertSmallSQL(smallKeysChunk)

// insertKeyRow writes one event_keys row; buf is scratch space.
func (tx *wtx) insertKeyRow(first int64, kind int, value string, es []keyEntry, buf *[]byte) error {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, e := range es {
		lo, hi = min(lo, e.ts), max(hi, e.ts)
	}
	// In time order, so that a query reads a row from either end.
	slices.SortFunc(es, keyEntry.compare)
	*buf = appendEntries((*buf)[:0], first, es)
	_, err := tx.exec(`INSERT INTO event_keys (kind, value, max_ts, first, min_ts, entries) VALUES (?, ?, ?, ?, ?, ?)`,
		kind, value, hi, first, lo, *buf)
	return err
}

// keySource is an event_keys row a query reads.
type keySource struct {
	maxTS, first, minTS int64
	entries             string
}

// eventPage reads one page of events for f: it merges, in page order, the
// entries of the key rows that overlap the time range, and reads the
// events of the page.
type eventPage struct {
	db    *DB
	tx    *sql.Tx
	f     store.EventFilter
	limit int
	desc  bool
	chunk int // key rows per read

	kind  int
	value string
	// lo and hi bound ts, both included.
	lo, hi int64
	cursor position
	after  bool // cursor is set

	sources []keySource // read, not yet merged
	done    bool        // no more sources
	next    keySource   // where the next read of sources starts
	started bool
	pool    runHeap
}

// defaultKeysChunk is how many key rows one read of a query returns.
const defaultKeysChunk = 32

// queryEvents implements store.Events.Query.
func (s events) queryEvents(ctx context.Context, f store.EventFilter) ([]*event.Event, string, error) {
	p := &eventPage{db: s.db, f: f, limit: store.PageLimit(f.Limit), desc: f.Descending, chunk: s.db.keysChunk,
		lo: math.MinInt64, hi: math.MaxInt64}
	switch {
	case f.User != "":
		p.kind, p.value = keyUser, f.User
	case f.Host != "":
		p.kind, p.value = keyHost, f.Host
	case f.Action != "":
		p.kind, p.value = keyAction, f.Action
	}
	if !f.From.IsZero() {
		p.lo = nanos(f.From)
	}
	if !f.To.IsZero() {
		to := nanos(f.To)
		if to == math.MinInt64 {
			return nil, "", nil
		}
		p.hi = to - 1 // To is excluded
	}
	cur, ok, err := parsePosition(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	if ok {
		p.cursor, p.after = cur, true
		if p.desc {
			p.hi = min(p.hi, cur.ts)
		} else {
			p.lo = max(p.lo, cur.ts)
		}
	}
	if p.lo > p.hi {
		return nil, "", nil
	}
	p.pool.desc = p.desc
	tx, err := s.db.readers.BeginTx(ctx, nil)
	if err != nil {
		return nil, "", s.db.readErr(err)
	}
	defer func() { _ = tx.Rollback() }() // read only: nothing to keep
	p.tx = tx
	out, next, err := p.read(ctx)
	if err != nil {
		return nil, "", s.db.readErr(err)
	}
	return out, next, nil
}

// pageEvent is an event of the page with its place in the order.
type pageEvent struct {
	pos position
	e   *event.Event
}

func (p *eventPage) read(ctx context.Context) ([]*event.Event, string, error) {
	need := p.limit + 1 // one more tells whether a page follows
	if p.kind != keyAll {
		// The key's events in blocks where it had few are in
		// event_key_entries: one run, in page order from the start.
		r := &smallRun{p: p}
		ok, err := r.advance(ctx)
		if err != nil {
			return nil, "", err
		}
		if ok {
			heap.Push(&p.pool, r)
		}
	}
	var page []pageEvent
	filtered := p.filters() > 0
	for len(page) < need {
		if err := p.fill(ctx); err != nil {
			return nil, "", err
		}
		if p.pool.Len() == 0 {
			break
		}
		n := need - len(page)
		if filtered {
			n = max(n, 64)
		}
		batch, err := p.take(ctx, n)
		if err != nil {
			return nil, "", err
		}
		got, err := p.fetch(ctx, batch)
		if err != nil {
			return nil, "", err
		}
		page = append(page, got...)
	}
	if len(page) > need {
		page = page[:need]
	}
	out := make([]*event.Event, 0, min(len(page), p.limit))
	for i := 0; i < len(page) && i < p.limit; i++ {
		out = append(out, page[i].e)
	}
	if len(page) > p.limit {
		return out, page[p.limit-1].pos.String(), nil
	}
	return out, "", nil
}

// filters counts the filters the key rows do not check.
func (p *eventPage) filters() int {
	n := 0
	for _, v := range []string{p.f.User, p.f.Host, p.f.Action} {
		if v != "" {
			n++
		}
	}
	if p.kind != keyAll {
		n--
	}
	return n
}

// mayPrecede reports whether source s can hold an event that comes before
// entry e in the page order.
func (p *eventPage) mayPrecede(s keySource, e keyEntry) bool {
	if p.desc {
		return s.maxTS >= e.ts
	}
	return s.minTS <= e.ts
}

// fill merges sources into the pool until none left unread can hold an
// event before the pool's first.
func (p *eventPage) fill(ctx context.Context) error {
	for {
		s, ok, err := p.peek(ctx)
		if err != nil || !ok {
			return err
		}
		if p.pool.Len() > 0 && !p.mayPrecede(s, p.pool.top()) {
			return nil
		}
		p.sources = p.sources[1:]
		if err := p.merge(s); err != nil {
			return err
		}
	}
}

// take pops up to n entries whose place in the order is final.
func (p *eventPage) take(ctx context.Context, n int) ([]keyEntry, error) {
	var out []keyEntry
	for len(out) < n && p.pool.Len() > 0 {
		if len(out) > 0 && len(p.sources) > 0 && p.mayPrecede(p.sources[0], p.pool.top()) {
			break
		}
		if len(out) > 0 && len(p.sources) == 0 && !p.done {
			break // unknown sources may precede: fill again first
		}
		e, err := p.pool.pop(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// merge adds the entries of s that the page can show to the pool.
func (p *eventPage) merge(s keySource) error {
	r, err := newEntryRun(p, s.first, s.entries)
	if err != nil {
		return err
	}
	ok, err := r.next()
	if err != nil || !ok {
		return err
	}
	heap.Push(&p.pool, r)
	return nil
}

// shows reports whether the page can show entry e, and whether entries
// after it (in page order) can still be shown.
func (p *eventPage) shows(e keyEntry) (show, more bool) {
	past, before := e.ts > p.hi, e.ts < p.lo // past the end of the range, before its start
	after := !p.after || e.compare(keyEntry(p.cursor)) > 0
	if p.desc {
		past, before = before, past
		after = !p.after || e.compare(keyEntry(p.cursor)) < 0
	}
	if past {
		return false, false
	}
	return !before && after, true
}

// peek returns the next source, reading a chunk when none is buffered.
func (p *eventPage) peek(ctx context.Context) (keySource, bool, error) {
	if len(p.sources) == 0 && !p.done {
		if err := p.readSources(ctx); err != nil {
			return keySource{}, false, err
		}
	}
	if len(p.sources) == 0 {
		return keySource{}, false, nil
	}
	return p.sources[0], true, nil
}

// readSources reads the next chunk of the key's rows that overlap the time
// range, in the order their events can first appear in the page.
func (p *eventPage) readSources(ctx context.Context) error {
	q, args := p.sourcesQuery()
	rows, err := p.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		var s keySource
		if err := rows.Scan(&s.maxTS, &s.first, &s.minTS, &s.entries); err != nil {
			return err
		}
		p.sources = append(p.sources, s)
		p.next, p.started = s, true
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	p.done = n < p.chunk
	return nil
}

// query runs q, prepared once per connection, in the page's transaction.
func (p *eventPage) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := p.db.readStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return p.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

// sourcesQuery returns the SELECT of readSources. Descending pages read
// the key's rows by their latest event (event_keys_max), ascending ones by
// their earliest (event_keys_min).
func (p *eventPage) sourcesQuery() (string, []any) {
	var q strings.Builder
	q.WriteString("SELECT max_ts, first, min_ts, entries FROM event_keys WHERE kind = ? AND value = ? AND max_ts >= ? AND min_ts <= ?")
	args := []any{p.kind, p.value, p.lo, p.hi}
	switch {
	case p.desc && p.started:
		q.WriteString(" AND (max_ts, first) < (?, ?)")
		args = append(args, p.next.maxTS, p.next.first)
	case p.started:
		q.WriteString(" AND (min_ts, first) > (?, ?)")
		args = append(args, p.next.minTS, p.next.first)
	}
	if p.desc {
		q.WriteString(" ORDER BY max_ts DESC, first DESC")
	} else {
		q.WriteString(" ORDER BY min_ts, first")
	}
	q.WriteString(" LIMIT " + strconv.Itoa(p.chunk))
	return q.String(), args
}

// ridList returns the rids of es as a JSON array, for json_each.
func ridList(es []keyEntry) string {
	b := make([]byte, 0, 16*len(es)+2)
	b = append(b, '[')
	for i, e := range es {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, e.rid, 10)
	}
	return string(append(b, ']'))
}

// fetchEvents reads the rows of the events whose rids a JSON array
// lists: events stored before migration 0010 have one.
const fetchEvents = "SELECT rid, user_name, host_name, action, ingested, body FROM events WHERE rid IN (SELECT value FROM json_each(?))"

// fetch reads the events of batch, in batch order, keeping those that
// match every filter.
func (p *eventPage) fetch(ctx context.Context, batch []keyEntry) ([]pageEvent, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	rows, err := p.query(ctx, fetchEvents, ridList(batch))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	type row struct {
		user, host, action string
		ingested           int64
		body               []byte
	}
	found := make(map[int64]row)
	for rows.Next() {
		var (
			rid int64
			r   row
		)
		if err := rows.Scan(&rid, &r.user, &r.host, &r.action, &r.ingested, &r.body); err != nil {
			return nil, err
		}
		found[rid] = r
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_ = rows.Close()
	// Events stored since migration 0009 are in a chunk: those without a
	// row (since 0010) and those whose row has no body.
	var (
		chunked []keyEntry
		chunks  chunkSet
	)
	defer chunks.release() // Decode copies what it keeps
	for _, e := range batch {
		r, ok := found[e.rid]
		if !ok || len(r.body) == 0 && shows(p.f, r.user, r.host, r.action) {
			chunked = append(chunked, e)
		}
	}
	if len(chunked) > 0 {
		if err := chunks.read(p.query(ctx, chunkOf, ridList(chunked))); err != nil {
			return nil, err
		}
	}
	var out []pageEvent
	for _, e := range batch {
		var (
			body     []byte
			ingested int64
		)
		slot, c := chunks.event(e.rid)
		if r, ok := found[e.rid]; ok {
			if !shows(p.f, r.user, r.host, r.action) {
				continue
			}
			if body, ingested = r.body, r.ingested; len(body) == 0 {
				if slot == nil {
					return nil, fmt.Errorf("%w: stored event %d has no body", errCorrupt, e.rid)
				}
				body = slot.body
			}
		} else {
			// The page's key rows, read in the same transaction, list it.
			if slot == nil || c.format != chunkFormat {
				return nil, fmt.Errorf("%w: stored event %d has no body", errCorrupt, e.rid)
			}
			if !shows(p.f, slot.user, slot.host, slot.action) {
				continue
			}
			body, ingested = slot.body, c.batch.ingested
		}
		ev, err := event.Decode(body)
		if ev == nil {
			// Only a stored body that is not an event at all fails here; a
			// validation problem (rules may have changed since) keeps the
			// event.
			return nil, fmt.Errorf("%w: stored event %d: %w", errCorrupt, e.rid, err)
		}
		if ev.Event.Ingested == nil {
			// The time of ingest is kept beside the body, not in it (which
			// older versions wrote it into).
			t := fromNanos(ingested)
			ev.Event.Ingested = &t
		}
		out = append(out, pageEvent{pos: position(e), e: ev})
	}
	return out, nil
}

// shows reports whether an event with a stored user, host and action
// passes the filters of f ("" passes all).
func shows[T string | []byte](f store.EventFilter, user, host, action T) bool {
	return (f.User == "" || f.User == string(user)) && (f.Host == "" || f.Host == string(host)) &&
		(f.Action == "" || f.Action == string(action))
}

// entryRun reads the entries of one key row in page order, as they are
// needed: the row lists them in time order, so an ascending page reads it
// from the start and a descending one from the end, and neither parses
// more of it than the page takes.
type entryRun struct {
	p      *eventPage
	s      string // the entries column
	binary bool   // s is in the binary format
	first  int64
	// s[i:j] holds the entries not read yet.
	i, j int
	cur  keyEntry // the next entry the page can show
}

// newEntryRun returns a run over the entries column s of the block first,
// for page p (nil to parse the whole column).
func newEntryRun(p *eventPage, first int64, s string) (*entryRun, error) {
	if len(s) > 0 && s[0] == entriesBinary {
		r := &entryRun{p: p, s: s, binary: true, first: first, i: 1, j: len(s)}
		if (len(s)-1)%entrySize != 0 {
			return nil, r.corrupt(len(s) - (len(s)-1)%entrySize)
		}
		return r, nil
	}
	r := &entryRun{p: p, s: s, first: first, i: 1, j: len(s) - 1}
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, r.corrupt(0)
	}
	return r, nil
}

// binaryEntry decodes the binary entry at s[i:], by hand: s is a string,
// and encoding/binary reads only byte slices.
func (r *entryRun) binaryEntry(i int) keyEntry {
	b := r.s[i : i+entrySize]
	off := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	ts := uint64(b[4]) | uint64(b[5])<<8 | uint64(b[6])<<16 | uint64(b[7])<<24 |
		uint64(b[8])<<32 | uint64(b[9])<<40 | uint64(b[10])<<48 | uint64(b[11])<<56
	return keyEntry{ts: int64(ts), rid: r.first + int64(off)}
}

func (r *entryRun) corrupt(at int) error {
	return fmt.Errorf("%w: event_keys entries of block %d: malformed at byte %d", errCorrupt, r.first, at)
}

// next moves head to the next entry the page can show; false when there
// is none.
func (r *entryRun) next() (bool, error) {
	for r.i < r.j {
		var (
			e   keyEntry
			err error
		)
		if r.p.desc {
			e, err = r.last()
		} else {
			e, err = r.firstEntry()
		}
		if err != nil {
			return false, err
		}
		show, more := r.p.shows(e)
		if show {
			r.cur = e
			return true, nil
		}
		if !more {
			break
		}
	}
	r.i = r.j
	return false, nil
}

// firstEntry parses the entry at the start of s[i:j] and removes it.
func (r *entryRun) firstEntry() (keyEntry, error) {
	if r.binary {
		e := r.binaryEntry(r.i)
		r.i += entrySize
		return e, nil
	}
	s, i := r.s, r.i
	if s[i] != '[' {
		return keyEntry{}, r.corrupt(i)
	}
	e, n, ok := parsePair(s[i+1 : r.j])
	if !ok {
		return keyEntry{}, r.corrupt(i)
	}
	i += 1 + n
	if i < r.j {
		if s[i] != ',' || i+1 == r.j {
			return keyEntry{}, r.corrupt(i)
		}
		i++
	}
	r.i = i
	e.rid += r.first
	return e, nil
}

// last parses the entry at the end of s[i:j] and removes it.
func (r *entryRun) last() (keyEntry, error) {
	if r.binary {
		r.j -= entrySize
		return r.binaryEntry(r.j), nil
	}
	s, j := r.s, r.j
	k := strings.LastIndexByte(s[r.i:j], '[')
	if k < 0 {
		return keyEntry{}, r.corrupt(j)
	}
	k += r.i
	e, n, ok := parsePair(s[k+1 : j])
	if !ok || k+1+n != j {
		return keyEntry{}, r.corrupt(k)
	}
	if k > r.i {
		if s[k-1] != ',' || k-1 == r.i {
			return keyEntry{}, r.corrupt(k - 1)
		}
		k--
	}
	r.j = k
	e.rid += r.first
	return e, nil
}

// parsePair parses "off,ts]" at the start of s and returns the entry (its
// rid relative to the block) and the bytes it took.
func parsePair(s string) (keyEntry, int, bool) {
	off, n := parseInt(s)
	if n == 0 || n >= len(s) || s[n] != ',' {
		return keyEntry{}, 0, false
	}
	ts, m := parseInt(s[n+1:])
	end := n + 1 + m
	if m == 0 || end >= len(s) || s[end] != ']' {
		return keyEntry{}, 0, false
	}
	return keyEntry{ts: ts, rid: off}, end + 1, true
}

// run yields entries in page order: the entries of a key row (entryRun)
// or the key's entries of event_key_entries (smallRun).
type run interface {
	// head is the next entry; valid after advance reported one.
	head() keyEntry
	// advance moves to the next entry the page can show; false when none.
	advance(ctx context.Context) (bool, error)
}

func (r *entryRun) head() keyEntry                        { return r.cur }
func (r *entryRun) advance(context.Context) (bool, error) { return r.next() }

// runHeap merges runs: its first run's head is the first entry in page
// order.
type runHeap struct {
	runs []run
	desc bool
}

func (h *runHeap) Len() int { return len(h.runs) }
func (h *runHeap) Less(i, j int) bool {
	c := h.runs[i].head().compare(h.runs[j].head())
	if h.desc {
		return c > 0
	}
	return c < 0
}
func (h *runHeap) Swap(i, j int) { h.runs[i], h.runs[j] = h.runs[j], h.runs[i] }
func (h *runHeap) Push(x any) {
	if r, ok := x.(run); ok {
		h.runs = append(h.runs, r)
	}
}
func (h *runHeap) Pop() any {
	r := h.runs[len(h.runs)-1]
	h.runs = h.runs[:len(h.runs)-1]
	return r
}

// top returns the first entry; the heap must not be empty.
func (h *runHeap) top() keyEntry { return h.runs[0].head() }

// pop removes and returns the first entry.
func (h *runHeap) pop(ctx context.Context) (keyEntry, error) {
	r := h.runs[0]
	e := r.head()
	ok, err := r.advance(ctx)
	switch {
	case err != nil:
		return e, err
	case ok:
		heap.Fix(h, 0)
	default:
		heap.Pop(h)
	}
	return e, nil
}

// smallRun reads a key's entries of event_key_entries, smallChunk at a
// time, in page order.
type smallRun struct {
	p       *eventPage
	buf     []keyEntry
	cur     keyEntry
	from    keyEntry // the page continues after this entry
	started bool
	done    bool
}

// smallChunk is how many event_key_entries rows one read returns.
const smallChunk = 64

func (r *smallRun) head() keyEntry { return r.cur }

func (r *smallRun) advance(ctx context.Context) (bool, error) {
	for {
		if len(r.buf) == 0 && !r.done {
			if err := r.read(ctx); err != nil {
				return false, err
			}
		}
		if len(r.buf) == 0 {
			return false, nil
		}
		e := r.buf[0]
		r.buf = r.buf[1:]
		show, more := r.p.shows(e)
		if show {
			r.cur = e
			return true, nil
		}
		if !more {
			r.buf, r.done = nil, true
		}
	}
}

func (r *smallRun) read(ctx context.Context) error {
	p := r.p
	if !r.started {
		r.started = true
		// From the start of the range, or from the cursor when it is
		// inside the range (shows checks every entry against both).
		r.from = keyEntry{ts: p.lo, rid: math.MinInt64}
		if p.desc {
			r.from = keyEntry{ts: p.hi, rid: math.MaxInt64}
		}
		if p.after && p.cursor.ts >= p.lo && p.cursor.ts <= p.hi {
			r.from = keyEntry(p.cursor)
		}
	}
	q := smallAsc
	bound := p.hi
	if p.desc {
		q, bound = smallDesc, p.lo
	}
	rows, err := p.query(ctx, q, p.kind, p.value, r.from.ts, r.from.rid, bound, smallChunk)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var e keyEntry
		if err := rows.Scan(&e.ts, &e.rid); err != nil {
			return err
		}
		r.buf = append(r.buf, e)
		r.from = e
	}
	if err := rows.Err(); err != nil {
		return err
	}
	r.done = len(r.buf) < smallChunk
	return nil
}

const (
	smallAsc  = "SELECT ts, rid FROM event_key_entries WHERE kind = ? AND value = ? AND (ts, rid) > (?, ?) AND ts <= ? ORDER BY ts, rid LIMIT ?"
	smallDesc = "SELECT ts, rid FROM event_key_entries WHERE kind = ? AND value = ? AND (ts, rid) < (?, ?) AND ts >= ? ORDER BY ts DESC, rid DESC LIMIT ?"
)

// deleteEventsBefore deletes the events older than cutoff in up to
// maxBlocks of the blocks that hold such events, oldest first, and brings
// their key rows up to date. It returns the events it deleted and whether
// blocks with such events may remain.
func (tx *wtx) deleteEventsBefore(cutoff int64, maxBlocks int) (int64, bool, error) {
	rows, err := tx.query(`SELECT max_ts, first, entries FROM event_keys
WHERE kind = 0 AND value = '' AND min_ts < ? ORDER BY min_ts, first LIMIT ?`, cutoff, maxBlocks)
	if err != nil {
		return 0, false, err
	}
	var blocks []keySource
	for rows.Next() {
		var s keySource
		if err := rows.Scan(&s.maxTS, &s.first, &s.entries); err != nil {
			_ = rows.Close()
			return 0, false, classify(err)
		}
		blocks = append(blocks, s)
	}
	if err := rows.Err(); err != nil {
		return 0, false, classify(err)
	}
	var deleted int64
	for _, b := range blocks {
		n, err := tx.deleteBlockEvents(b.first, b.entries, cutoff)
		if err != nil {
			return deleted, false, err
		}
		deleted += n
		if b.maxTS < cutoff {
			if _, err := tx.exec("DELETE FROM event_keys WHERE first = ?", b.first); err != nil {
				return deleted, false, err
			}
			continue
		}
		if err := tx.trimKeys(b.first, cutoff); err != nil {
			return deleted, false, err
		}
	}
	return deleted, len(blocks) == maxBlocks, nil
}

// deleteBlockEvents deletes the events older than cutoff of the block
// first, whose kind 0 entries are all, with their event_ids and
// event_key_entries rows, and returns how many it deleted.
func (tx *wtx) deleteBlockEvents(first int64, all string, cutoff int64) (int64, error) {
	// The entries name the block's rids: after retention emptied the end of
	// the table, SQLite could give later events rids inside an older
	// block's range (before migration 0010).
	es, err := parseEntries(nil, first, all)
	if err != nil {
		return 0, err
	}
	es = slices.DeleteFunc(es, func(e keyEntry) bool { return e.ts >= cutoff })
	type gone struct {
		id   string
		keys [3]string // user, host, action
	}
	evs := make(map[int64]gone, len(es))
	// Events stored before migration 0010 have a row.
	rows, err := tx.query(`DELETE FROM events WHERE rid IN (SELECT value FROM json_each(?))
RETURNING rid, id, user_name, host_name, action`, ridList(es))
	if err != nil {
		return 0, classify(err)
	}
	for rows.Next() {
		var (
			rid int64
			g   gone
		)
		if err := rows.Scan(&rid, &g.id, &g.keys[0], &g.keys[1], &g.keys[2]); err != nil {
			_ = rows.Close()
			return 0, classify(err)
		}
		evs[rid] = g
	}
	if err := rows.Err(); err != nil {
		return 0, classify(err)
	}
	var set chunkSet
	defer set.release()
	if err := set.read(tx.query(chunkOf, ridList(es))); err != nil {
		return 0, err
	}
	for _, e := range es {
		if _, ok := evs[e.rid]; ok {
			continue
		}
		if s, c := set.event(e.rid); s != nil && c.format == chunkFormat {
			evs[e.rid] = gone{id: string(s.id), keys: [3]string{string(s.user), string(s.host), string(s.action)}}
		}
	}
	if err := tx.purgeBodies(&set, es); err != nil {
		return 0, err
	}
	for _, e := range es {
		g, ok := evs[e.rid]
		if !ok {
			continue
		}
		if _, err := tx.exec("DELETE FROM event_ids WHERE id = ?", g.id); err != nil {
			return 0, err
		}
		for i, v := range g.keys {
			if v == "" {
				continue
			}
			if _, err := tx.exec("DELETE FROM event_key_entries WHERE kind = ? AND value = ? AND ts = ? AND rid = ?",
				keyUser+i, v, e.ts, e.rid); err != nil {
				return 0, err
			}
		}
	}
	return int64(len(evs)), nil
}

// trimKeys removes the entries older than cutoff from the key rows of the
// block first.
func (tx *wtx) trimKeys(first, cutoff int64) error {
	rows, err := tx.query("SELECT kind, value, max_ts, entries FROM event_keys WHERE first = ?", first)
	if err != nil {
		return err
	}
	type keyed struct {
		kind    int
		value   string
		maxTS   int64
		entries string
	}
	var ks []keyed
	for rows.Next() {
		var k keyed
		if err := rows.Scan(&k.kind, &k.value, &k.maxTS, &k.entries); err != nil {
			_ = rows.Close()
			return classify(err)
		}
		ks = append(ks, k)
	}
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	var buf []byte
	for _, k := range ks {
		es, err := parseEntries(nil, first, k.entries)
		if err != nil {
			return err
		}
		kept := es[:0]
		for _, e := range es {
			if e.ts >= cutoff {
				kept = append(kept, e)
			}
		}
		if len(kept) == len(es) {
			continue
		}
		if _, err := tx.exec("DELETE FROM event_keys WHERE kind = ? AND value = ? AND max_ts = ? AND first = ?",
			k.kind, k.value, k.maxTS, first); err != nil {
			return err
		}
		if len(kept) > 0 {
			if err := tx.insertKeyRow(first, k.kind, k.value, kept, &buf); err != nil {
				return err
			}
		}
	}
	return nil
}
