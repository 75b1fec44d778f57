package sqlite

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

// modelEvent is an event as the reference model of the events table keeps
// it: in the order it was stored.
type modelEvent struct {
	order              int
	id                 string
	ts                 int64
	user, host, action string
}

// eventModel answers event queries by brute force.
type eventModel struct {
	evs  []modelEvent
	next int // the order of the next event stored
}

func (m *eventModel) add(e *event.Event) {
	m.next++
	me := modelEvent{order: m.next, id: e.Event.ID, ts: nanos(e.Timestamp), action: e.Event.Action}
	if e.User != nil {
		me.user = e.User.Name
	}
	if e.Host != nil {
		me.host = e.Host.Name
	}
	m.evs = append(m.evs, me)
}

func (m *eventModel) has(id string) bool {
	return slices.ContainsFunc(m.evs, func(e modelEvent) bool { return e.id == id })
}

// query returns the ids f selects, in page order.
func (m *eventModel) query(f store.EventFilter) []string {
	var sel []modelEvent
	for _, e := range m.evs {
		switch {
		case f.User != "" && e.user != f.User,
			f.Host != "" && e.host != f.Host,
			f.Action != "" && e.action != f.Action,
			!f.From.IsZero() && e.ts < nanos(f.From),
			!f.To.IsZero() && e.ts >= nanos(f.To):
			continue
		}
		sel = append(sel, e)
	}
	slices.SortFunc(sel, func(a, b modelEvent) int {
		if a.ts != b.ts {
			if a.ts < b.ts {
				return -1
			}
			return 1
		}
		return a.order - b.order
	})
	if f.Descending {
		slices.Reverse(sel)
	}
	ids := make([]string, len(sel))
	for i, e := range sel {
		ids[i] = e.id
	}
	return ids
}

func (m *eventModel) deleteBefore(cutoff int64) int {
	n := len(m.evs)
	m.evs = slices.DeleteFunc(m.evs, func(e modelEvent) bool { return e.ts < cutoff })
	return n - len(m.evs)
}

// TestEventKeysMatchModel stores events in batches of every size, with
// repeated ids, equal times, times out of order and at the ends of the
// range, and checks every listing (each filter and pair of filters, time
// ranges, both orders, pages of several sizes) against a brute-force
// model; then again after retention has cut blocks in two and removed the
// newest events, and after more events were stored.
func TestEventKeysMatchModel(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now, Retention: store.Retention{Events: store.Days(30)}})
	db.retentionChunk = 1 // one block per write
	db.keysChunk = 2      // queries read key rows in many chunks
	rng := rand.New(rand.NewPCG(1, 2))
	base := clk.Now().Add(-60 * 24 * time.Hour)
	times := make([]time.Time, 40) // few distinct times: many ties
	for i := range times {
		times[i] = base.Add(time.Duration(rng.IntN(60*24)) * time.Hour)
	}
	times[0] = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	times[1] = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

	m := &eventModel{}
	gen := 0
	var stored []*event.Event
	appendBatch := func(agent string, seq int64, n int) {
		t.Helper()
		gen++
		evs := genEvents(int64(100+gen), n)
		for _, e := range evs {
			e.Timestamp = times[rng.IntN(len(times))]
		}
		// Some events again: already stored, or twice in this batch.
		if len(stored) > 0 && rng.IntN(3) == 0 {
			evs = append(evs, stored[rng.IntN(len(stored))])
		}
		if n > 1 && rng.IntN(3) == 0 {
			evs = append(evs, evs[0])
		}
		want := 0
		for _, e := range evs {
			if !m.has(e.Event.ID) {
				m.add(e)
				stored = append(stored, e)
				want++
			}
		}
		res, err := db.Events().Append(ctx, agent, seq, evs)
		require.NoError(t, err)
		require.Equal(t, want, res.Stored)
		require.Equal(t, len(evs)-want, res.Duplicates)
	}
	for i, n := range []int{1, 2, 37, 120, 3, 64, 51, 200, 9} {
		appendBatch("agent-"+strconv.Itoa(i%3), int64(i+1), n)
	}
	// Every other key row as a store before migration 0008 wrote it:
	// queries and retention read both formats side by side.
	require.Positive(t, toJSONEntries(t, db, 2))
	checkKeys(t, db)
	checkBodies(t, db)
	checkQueries(t, db, m, rng)

	// Retention: the cutoff falls inside most blocks.
	res, err := db.RunRetention(ctx)
	require.NoError(t, err)
	require.Equal(t, m.deleteBefore(nanos(clk.Now().Add(-store.Days(30)))), int(res.Events))
	require.NotZero(t, res.Events)
	checkKeys(t, db)
	checkBodies(t, db)
	checkQueries(t, db, m, rng)

	// Old events stored last, then removed: the newest rids are gone, and
	// the next events do not take them again (before migration 0010,
	// SQLite gave them rids that an older block spanned; see
	// TestEventIDsMigration).
	old := genEvents(999, 30)
	for _, e := range old {
		e.Timestamp = base.Add(-time.Hour)
	}
	_, err = db.Events().Append(ctx, "late", 1, old)
	require.NoError(t, err)
	var next int64
	require.NoError(t, db.readers.QueryRow("SELECT next FROM event_rid").Scan(&next))
	res, err = db.RunRetention(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 30, res.Events)
	for i := range 4 {
		appendBatch("agent-after", int64(i+1), 25)
	}
	var newest int64
	require.NoError(t, db.readers.QueryRow("SELECT rid FROM event_ids WHERE id = ?", stored[len(stored)-1].Event.ID).Scan(&newest))
	require.GreaterOrEqual(t, newest, next+4*25-1, "a rid given again")
	checkKeys(t, db)
	checkBodies(t, db)
	checkQueries(t, db, m, rng)
}

// checkQueries compares listings with the model.
func checkQueries(t *testing.T, db *DB, m *eventModel, rng *rand.Rand) {
	t.Helper()
	pick := func(field func(modelEvent) string) string {
		if len(m.evs) == 0 {
			return "nobody"
		}
		return field(m.evs[rng.IntN(len(m.evs))])
	}
	user := pick(func(e modelEvent) string { return e.user })
	host := pick(func(e modelEvent) string { return e.host })
	action := pick(func(e modelEvent) string { return e.action })
	var mid time.Time
	if len(m.evs) > 0 {
		mid = time.Unix(0, m.evs[len(m.evs)/2].ts)
	}
	ranges := [][2]time.Time{{}, {mid, time.Time{}}, {time.Time{}, mid}, {mid.Add(-72 * time.Hour), mid.Add(72 * time.Hour)}, {mid, mid}}
	filters := []store.EventFilter{{}, {User: user}, {Host: host}, {Action: action}, {User: user, Action: action}, {Host: host, User: user}, {User: "nobody"}}
	for _, f := range filters {
		for _, r := range ranges {
			for _, desc := range []bool{false, true} {
				limits := []int{13, 100}
				if f.Host == "" && f.Action == "" && r == ranges[0] {
					limits = append(limits, 1) // a page per event: slow, so not everywhere
				}
				for _, limit := range limits {
					f := f
					f.From, f.To, f.Descending, f.Limit = r[0], r[1], desc, limit
					want := m.query(f)
					var got []string
					for _, e := range queryAll(t, db, f) {
						got = append(got, e.Event.ID)
					}
					if !slices.Equal(want, orEmpty(got)) {
						for i := range min(len(want), len(got)) {
							if want[i] != got[i] {
								ts := func(id string) (int64, int) {
									for _, e := range m.evs {
										if e.id == id {
											return e.ts, e.order
										}
									}
									return 0, -1
								}
								w1, w2 := ts(want[i])
								g1, g2 := ts(got[i])
								t.Logf("first difference at %d of %d/%d: want %s ts %d order %d, got %s ts %d order %d", i, len(want), len(got), want[i], w1, w2, got[i], g1, g2)
								break
							}
						}
					}
					require.Equal(t, want, orEmpty(got), "%+v", f)
				}
			}
		}
	}
}

func orEmpty(s []string) []string {
	if len(s) == 0 {
		return []string{}
	}
	return s
}

// checkKeys checks event_keys and event_key_entries against the stored
// events: every event is in exactly one block, listed once under every key
// it has (in a row or an entry) with its time, and every entry names a
// stored event; each row's bounds are its entries'.
func checkKeys(t *testing.T, db *DB) {
	t.Helper()
	events := map[int64][3]string{}
	times := map[int64]int64{}
	stored, _ := loadEvents(t, db)
	for rid, e := range stored {
		events[rid], times[rid] = [3]string{e.user, e.host, e.action}, e.ts
	}

	listed := map[[3]string]int{} // kind, value, rid as text
	rows, err := db.readers.Query("SELECT kind, value, max_ts, first, min_ts, entries FROM event_keys")
	require.NoError(t, err)
	for rows.Next() {
		var kind int
		var value, entries string
		var maxTS, first, minTS int64
		require.NoError(t, rows.Scan(&kind, &value, &maxTS, &first, &minTS, &entries))
		es, err := parseEntries(nil, first, entries)
		require.NoError(t, err)
		require.NotEmpty(t, es)
		require.True(t, slices.IsSortedFunc(es, keyEntry.compare), "entries in time order")
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for _, e := range es {
			k, ok := events[e.rid]
			require.True(t, ok, "kind %d %q lists rid %d, not stored", kind, value, e.rid)
			require.Equal(t, times[e.rid], e.ts)
			if kind != keyAll {
				require.Equal(t, value, k[kind-1])
			}
			listed[[3]string{strconv.Itoa(kind), value, strconv.FormatInt(e.rid, 10)}]++
			lo, hi = min(lo, e.ts), max(hi, e.ts)
		}
		require.Equal(t, lo, minTS)
		require.Equal(t, hi, maxTS)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	rows, err = db.readers.Query("SELECT kind, value, ts, rid FROM event_key_entries")
	require.NoError(t, err)
	for rows.Next() {
		var kind int
		var value string
		var ts, rid int64
		require.NoError(t, rows.Scan(&kind, &value, &ts, &rid))
		k, ok := events[rid]
		require.True(t, ok, "event_key_entries lists rid %d, not stored", rid)
		require.Equal(t, times[rid], ts)
		require.NotEqual(t, keyAll, kind)
		require.Equal(t, value, k[kind-1])
		listed[[3]string{strconv.Itoa(kind), value, strconv.FormatInt(rid, 10)}]++
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	for rid, k := range events {
		r := strconv.FormatInt(rid, 10)
		require.Equal(t, 1, listed[[3]string{"0", "", r}], "rid %d in one block", rid)
		for kind, v := range k {
			if v != "" {
				require.Equal(t, 1, listed[[3]string{strconv.Itoa(kind + 1), v, r}], "rid %d under %q", rid, v)
			}
		}
	}
}

// toJSONEntries rewrites the entries of every nth event_keys row in the
// JSON format of the stores before migration 0008, and returns how many
// rows it rewrote.
func toJSONEntries(t *testing.T, db *DB, nth int) int {
	t.Helper()
	rows, err := db.readers.Query("SELECT rowid, first, entries FROM event_keys WHERE rowid % ? = 0", nth)
	require.NoError(t, err)
	type row struct {
		rowid, first int64
		entries      string
	}
	var rs []row
	for rows.Next() {
		var r row
		require.NoError(t, rows.Scan(&r.rowid, &r.first, &r.entries))
		rs = append(rs, r)
	}
	require.NoError(t, rows.Err())
	for _, r := range rs {
		require.Equal(t, byte(entriesBinary), r.entries[0], "new rows are binary")
		es, err := parseEntries(nil, r.first, r.entries)
		require.NoError(t, err)
		require.NoError(t, db.write(t.Context(), 1, func(tx *wtx) error {
			_, err := tx.exec("UPDATE event_keys SET entries = ? WHERE rowid = ?", string(appendEntriesJSON(nil, r.first, es)), r.rowid)
			return err
		}))
	}
	return len(rs)
}

func orNil(es []keyEntry) []keyEntry {
	if len(es) == 0 {
		return nil
	}
	return es
}

func TestEntriesRoundTrip(t *testing.T) {
	es := []keyEntry{{ts: math.MinInt64, rid: 7}, {ts: 0, rid: 8}, {ts: -5, rid: 12}, {ts: math.MaxInt64, rid: 900}}

	// The JSON format of the rows before migration 0008.
	s := string(appendEntriesJSON(nil, 7, es))
	require.Equal(t, "[[0,-9223372036854775808],[1,0],[5,-5],[893,9223372036854775807]]", s)
	got, err := parseEntries(nil, 7, s)
	require.NoError(t, err)
	require.Equal(t, es, got)
	got, err = parseEntries(nil, 3, "[]")
	require.NoError(t, err)
	require.Empty(t, got)
	for _, bad := range []string{"", "[", "[[0,1]", "[[0,1],]", "[[0,1][1,2]]", "[[0]]", "[[0,1,2]]", "[[a,1]]",
		"[[0,99999999999999999999]]", "[[0,1]]x", " [[0,1]]", "[[0, 1]]", "[[-,1]]", "[,[0,1]]"} {
		_, err := parseEntries(nil, 0, bad)
		require.ErrorIs(t, err, errCorrupt, "%q", bad)
	}

	// The binary format: a tag, then 12 bytes an entry.
	s = string(appendEntries(nil, 7, es))
	require.Equal(t, "\x01"+
		"\x00\x00\x00\x00"+"\x00\x00\x00\x00\x00\x00\x00\x80"+
		"\x01\x00\x00\x00"+"\x00\x00\x00\x00\x00\x00\x00\x00"+
		"\x05\x00\x00\x00"+"\xfb\xff\xff\xff\xff\xff\xff\xff"+
		"\x7d\x03\x00\x00"+"\xff\xff\xff\xff\xff\xff\xff\x7f", s)
	got, err = parseEntries(nil, 7, s)
	require.NoError(t, err)
	require.Equal(t, es, got)
	got, err = parseEntries(nil, 3, string(appendEntries(nil, 3, nil)))
	require.NoError(t, err)
	require.Empty(t, got)
	for _, bad := range []string{"\x01\x00", "\x01" + strings.Repeat("\x00", 13), "\x02" + strings.Repeat("\x00", 12)} {
		_, err := parseEntries(nil, 0, bad)
		require.ErrorIs(t, err, errCorrupt, "%q", bad)
	}

	// Offsets past 32 bits, which one Append cannot store, keep the row in
	// JSON.
	wide := []keyEntry{{ts: 1, rid: 10}, {ts: 2, rid: 10 + math.MaxUint32 + 1}}
	s = string(appendEntries(nil, 10, wide))
	require.Equal(t, "[[0,1],[4294967296,2]]", s)
	got, err = parseEntries(nil, 10, s)
	require.NoError(t, err)
	require.Equal(t, wide, got)
	require.Equal(t, "[[0,1],[-1,2]]", string(appendEntries(nil, 10, []keyEntry{{ts: 1, rid: 10}, {ts: 2, rid: 9}})))
}

// FuzzParseEntries feeds arbitrary bytes to the parser: it must not panic,
// what it accepts must encode, in either format, to bytes that parse the
// same, and read from the end it must give the same entries in reverse.
func FuzzParseEntries(f *testing.F) {
	f.Add(int64(0), "[[0,1],[1,-2]]")
	f.Add(int64(5), "[]")
	f.Add(int64(-1), "[[9223372036854775807,-9223372036854775808]]")
	f.Add(int64(3), string(appendEntries(nil, 3, []keyEntry{{ts: -1, rid: 3}, {ts: 5, rid: 90}})))
	f.Add(int64(0), "\x01")
	f.Fuzz(func(t *testing.T, first int64, s string) {
		es, err := parseEntries(nil, first, s)
		if err != nil {
			return
		}
		for _, enc := range []func([]byte, int64, []keyEntry) []byte{appendEntries, appendEntriesJSON} {
			again, err := parseEntries(nil, first, string(enc(nil, first, es)))
			require.NoError(t, err)
			require.Equal(t, orNil(es), orNil(again))
		}
		// Read from the end, as a descending page does, the same entries
		// come in reverse.
		r, err := newEntryRun(nil, first, s)
		require.NoError(t, err)
		var back []keyEntry
		for r.i < r.j {
			e, err := r.last()
			require.NoError(t, err)
			back = append(back, e)
		}
		slices.Reverse(back)
		require.Equal(t, orNil(es), orNil(back))
	})
}
