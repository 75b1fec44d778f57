package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vigil-itm/vigil/store"
)

// defaultRetentionChunk is how many rows one retention write deletes, so
// that retention never holds the writer for long: other writes interleave
// with its chunks.
const defaultRetentionChunk = 5000

// RunRetention removes the records older than the retention periods of
// Options.Retention and returns how many it removed. It deletes in small
// transactions, so that ingest goes on meanwhile, and returns the freed
// pages to the file system. A failure stops the pass; what was removed
// before it stays removed.
func (db *DB) RunRetention(ctx context.Context) (store.RetentionResult, error) {
	var res store.RetentionResult
	if db.writer == nil {
		return res, fmt.Errorf("retention: %w", store.ErrReadOnly)
	}
	now := db.now()
	r := db.opts.Retention
	chunk := db.retentionChunk
	steps := []struct {
		kind   string
		period time.Duration
		del    string
		n      *int64
	}{
		{"events", r.Events, "", &res.Events}, // by blocks: deleteEventsBefore
		{"decisions", r.Decisions, "DELETE FROM decisions WHERE rid IN (SELECT rid FROM decisions WHERE ts < ? LIMIT ?)", &res.Decisions},
		{"evidence", r.Evidence, "DELETE FROM evidence WHERE package_id IN (SELECT package_id FROM evidence WHERE created < ? LIMIT ?)", &res.Evidence},
		{"audit", r.Audit, "DELETE FROM audit WHERE rid IN (SELECT rid FROM audit WHERE ts < ? LIMIT ?)", &res.Audit},
	}
	for _, st := range steps {
		if st.period <= 0 {
			continue
		}
		cutoff := nanos(now.Add(-st.period))
		for {
			var (
				n    int64
				more bool
			)
			err := db.write(ctx, chunk, func(tx *wtx) error {
				if st.kind == "audit" {
					// Open the audit log's delete guard for rows below the
					// cutoff, for this transaction only.
					if _, err := tx.exec("UPDATE audit_retention SET cutoff = ? WHERE id = 1", cutoff); err != nil {
						return err
					}
				}
				var err error
				if st.kind == "events" {
					// A block is up to one batch of events.
					n, more, err = tx.deleteEventsBefore(cutoff, max(1, chunk/500))
					return err
				}
				n, err = tx.execCount(st.del, cutoff, chunk)
				if err != nil {
					return err
				}
				more = n == int64(chunk)
				if st.kind == "audit" {
					_, err = tx.exec("UPDATE audit_retention SET cutoff = ? WHERE id = 1", int64(math.MinInt64))
				}
				return err
			})
			if err != nil {
				return res, fmt.Errorf("retention: %s older than %s: %w", st.kind, st.period, err)
			}
			*st.n += n
			if db.metrics != nil {
				db.metrics.retentionDeleted.WithLabelValues(st.kind).Add(float64(n))
			}
			if !more {
				break
			}
		}
	}
	if res != (store.RetentionResult{}) {
		if err := db.vacuum(ctx); err != nil {
			return res, fmt.Errorf("retention: %w", err)
		}
	}
	db.log.Info("retention applied", "events", res.Events, "decisions", res.Decisions,
		"evidence", res.Evidence, "audit", res.Audit)
	return res, nil
}

// vacuum returns free pages to the file system, a bounded number per
// transaction.
func (db *DB) vacuum(ctx context.Context) error {
	for range 1000 { // bounded: 4 GiB of 4 KiB pages
		var free int64
		err := db.write(ctx, db.retentionChunk, func(tx *wtx) error {
			if _, err := tx.exec("PRAGMA incremental_vacuum(1024)"); err != nil {
				return err
			}
			return classify(tx.queryRow("PRAGMA freelist_count").Scan(&free))
		})
		if err != nil {
			return fmt.Errorf("free pages: %w", err)
		}
		if free == 0 {
			return nil
		}
	}
	return nil
}

// Run applies retention at once and then every Options.RetentionInterval
// until ctx ends, when it returns nil, or the DB is closed, when it
// returns store.ErrClosed. A failed pass is logged and retried at the next
// interval: a full disk, say, must not stop the server.
func (db *DB) Run(ctx context.Context) error {
	r := db.opts.Retention
	if db.writer == nil || r == (store.Retention{}) {
		select {
		case <-ctx.Done():
			return nil
		case <-db.closing:
			return store.ErrClosed
		}
	}
	t := time.NewTicker(db.opts.RetentionInterval)
	defer t.Stop()
	for {
		if _, err := db.RunRetention(ctx); err != nil {
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, store.ErrClosed):
				return err
			}
			db.log.Error("retention failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-db.closing:
			return store.ErrClosed
		case <-t.C:
		}
	}
}
