package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-itm/vigil/store"
)

// writeFunc is one write, run by the writer inside a transaction. It must
// use only tx, must not keep it, and returns the write's own failure; its
// results become valid only once the transaction has committed, which the
// caller learns from submit.
type writeFunc func(tx *wtx) error

// writeOp is a queued write.
type writeOp struct {
	ctx  context.Context
	fn   writeFunc
	rows int
	// bulk marks a write that runs without a savepoint: any failure of it
	// fails its whole transaction. For writes that can only fail because
	// the database does (Append, Raise), where a savepoint would copy
	// every page they touch for nothing.
	bulk bool
	// done receives the outcome once; nil for a write nobody waits for.
	done chan error
}

func (op *writeOp) reply(err error) {
	if op.done != nil {
		op.done <- err
	}
}

// writer owns the one read-write connection. Its goroutine takes writes
// from the queue and runs them in batched transactions: it opens a
// transaction with the first write, runs every write that is waiting, and
// commits when none is left, when the writes reach maxRows rows or when
// the transaction has been open for maxDelay. Each write runs inside a
// savepoint, so a write that fails on its own (a conflict, a bad argument)
// is undone alone and the batch goes on; a failure of the database itself
// (full disk, I/O error) fails the whole batch, and every write in it
// reports the error: none of them was acknowledged.
//
// Checkpoints (copying the WAL back into the database file) do not run on
// the writer's connection after commits, as SQLite does by default, but
// in a goroutine of their own on a second connection, so that ingest goes
// on meanwhile; the writer only steps in when the WAL grows past walLimit.
type writer struct {
	pool  *sql.DB
	conn  *sql.Conn
	stmts map[string]*sql.Stmt // prepared on conn, owned by the goroutine

	walPath  string
	walLimit int64
	commits  int
	dirty    atomic.Bool   // commits since the last checkpoint
	ckpt     *sql.DB       // the checkpointer's connection
	ckptStop chan struct{} // closed to stop the checkpointer
	ckptDone chan struct{} // closed when the checkpointer has exited

	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
	queue  chan *writeOp
	done   chan struct{} // closed when the goroutine has exited

	maxRows  int
	maxDelay time.Duration
	log      *slog.Logger
	metrics  *metrics
	started  bool
}

// submit queues fn and waits for its outcome. When ctx ends first, submit
// returns ctx's error; the write is skipped if the writer has not started
// it yet, and may still commit otherwise.
func (w *writer) submit(ctx context.Context, rows int, bulk bool, fn writeFunc) error {
	op := &writeOp{ctx: ctx, fn: fn, rows: rows, bulk: bulk, done: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return store.ErrClosed
	}
	select {
	case w.queue <- op:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// submitAsync queues fn without waiting for it; it drops the write when
// the queue is full or the writer closed. For writes that may be lost,
// such as a token's last-used time.
func (w *writer) submitAsync(rows int, fn writeFunc) {
	op := &writeOp{ctx: context.Background(), fn: fn, rows: rows}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return
	}
	select {
	case w.queue <- op:
	default:
	}
}

// close stops the queue, lets the goroutine drain it and closes the
// connection.
func (w *writer) close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.queue)
	w.mu.Unlock()
	if w.started {
		<-w.done
		close(w.ckptStop)
		<-w.ckptDone
	}
	return w.closeConn()
}

// closeConn closes the statements and the connection, checkpointing the
// WAL into the database file.
func (w *writer) closeConn() error {
	var errs []error
	for _, s := range w.stmts {
		errs = append(errs, s.Close())
	}
	w.stmts = nil
	if w.started {
		// Best effort: a failure here loses nothing, the WAL is replayed
		// on the next open. A writer that never started (Open failed)
		// leaves the file alone.
		ctx := context.Background()
		_, _ = w.conn.ExecContext(ctx, "PRAGMA optimize")
		_, _ = w.conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	}
	errs = append(errs, w.conn.Close(), w.pool.Close())
	if w.ckpt != nil {
		errs = append(errs, w.ckpt.Close())
	}
	return errors.Join(errs...)
}

// start starts the writer's goroutines.
func (w *writer) start(checkpointEvery time.Duration) {
	w.started = true
	go w.run()
	go w.checkpointLoop(checkpointEvery)
}

// checkpointLoop copies committed pages from the WAL into the database
// file every interval when there were commits. A PASSIVE checkpoint never
// waits for the writer or for readers: it copies what it can, and SQLite
// starts the WAL over once a checkpoint has copied everything.
func (w *writer) checkpointLoop(every time.Duration) {
	defer close(w.ckptDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.ckptStop:
			return
		case <-t.C:
		}
		if !w.dirty.Swap(false) {
			continue
		}
		var busy, frames, copied int
		err := w.ckpt.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
		if err != nil {
			w.dirty.Store(true)
			w.log.Warn("checkpoint failed", "err", classify(err))
		}
	}
}

// limitWAL checkpoints on the writer's own connection, holding up writes,
// when the WAL has outgrown walLimit: the background checkpoints did not
// keep up, or a long read kept them from finishing. It looks at the file
// only every few commits.
func (w *writer) limitWAL() {
	w.commits++
	if w.commits%64 != 0 {
		return
	}
	fi, err := os.Stat(w.walPath)
	if err != nil || fi.Size() < w.walLimit {
		return
	}
	var busy, frames, copied int
	err = w.conn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied)
	w.log.Info("WAL over its limit: checkpointed in line", "wal_bytes", fi.Size(), "busy", busy, "err", err)
}

func (w *writer) run() {
	defer close(w.done)
	for op := range w.queue {
		w.batch(op)
	}
}

// batch runs first and every write queued behind it in one transaction.
func (w *writer) batch(first *writeOp) {
	start := time.Now()
	ctx := context.Background() // a caller's cancellation must not abort a shared transaction
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		err = fmt.Errorf("begin transaction: %w", classify(err))
		w.fail(err, first)
		w.drainQueued(err)
		return
	}
	tx := &wtx{w: w, ctx: ctx}
	var (
		pending []*writeOp
		rows    int
		op      = first
	)
	for op != nil {
		if err := op.ctx.Err(); err != nil {
			op.reply(err)
		} else {
			ok, fatal := w.runOp(tx, op)
			if fatal != nil {
				w.rollback()
				w.fail(fatal, append(pending, op)...)
				return
			}
			if ok {
				pending = append(pending, op)
				rows += op.rows
			}
		}
		op = nil
		if rows < w.maxRows && time.Since(start) < w.maxDelay {
			select {
			case op = <-w.queue: // nil once the queue is closed and empty
			default:
			}
		}
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		w.rollback()
		w.fail(fmt.Errorf("commit: %w", classify(err)), pending...)
		return
	}
	if w.metrics != nil {
		w.metrics.commits.Inc()
		w.metrics.commitSeconds.Observe(time.Since(start).Seconds())
		w.metrics.writes.Add(float64(len(pending)))
	}
	for _, op := range pending {
		op.reply(nil)
	}
	w.dirty.Store(true)
	w.limitWAL()
}

// runOp runs one write inside a savepoint. ok reports that the write
// succeeded and waits for the commit; a write that failed on its own has
// been undone and told. fatal is a failure of the database that dooms the
// whole transaction.
func (w *writer) runOp(tx *wtx, op *writeOp) (ok bool, fatal error) {
	if op.bulk {
		if err := safeRun(op.fn, tx); err != nil {
			return false, err
		}
		return true, nil
	}
	if _, err := w.conn.ExecContext(tx.ctx, "SAVEPOINT op"); err != nil {
		return false, fmt.Errorf("savepoint: %w", classify(err))
	}
	err := safeRun(op.fn, tx)
	if err == nil {
		if _, err := w.conn.ExecContext(tx.ctx, "RELEASE op"); err != nil {
			return false, fmt.Errorf("release savepoint: %w", classify(err))
		}
		return true, nil
	}
	if !isOwnFailure(err) {
		return false, err
	}
	if _, rerr := w.conn.ExecContext(tx.ctx, "ROLLBACK TO op"); rerr != nil {
		return false, fmt.Errorf("%w (and undo it: %w)", err, classify(rerr))
	}
	if _, rerr := w.conn.ExecContext(tx.ctx, "RELEASE op"); rerr != nil {
		return false, fmt.Errorf("%w (and release savepoint: %w)", err, classify(rerr))
	}
	op.reply(err)
	return false, nil
}

// safeRun runs fn, turning a panic into an error so that one bad write
// cannot take the writer, and every caller waiting on it, down.
func safeRun(fn writeFunc, tx *wtx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store write panicked: %v", r)
		}
	}()
	return fn(tx)
}

// isOwnFailure reports whether err is a write's own failure, which leaves
// the transaction usable, rather than a failure of the database.
func isOwnFailure(err error) bool {
	for _, own := range []error{store.ErrNotFound, store.ErrConflict, store.ErrInvalid, store.ErrInvalidTransition, store.ErrUnauthorized} {
		if errors.Is(err, own) {
			return true
		}
	}
	return false
}

// rollback ends a failed transaction. SQLite may already have rolled it
// back itself (after a full disk or an I/O error); then there is nothing
// to do.
func (w *writer) rollback() {
	_, _ = w.conn.ExecContext(context.Background(), "ROLLBACK")
}

func (w *writer) fail(err error, ops ...*writeOp) {
	if w.metrics != nil {
		w.metrics.commitErrors.Inc()
	}
	w.log.Warn("write transaction failed", "err", err, "writes", len(ops))
	for _, op := range ops {
		op.reply(err)
	}
}

// drainQueued fails the writes already queued when a transaction cannot
// even begin, so that they do not each wait for their own failure.
func (w *writer) drainQueued(err error) {
	for {
		select {
		case op, ok := <-w.queue:
			if !ok {
				return
			}
			op.reply(err)
		default:
			return
		}
	}
}

// wtx is the writer's view of the open transaction, given to writeFuncs.
type wtx struct {
	w   *writer
	ctx context.Context
}

// stmt returns the statement for q, prepared once on the writer's
// connection.
func (tx *wtx) stmt(q string) (*sql.Stmt, error) {
	if s, ok := tx.w.stmts[q]; ok {
		return s, nil
	}
	s, err := tx.w.conn.PrepareContext(tx.ctx, q)
	if err != nil {
		return nil, classify(err)
	}
	tx.w.stmts[q] = s
	return s, nil
}

// exec runs a write statement.
func (tx *wtx) exec(q string, args ...any) (sql.Result, error) {
	s, err := tx.stmt(q)
	if err != nil {
		return nil, err
	}
	res, err := s.ExecContext(tx.ctx, args...)
	if err != nil {
		return nil, classify(err)
	}
	return res, nil
}

// execCount runs a write statement and returns the rows it changed.
func (tx *wtx) execCount(q string, args ...any) (int64, error) {
	res, err := tx.exec(q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, classify(err)
	}
	return n, nil
}

// query runs a query inside the transaction; its errors are unmapped.
func (tx *wtx) query(q string, args ...any) (*sql.Rows, error) {
	s, err := tx.stmt(q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(tx.ctx, args...)
}

// queryRow runs a single-row query inside the transaction. Its error
// surfaces from Scan, unmapped.
func (tx *wtx) queryRow(q string, args ...any) *sql.Row {
	s, err := tx.stmt(q)
	if err != nil {
		// Let Scan report it: a query on the connection itself fails the
		// same way.
		return tx.w.conn.QueryRowContext(tx.ctx, q, args...)
	}
	return s.QueryRowContext(tx.ctx, args...)
}
