package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/store"
)

// holdWriter parks the writer inside a transaction until the returned
// function is called, so that the writes queued meanwhile run in that
// transaction.
func holdWriter(t *testing.T, db *DB) (release func()) {
	t.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		_ = db.write(t.Context(), 1, func(*wtx) error {
			close(held)
			<-done
			return nil
		})
	}()
	<-held
	var once sync.Once
	return func() { once.Do(func() { done <- struct{}{} }) }
}

// TestWriterIsolatesFailedWrites runs good and failing writes in one
// transaction: each failing write is undone alone and told; the others
// commit together.
func TestWriterIsolatesFailedWrites(t *testing.T) {
	ctx := t.Context()
	reg := prometheus.NewRegistry()
	db, _ := openTest(t, Options{MaxBatchDelay: time.Hour, Registerer: reg})
	release := holdWriter(t, db)

	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.write(ctx, 1, func(tx *wtx) error {
				if _, err := tx.exec("INSERT INTO users (id, name, updated) VALUES (?, ?, 0)", fmt.Sprint("u", i), fmt.Sprint("user", i)); err != nil {
					return err
				}
				if i%2 == 1 {
					return fmt.Errorf("%w: changed my mind", store.ErrConflict)
				}
				return nil
			})
		})
	}
	require.Eventually(t, func() bool { return len(db.writer.queue) == n }, 5*time.Second, time.Millisecond)
	commits := gather(t, reg)["vigil_store_commits_total"]
	release()
	wg.Wait()

	for i, err := range errs {
		if i%2 == 1 {
			require.ErrorIs(t, err, store.ErrConflict, i)
			_, err := db.Users().Get(ctx, fmt.Sprint("u", i))
			require.ErrorIs(t, err, store.ErrNotFound, "the failed write %d is undone", i)
			continue
		}
		require.NoError(t, err, i)
		_, err := db.Users().Get(ctx, fmt.Sprint("u", i))
		require.NoError(t, err, i)
	}
	require.InDelta(t, commits+1, gather(t, reg)["vigil_store_commits_total"], 0, "one transaction for all")
}

// TestWriterFailsBatchOnDatabaseError: a write that fails for another
// reason than its own (here a panic) fails its whole transaction, and the
// writer goes on with the next one.
func TestWriterFailsBatchOnDatabaseError(t *testing.T) {
	ctx := t.Context()
	db, _ := openTest(t, Options{MaxBatchDelay: time.Hour})
	release := holdWriter(t, db)

	var wg sync.WaitGroup
	var goodErr, badErr error
	wg.Go(func() {
		goodErr = db.Users().Upsert(ctx, store.User{ID: "u1", Name: "ann"})
	})
	require.Eventually(t, func() bool { return len(db.writer.queue) == 1 }, 5*time.Second, time.Millisecond)
	wg.Go(func() {
		badErr = db.write(ctx, 1, func(*wtx) error { panic("boom") })
	})
	require.Eventually(t, func() bool { return len(db.writer.queue) == 2 }, 5*time.Second, time.Millisecond)
	release()
	wg.Wait()

	require.ErrorContains(t, badErr, "panicked: boom")
	require.ErrorContains(t, goodErr, "panicked: boom", "a write in the failed transaction is not acknowledged")
	_, err := db.Users().Get(ctx, "u1")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, db.Users().Upsert(ctx, store.User{ID: "u1", Name: "ann"}), "the writer goes on")
}

// TestWriterSkipsCancelledWrites: a write whose caller gave up before the
// writer reached it is not run.
func TestWriterSkipsCancelledWrites(t *testing.T) {
	db, _ := openTest(t, Options{})
	release := holdWriter(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- db.Users().Upsert(ctx, store.User{ID: "u1", Name: "ann"}) }()
	require.Eventually(t, func() bool { return len(db.writer.queue) == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	release()
	require.NoError(t, db.Users().Upsert(t.Context(), store.User{ID: "u2", Name: "bob"}))
	_, err := db.Users().Get(t.Context(), "u1")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// TestSynchronousSetsThePragma: Options.Synchronous reaches every
// connection, the writer's and the readers'.
func TestSynchronousSetsThePragma(t *testing.T) {
	for mode, want := range map[Synchronous]int{"": 1, SyncNormal: 1, SyncFull: 2} {
		db, _ := openTest(t, Options{Synchronous: mode})
		var got int
		require.NoError(t, db.writer.conn.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&got))
		require.Equal(t, want, got, "writer, %q", mode)
		require.NoError(t, db.readers.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&got))
		require.Equal(t, want, got, "readers, %q", mode)
	}
}

func TestNewStoreUsesLargePages(t *testing.T) {
	ctx := t.Context()
	db, _ := openTest(t, Options{})
	var size, vacuum int
	require.NoError(t, db.writer.conn.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size))
	require.Equal(t, pageSize, size)
	require.NoError(t, db.writer.conn.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&vacuum))
	require.Equal(t, 2, vacuum, "incremental")

	// A store SQLite made with its default page size keeps it, and works.
	path := filepath.Join(t.TempDir(), "old.db")
	raw := rawDB(t, path)
	_, err := raw.ExecContext(ctx, "CREATE TABLE early (x)")
	require.NoError(t, err)
	require.NoError(t, raw.Close())
	old := openAt(t, path, Options{})
	require.NoError(t, old.writer.conn.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size))
	require.Equal(t, 4096, size, "SQLite's default")
	evs := genEvents(1, 50)
	res, err := old.Events().Append(ctx, "a1", 1, evs)
	require.NoError(t, err)
	require.Equal(t, 50, res.Stored)
	got, _, err := old.Events().Query(ctx, store.EventFilter{Limit: 100})
	require.NoError(t, err)
	require.Len(t, got, 50)
}
