package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

func TestOpenConfiguresDatabase(t *testing.T) {
	db, _ := openTest(t, Options{})
	ms, err := loadMigrations(embeddedMigrations())
	require.NoError(t, err)

	var version int
	require.NoError(t, db.readers.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&version))
	require.Equal(t, ms[len(ms)-1].version, version)
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"auto_vacuum":  "2", // incremental
		"busy_timeout": "5000",
		"query_only":   "1", // readers
		"synchronous":  "1", // normal
	} {
		var got string
		require.NoError(t, db.readers.QueryRow("PRAGMA "+pragma).Scan(&got), pragma)
		require.Equal(t, want, got, pragma)
	}
	for _, table := range []string{"events", "agents", "agent_registry", "decisions", "alerts", "alert_history", "evidence", "bundles", "users", "audit", "tokens"} {
		require.Zero(t, count(t, db, table), table)
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	for _, path := range []string{"", ":memory:", "file:x.db", filepath.Join(dir, "a?b.db")} {
		_, err := Open(ctx, path, Options{})
		require.ErrorIs(t, err, store.ErrInvalid, path)
	}
	for name, o := range map[string]Options{
		"synchronous": {Synchronous: "off"},
		"max size":    {MaxSizeBytes: -1},
		"retention":   {Retention: store.Retention{Events: -time.Hour}},
	} {
		_, err := Open(ctx, filepath.Join(dir, "x.db"), o)
		require.ErrorIs(t, err, store.ErrInvalid, name)
	}

	junk := filepath.Join(dir, "junk.db")
	require.NoError(t, os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o600))
	_, err := Open(ctx, junk, Options{})
	require.ErrorContains(t, err, "not a vigil database")

	_, err = Open(ctx, filepath.Join(dir, "missing", "dir", "x.db"), Options{})
	require.Error(t, err)
}

// migrationsUpTo returns the embedded migrations up to version n.
func migrationsUpTo(t *testing.T, n int) fstest.MapFS {
	t.Helper()
	ms, err := loadMigrations(embeddedMigrations())
	require.NoError(t, err)
	fsys := fstest.MapFS{}
	for _, m := range ms[:n] {
		fsys[filepathName(m)] = &fstest.MapFile{Data: []byte(m.sql)}
	}
	return fsys
}

func filepathName(m migration) string {
	return fmt.Sprintf("%04d_%s.sql", m.version, m.name)
}

func TestMigrateOldDatabase(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := Open(ctx, path, Options{migrations: migrationsUpTo(t, 1)})
	require.NoError(t, err)
	evs := genEvents(1, 20)
	appendBeforeEventKeys(t, old, "agent-1", 7, evs)
	// Later tables do not exist yet.
	_, _, err = old.Alerts().List(ctx, store.AlertFilter{})
	require.ErrorContains(t, err, "no such table")
	require.NoError(t, old.Close())

	// A read-only open cannot migrate.
	_, err = Open(ctx, path, Options{ReadOnly: true})
	require.ErrorIs(t, err, store.ErrReadOnly)

	db := openAt(t, path, Options{})
	var versions []int
	rows, err := db.readers.Query("SELECT version FROM schema_migrations ORDER BY version")
	require.NoError(t, err)
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		versions = append(versions, v)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	shipped, err := loadMigrations(embeddedMigrations())
	require.NoError(t, err)
	want := make([]int, len(shipped))
	for i, m := range shipped {
		want[i] = m.version
	}
	require.Equal(t, want, versions)
	require.Len(t, queryAll(t, db, store.EventFilter{}), 20)
	// Migration 0007 indexed the old events by key.
	for _, f := range []store.EventFilter{
		{User: evs[3].User.Name}, {Host: evs[3].Host.Name}, {Action: evs[3].Event.Action},
		{User: evs[3].User.Name, Action: evs[3].Event.Action, Descending: true},
	} {
		want := 0
		for _, e := range evs {
			if (f.User == "" || e.User.Name == f.User) && (f.Host == "" || e.Host.Name == f.Host) &&
				(f.Action == "" || e.Event.Action == f.Action) {
				want++
			}
		}
		require.Len(t, queryAll(t, db, f), want, "%+v", f)
	}
	seq, err := db.Events().LastSeq(ctx, "agent-1")
	require.NoError(t, err)
	require.EqualValues(t, 7, seq)
	_, _, err = db.Alerts().Create(ctx, decision("d1", time.Now(), "jdoe"))
	require.NoError(t, err)
}

// appendBeforeEventKeys stores evs as Append did before migration 0007,
// in a database at an earlier version.
func appendBeforeEventKeys(t *testing.T, db *DB, agentID string, seq int64, evs []*event.Event) {
	t.Helper()
	require.NoError(t, db.writer.submit(t.Context(), len(evs), false, func(tx *wtx) error {
		for _, e := range evs {
			body, err := event.Encode(e)
			if err != nil {
				return err
			}
			if _, err := tx.exec(`INSERT INTO events (id, ts, ingested, agent_id, seq, action, user_name, host_name, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Event.ID, e.Timestamp.UnixNano(), e.Timestamp.UnixNano(), agentID, seq,
				e.Event.Action, e.User.Name, e.Host.Name, body); err != nil {
				return err
			}
		}
		_, err := tx.exec("INSERT INTO agents (agent_id, last_seq, last_seen) VALUES (?, ?, 0)", agentID, seq)
		return err
	}))
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	ctx := t.Context()
	db, path := openTest(t, Options{})
	require.NoError(t, db.Close())
	raw := rawDB(t, path)
	_, err := raw.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'from_the_future', 0)")
	require.NoError(t, err)
	require.NoError(t, raw.Close())
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	for _, ro := range []bool{false, true} {
		_, err = Open(ctx, path, Options{ReadOnly: ro})
		require.ErrorIs(t, err, store.ErrSchemaTooNew)
		require.ErrorContains(t, err, "version 99")
	}
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(before, after), "a refused database is left as it was")
}

func TestMigrationIsAtomic(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "m.db")
	shipped, err := loadMigrations(embeddedMigrations())
	require.NoError(t, err)
	last := len(shipped)
	next := fmt.Sprintf("%04d_broken.sql", last+1)
	fsys := migrationsUpTo(t, last)
	fsys[next] = &fstest.MapFile{Data: []byte(`
CREATE TABLE half_done (x INTEGER);
ALTER TABLE events ADD COLUMN note TEXT;
INSERT INTO no_such_table VALUES (1);`)}
	_, err = Open(ctx, path, Options{migrations: fsys})
	require.ErrorContains(t, err, fmt.Sprintf("migrate schema to version %d (broken)", last+1))

	db := openAt(t, path, Options{}) // the real migrations: the last real version is current
	var n int
	require.NoError(t, db.readers.QueryRow("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'half_done'").Scan(&n))
	require.Zero(t, n)
	require.NoError(t, db.readers.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&n))
	require.Equal(t, last, n)
	_, err = db.readers.Exec("SELECT note FROM events")
	require.Error(t, err)
	require.NoError(t, db.Close())

	// A good next version applies on top, in order.
	fsys[next] = &fstest.MapFile{Data: []byte(`ALTER TABLE events ADD COLUMN note TEXT NOT NULL DEFAULT '';`)}
	db2 := openAt(t, path, Options{migrations: fsys})
	require.NoError(t, db2.readers.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&n))
	require.Equal(t, last+1, n)
	_, err = db2.readers.Exec("SELECT note FROM events")
	require.NoError(t, err)
}

func TestLoadMigrationsValidates(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":      {"0001_a.sql": {}, "0003_c.sql": {}},
		"bad name": {"0001_a.sql": {}, "second.sql": {}},
		"zero":     {"0000_a.sql": {}},
		"empty":    {},
	} {
		_, err := loadMigrations(fsys)
		require.Error(t, err, name)
	}
	ms, err := loadMigrations(fstest.MapFS{"0002_b.sql": {}, "0001_a.sql": {}})
	require.NoError(t, err)
	require.Equal(t, "a", ms[0].name)
}

func TestReadOnly(t *testing.T) {
	ctx := t.Context()
	db, path := openTest(t, Options{})
	_, err := db.Events().Append(ctx, "a", 1, genEvents(1, 5))
	require.NoError(t, err)
	require.NoError(t, db.Close())

	ro := openAt(t, path, Options{ReadOnly: true})
	require.Len(t, queryAll(t, ro, store.EventFilter{}), 5)
	_, err = ro.Events().Append(ctx, "a", 2, genEvents(2, 5))
	require.ErrorIs(t, err, store.ErrReadOnly)
	_, err = ro.Audit().Append(ctx, store.AuditEntry{Actor: "a", Action: "b"})
	require.ErrorIs(t, err, store.ErrReadOnly)
	_, err = ro.RunRetention(ctx)
	require.ErrorIs(t, err, store.ErrReadOnly)
	runCtx, cancel := context.WithCancel(ctx)
	cancel()
	require.NoError(t, ro.Run(runCtx))
	_, err = ro.readers.Exec("DELETE FROM events")
	require.Error(t, err, "reader connections are query-only")

	missing := filepath.Join(t.TempDir(), "new.db")
	_, err = Open(ctx, missing, Options{ReadOnly: true})
	require.ErrorIs(t, err, os.ErrNotExist, "a read-only store cannot create a database")
	_, err = os.Stat(missing)
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestReadOnlyFile opens a database file the process cannot write: Open
// must say so rather than fail on the first write.
func TestReadOnlyFile(t *testing.T) {
	ctx := t.Context()
	db, path := openTest(t, Options{})
	require.NoError(t, db.Close())
	if os.Geteuid() == 0 {
		// Permissions do not stop root; an immutable file does.
		if err := exec.Command("chattr", "+i", path).Run(); err != nil {
			t.Skipf("running as root and cannot make the file immutable: %v", err)
		}
		t.Cleanup(func() { _ = exec.Command("chattr", "-i", path).Run() })
	} else {
		require.NoError(t, os.Chmod(path, 0o444))
	}
	_, err := Open(ctx, path, Options{})
	require.ErrorIs(t, err, store.ErrReadOnly)
	require.ErrorContains(t, err, "readonly")

	ro := openAt(t, path, Options{ReadOnly: true})
	_, _, err = ro.Events().Query(ctx, store.EventFilter{})
	require.NoError(t, err)
}

// TestFullDisk fills the store to its size cap: the write that does not
// fit fails with ErrFull, everything acknowledged before it is kept, and
// once there is room the same batch goes in.
func TestFullDisk(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "full.db")
	db, err := Open(ctx, path, Options{MaxSizeBytes: 1 << 20})
	require.NoError(t, err)

	var (
		acked   int
		lastSeq int64
		failed  []int64
		failErr error
	)
	for seq := int64(1); seq <= 200; seq++ {
		res, err := db.Events().Append(ctx, "agent-1", seq, genEvents(seq, 50))
		if err != nil {
			failed, failErr = append(failed, seq), err
			break
		}
		acked += res.Stored
		lastSeq = seq
	}
	require.ErrorIs(t, failErr, store.ErrFull)
	require.ErrorContains(t, failErr, "full")
	require.Positive(t, acked)

	// Other writes fail the same way and change nothing; reads go on.
	_, err = db.Events().Append(ctx, "agent-1", failed[0], genEvents(failed[0], 50))
	require.ErrorIs(t, err, store.ErrFull)
	seq, err := db.Events().LastSeq(ctx, "agent-1")
	require.NoError(t, err)
	require.Equal(t, lastSeq, seq)
	require.Len(t, queryAll(t, db, store.EventFilter{Limit: store.MaxLimit}), acked)
	require.NoError(t, db.Close())

	db = openAt(t, path, Options{})
	require.Len(t, queryAll(t, db, store.EventFilter{Limit: store.MaxLimit}), acked)
	res, err := db.Events().Append(ctx, "agent-1", failed[0], genEvents(failed[0], 50))
	require.NoError(t, err)
	require.Equal(t, 50, res.Stored)
}

func TestRetention(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now, Retention: store.Retention{
		Events: store.Days(30), Decisions: store.Days(60), Evidence: store.Days(90), Audit: store.Days(365),
	}})
	db.retentionChunk = 7 // several transactions per kind
	now := clk.Now()
	age := func(days int) time.Time { return now.Add(-store.Days(days)) }

	evs := genEvents(1, 40)
	for i, e := range evs {
		e.Timestamp = age(10 + i) // 10..49 days old: 19 of them older than 30
	}
	_, err := db.Events().Append(ctx, "a", 1, evs)
	require.NoError(t, err)
	for i := range 20 {
		d := decision(strconv.Itoa(i), age(i*5), "jdoe") // 0..95 days: 7 older than 60
		require.NoError(t, db.Decisions().Put(ctx, d))
		_, _, err := db.Alerts().Create(ctx, d)
		require.NoError(t, err)
		require.NoError(t, db.Evidence().Add(ctx, store.EvidenceRecord{PackageID: "p" + strconv.Itoa(i), AlertID: "a", Created: age(i * 10)})) // 0..190: 10 older than 90
		_, err = db.Audit().Append(ctx, store.AuditEntry{Time: age(i * 40), Actor: "x", Action: "y"})                                          // 0..760: 10 older than 365
		require.NoError(t, err)
	}

	res, err := db.RunRetention(ctx)
	require.NoError(t, err)
	require.Equal(t, store.RetentionResult{Events: 19, Decisions: 7, Evidence: 10, Audit: 10}, res)
	require.Equal(t, 21, count(t, db, "event_ids"))
	require.Equal(t, 13, count(t, db, "decisions"))
	require.Equal(t, 10, count(t, db, "evidence"))
	require.Equal(t, 10, count(t, db, "audit"))
	require.Equal(t, 20, count(t, db, "alerts"), "alerts are kept")
	var orphans, free, cutoff int64
	require.NoError(t, db.readers.QueryRow("SELECT COUNT(*) FROM decision_rules WHERE decision_rid NOT IN (SELECT rid FROM decisions)").Scan(&orphans))
	require.Zero(t, orphans)
	require.NoError(t, db.readers.QueryRow("PRAGMA freelist_count").Scan(&free))
	require.Zero(t, free, "freed pages go back to the file system")
	require.NoError(t, db.readers.QueryRow("SELECT cutoff FROM audit_retention").Scan(&cutoff))
	require.Less(t, cutoff, int64(0), "the audit delete guard is closed again")
	for _, e := range queryAll(t, db, store.EventFilter{}) {
		require.False(t, e.Timestamp.Before(age(30)))
	}

	res, err = db.RunRetention(ctx)
	require.NoError(t, err)
	require.Zero(t, res)
}

func TestRunLoop(t *testing.T) {
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now, RetentionInterval: 5 * time.Millisecond, Retention: store.Retention{Events: time.Hour}})
	evs := genEvents(1, 10)
	for _, e := range evs {
		e.Timestamp = clk.Now()
	}
	_, err := db.Events().Append(t.Context(), "a", 1, evs)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, 10, count(t, db, "event_ids"))
	clk.Add(2 * time.Hour)
	require.Eventually(t, func() bool { return count(t, db, "event_ids") == 0 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	// Run stops when the store closes.
	go func() { done <- db.Run(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, db.Close())
	require.ErrorIs(t, <-done, store.ErrClosed)
}

// gather returns the value of every counter and gauge of reg by name.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				out[mf.GetName()] += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[mf.GetName()] += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[mf.GetName()] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	ctx := t.Context()
	reg := prometheus.NewRegistry()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := Open(ctx, path, Options{Registerer: reg})
	require.NoError(t, err)
	evs := genEvents(1, 10)
	_, err = db.Events().Append(ctx, "a", 1, evs)
	require.NoError(t, err)
	_, err = db.Events().Append(ctx, "a", 2, evs)
	require.NoError(t, err)
	got := gather(t, reg)
	require.InDelta(t, 10, got["vigil_store_events_stored_total"], 0)
	require.InDelta(t, 10, got["vigil_store_events_duplicate_total"], 0)
	require.InDelta(t, 2, got["vigil_store_commits_total"], 0)
	require.InDelta(t, 2, got["vigil_store_commit_seconds"], 0)
	require.InDelta(t, 2, got["vigil_store_writes_total"], 0)
	require.Contains(t, got, "vigil_store_write_queue_length")

	_, err = Open(ctx, filepath.Join(t.TempDir(), "other.db"), Options{Registerer: reg})
	var already prometheus.AlreadyRegisteredError
	require.True(t, errors.As(err, &already), "%v", err)

	require.NoError(t, db.Close())
	require.Empty(t, gather(t, reg), "Close unregisters")
}

// TestArrivalOrderMigrationKeepsTimeOrder opens a database whose events
// were stored clustered by event time (before migration 0006: the rowid
// was the event's millisecond << 20 plus a slot), migrates it, appends
// events whose times fall between and before the old ones, and checks
// that every listing still comes in event time order, on every page, in
// both directions and through each filter index.
func TestArrivalOrderMigrationKeepsTimeOrder(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := Open(ctx, path, Options{migrations: migrationsUpTo(t, 5)})
	require.NoError(t, err)
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	oldEvents := genEvents(1, 30)
	for i, e := range oldEvents {
		e.Timestamp = base.Add(time.Duration(2*i) * time.Second) // even seconds
		body, err := event.Encode(e)
		require.NoError(t, err)
		ms := e.Timestamp.UnixMilli()
		require.NoError(t, old.writer.submit(ctx, 1, false, func(tx *wtx) error {
			_, err := tx.exec(`INSERT INTO events (rid, id, ts, ingested, agent_id, seq, action, user_name, host_name, body)
VALUES (?, ?, ?, ?, 'old-agent', 1, ?, ?, ?, ?)`, ms<<20|int64(i), e.Event.ID, e.Timestamp.UnixNano(), e.Timestamp.UnixNano(),
				e.Event.Action, e.User.Name, e.Host.Name, body)
			return err
		}))
	}
	require.NoError(t, old.Close())

	db := openAt(t, path, Options{})
	newEvents := genEvents(2, 31)
	for i, e := range newEvents {
		e.Timestamp = base.Add(time.Duration(2*i-1) * time.Second) // odd seconds, one before the first old event
	}
	res, err := db.Events().Append(ctx, "new-agent", 1, newEvents)
	require.NoError(t, err)
	require.Equal(t, 31, res.Stored)
	checkBodies(t, db) // the old events keep their bodies in their rows

	inOrder := func(evs []*event.Event, desc bool) {
		t.Helper()
		for i := 1; i < len(evs); i++ {
			a, b := evs[i-1].Timestamp, evs[i].Timestamp
			if desc {
				a, b = b, a
			}
			require.True(t, a.Before(b), "%d: %v then %v", i, evs[i-1].Timestamp, evs[i].Timestamp)
		}
	}
	for _, desc := range []bool{false, true} {
		all := queryAll(t, db, store.EventFilter{Limit: 7, Descending: desc})
		require.Len(t, all, 61)
		inOrder(all, desc)
		if desc {
			require.Equal(t, newEvents[30].Event.ID, all[0].Event.ID)
		} else {
			require.Equal(t, newEvents[0].Event.ID, all[0].Event.ID)
		}
		window := queryAll(t, db, store.EventFilter{From: base.Add(10 * time.Second), To: base.Add(20 * time.Second), Limit: 3, Descending: desc})
		require.Len(t, window, 10)
		inOrder(window, desc)
	}
	user := oldEvents[0].User.Name
	want := 0
	for _, e := range append(append([]*event.Event{}, oldEvents...), newEvents...) {
		if e.User.Name == user {
			want++
		}
	}
	got := queryAll(t, db, store.EventFilter{User: user, Limit: 2})
	require.Len(t, got, want)
	inOrder(got, false)
	for _, e := range got {
		require.Equal(t, user, e.User.Name)
	}

	// Each listing reads the key rows of its filter through an index, in
	// order, without a sort, on the first chunk and after one.
	for _, c := range []struct {
		kind  int
		value string
	}{{keyAll, ""}, {keyUser, user}, {keyHost, "h"}, {keyAction, "file-read"}} {
		for _, desc := range []bool{false, true} {
			for _, started := range []bool{false, true} {
				p := eventPage{chunk: 32, kind: c.kind, value: c.value, lo: nanos(base), hi: math.MaxInt64, desc: desc,
					started: started, next: keySource{maxTS: 5, first: 6, minTS: 4}}
				index := "event_keys_min"
				if desc {
					index = "event_keys_max"
				}
				q, args := p.sourcesQuery()
				rows, err := db.readers.Query("EXPLAIN QUERY PLAN "+q, args...)
				require.NoError(t, err)
				var plan string
				for rows.Next() {
					var id, parent, unused int
					var detail string
					require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
					plan += detail + "; "
				}
				require.NoError(t, rows.Err())
				require.NoError(t, rows.Close())
				require.Contains(t, plan, index, "%+v", p)
				require.NotContains(t, plan, "TEMP B-TREE", "%+v: no sort", p)
			}
		}
	}
}

// appendAtVersion9 stores evs as Append did at schema version 9, one
// events row each: with the body in the row when inRow is set (as before
// migration 0009), else with an empty body and the bodies in chunks of
// format 1.
func appendAtVersion9(t *testing.T, db *DB, agentID string, seq int64, ingested time.Time, inRow bool, evs []*event.Event) {
	t.Helper()
	require.NoError(t, db.writer.submit(t.Context(), len(evs), false, func(tx *wtx) error {
		keyed := make([]keyedEvent, len(evs))
		rows := make([]encodedEvent, len(evs))
		for i, e := range evs {
			body, err := event.Encode(e)
			if err != nil {
				return err
			}
			rows[i] = encodedEvent{id: e.Event.ID, user: e.User.Name, host: e.Host.Name, action: e.Event.Action, ts: nanos(e.Timestamp), body: body}
			rowBody := body
			if !inRow {
				rowBody = []byte{}
			}
			res, err := tx.exec(`INSERT INTO events (id, ts, ingested, agent_id, seq, action, user_name, host_name, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Event.ID, nanos(e.Timestamp), nanos(ingested), agentID, seq,
				e.Event.Action, e.User.Name, e.Host.Name, rowBody)
			if err != nil {
				return err
			}
			rid, err := res.LastInsertId()
			if err != nil {
				return err
			}
			keyed[i] = keyedEvent{rid: rid, row: &rows[i], index: i}
		}
		if !inRow {
			var w chunkWriter
			for start := 0; start < len(rows); start += chunkEvents {
				end := min(start+chunkEvents, len(rows))
				if _, err := tx.exec(insertChunk, keyed[start].rid, w.encode(chunkBodiesOnly, batchInfo{}, rows[start:end])); err != nil {
					return err
				}
			}
		}
		if err := tx.insertKeys(keyed); err != nil {
			return err
		}
		_, err := tx.exec("INSERT INTO agents (agent_id, last_seq, last_seen) VALUES (?, ?, 0) ON CONFLICT (agent_id) DO UPDATE SET last_seq = excluded.last_seq", agentID, seq)
		return err
	}))
}

// TestEventIDsMigration stores events as version 9 did (bodies in rows
// and in chunks of format 1), migrates, and checks that they read, count
// as stored for a retried batch, and expire beside events stored since,
// which have no events row.
func TestEventIDsMigration(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	now := clk.Now()
	path := filepath.Join(t.TempDir(), "v9.db")
	old, err := Open(ctx, path, Options{migrations: migrationsUpTo(t, 9)})
	require.NoError(t, err)
	inRow, inChunks := genEvents(1, 20), genEvents(2, 2*chunkEvents+3)
	for i, e := range inRow {
		e.Timestamp = now.Add(-time.Duration(3*i+2) * time.Hour) // 2, 5, 8… hours old
	}
	for i, e := range inChunks {
		e.Timestamp = now.Add(-time.Duration(3*i+1) * time.Hour) // 1, 4, 7… hours old
	}
	ingestedBefore := now.Add(-time.Minute)
	appendAtVersion9(t, old, "old-agent", 1, ingestedBefore, true, inRow)
	appendAtVersion9(t, old, "old-agent", 2, ingestedBefore, false, inChunks)
	// Retention emptied the end of the table before the migration: SQLite
	// gives the last rid again, inside a chunk of format 1.
	require.NoError(t, old.writer.submit(ctx, 1, false, func(tx *wtx) error {
		var rid int64
		if err := tx.queryRow("DELETE FROM events WHERE id = ? RETURNING rid", inChunks[len(inChunks)-1].Event.ID).Scan(&rid); err != nil {
			return err
		}
		gone := []keyEntry{{rid: rid}}
		var set chunkSet
		defer set.release()
		if err := set.read(tx.query(chunkOf, ridList(gone))); err != nil {
			return err
		}
		if err := tx.purgeBodies(&set, gone); err != nil {
			return err
		}
		if _, err := tx.exec("DELETE FROM event_keys"); err != nil {
			return err
		}
		_, err = tx.exec("DELETE FROM event_key_entries")
		return err
	}))
	require.NoError(t, old.Close())
	inChunks = inChunks[:len(inChunks)-1]

	db := openAt(t, path, Options{Now: clk.Now, Retention: store.Retention{Events: 48 * time.Hour}})
	db.retentionChunk = 5
	// The key rows are rebuilt for the events kept (the deletion above
	// dropped them all).
	require.NoError(t, db.writer.submit(ctx, 1, false, func(tx *wtx) error {
		for _, batch := range [][]*event.Event{inRow, inChunks} {
			var keyed []keyedEvent
			for i, e := range batch {
				var rid int64
				if err := tx.queryRow("SELECT rid FROM events WHERE id = ?", e.Event.ID).Scan(&rid); err != nil {
					return err
				}
				keyed = append(keyed, keyedEvent{rid: rid, index: i, row: &encodedEvent{id: e.Event.ID, user: e.User.Name,
					host: e.Host.Name, action: e.Event.Action, ts: nanos(e.Timestamp)}})
			}
			if err := tx.insertKeys(keyed); err != nil {
				return err
			}
		}
		return nil
	}))
	require.Equal(t, len(inRow)+len(inChunks), count(t, db, "event_ids"))
	var maxRid, next int64
	require.NoError(t, db.readers.QueryRow("SELECT max(rid) FROM events").Scan(&maxRid))
	require.NoError(t, db.readers.QueryRow("SELECT next FROM event_rid").Scan(&next))
	require.Equal(t, maxRid+1, next)
	checkBodies(t, db)
	checkKeys(t, db)

	// New events, with old ones resent: those count as duplicates.
	fresh := genEvents(3, chunkEvents+5)
	for i, e := range fresh {
		e.Timestamp = now.Add(-time.Duration(3*i) * time.Hour) // 0, 3, 6… hours old
	}
	batch := append([]*event.Event{inRow[3], inChunks[0]}, fresh...)
	batch = append(batch, inChunks[len(inChunks)-1])
	res, err := db.Events().Append(ctx, "new-agent", 1, batch)
	require.NoError(t, err)
	require.Equal(t, len(fresh), res.Stored)
	require.Equal(t, 3, res.Duplicates)
	require.Equal(t, len(inRow)+len(inChunks), count(t, db, "events"), "new events have no row")
	checkBodies(t, db)
	checkKeys(t, db)
	checkOrigin(t, db, inRow, "old-agent", 1)
	checkOrigin(t, db, inChunks, "old-agent", 2)
	checkOrigin(t, db, fresh, "new-agent", 1)

	all := append(append(append([]*event.Event{}, inRow...), inChunks...), fresh...)
	ingested := map[string]time.Time{}
	for _, e := range all {
		ingested[e.Event.ID] = ingestedBefore
	}
	for _, e := range fresh {
		ingested[e.Event.ID] = now
	}
	check := func(want []*event.Event, f store.EventFilter) {
		t.Helper()
		slices.SortFunc(want, func(a, b *event.Event) int { return b.Timestamp.Compare(a.Timestamp) })
		got := queryAll(t, db, f)
		require.Len(t, got, len(want))
		for i, e := range got {
			require.Equal(t, want[i].Event.ID, e.Event.ID, "%d", i)
			require.Equal(t, encode(t, want[i]), encode(t, withoutIngested(e)), "%d", i)
			require.True(t, ingested[e.Event.ID].Equal(*e.Event.Ingested), "%d: ingested %v", i, e.Event.Ingested)
		}
	}
	check(slices.Clone(all), store.EventFilter{Limit: 7, Descending: true})
	user := all[0].User.Name
	check(slices.DeleteFunc(slices.Clone(all), func(e *event.Event) bool { return e.User.Name != user }),
		store.EventFilter{User: user, Limit: 3, Descending: true})
	action := fresh[0].Event.Action
	check(slices.DeleteFunc(slices.Clone(all), func(e *event.Event) bool { return e.Event.Action != action || e.User.Name != user }),
		store.EventFilter{Action: action, User: user, Limit: 3, Descending: true})

	// Retention deletes events of all three kinds older than two days.
	rr, err := db.RunRetention(ctx)
	require.NoError(t, err)
	kept := slices.DeleteFunc(slices.Clone(all), func(e *event.Event) bool { return now.Sub(e.Timestamp) > 48*time.Hour })
	require.Greater(t, len(all)-len(kept), 3*chunkEvents/2)
	require.EqualValues(t, len(all)-len(kept), rr.Events)
	require.Equal(t, len(kept), count(t, db, "event_ids"))
	checkBodies(t, db)
	checkKeys(t, db)
	check(kept, store.EventFilter{Limit: 9, Descending: true})

	// An expired event sent again is stored again, as a new event.
	res, err = db.Events().Append(ctx, "new-agent", 2, []*event.Event{inRow[len(inRow)-1], fresh[len(fresh)-1]})
	require.NoError(t, err)
	require.Equal(t, 2, res.Stored)
	checkBodies(t, db)
	checkOrigin(t, db, []*event.Event{inRow[len(inRow)-1]}, "new-agent", 2)
}

// withoutIngested returns a copy of e without its time of ingest.
func withoutIngested(e *event.Event) *event.Event {
	c := *e
	c.Event.Ingested = nil
	return &c
}
