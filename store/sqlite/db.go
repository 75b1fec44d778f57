package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/vigil-itm/vigil/store"
)

// Synchronous is how hard SQLite works to make a commit durable.
type Synchronous string

const (
	// SyncNormal (the default) does not sync the WAL on every commit: a
	// committed write survives a crash of the process, but the last commits
	// before a power loss or operating system crash may be rolled back
	// (never half applied).
	SyncNormal Synchronous = "normal"
	// SyncFull syncs the WAL on every commit: a committed write survives a
	// power loss too, at the cost of one fsync per write transaction.
	SyncFull Synchronous = "full"
)

// Options configure a DB. Zero values take the defaults.
type Options struct {
	// Logger receives the store's diagnostics (default: discarded).
	Logger *slog.Logger
	// Registerer, when set, receives the store's metrics.
	Registerer prometheus.Registerer
	// ReadOnly opens the database for reading only: no migration is run,
	// and every write fails with store.ErrReadOnly. The schema must be
	// current.
	ReadOnly bool
	// Readers is the size of the read connection pool (default: twice the
	// number of CPUs, at least 4).
	Readers int
	// QueueSize is how many writes may wait for the writer before callers
	// block (default 1024).
	QueueSize int
	// MaxBatchRows bounds the rows written by one transaction: the writer
	// commits once the writes it holds reach it (default 10,000). One write
	// larger than that is never split.
	MaxBatchRows int
	// MaxBatchDelay bounds how long a transaction stays open while writes
	// keep arriving (default 100ms). The writer commits as soon as no
	// write is waiting, so a lone write is never delayed by it; under
	// load, larger transactions write each hot index page once for many
	// events, which is where most of the ingest cost goes.
	MaxBatchDelay time.Duration
	// BusyTimeout is how long a connection waits for a lock held by another
	// process before failing (default 5s).
	BusyTimeout time.Duration
	// Synchronous selects commit durability (default SyncNormal).
	Synchronous Synchronous
	// MaxSizeBytes caps the database file size; writes that would grow it
	// beyond the cap fail with store.ErrFull as on a full disk. Zero means
	// no cap beyond the disk's.
	MaxSizeBytes int64
	// Retention says how long records are kept (default: forever).
	Retention store.Retention
	// RetentionInterval is how often Run applies retention (default 1h).
	RetentionInterval time.Duration
	// Now returns the current time (default time.Now); tests set it.
	Now func() time.Time

	// migrations replaces the embedded migrations, for tests.
	migrations fs.FS
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Readers <= 0 {
		o.Readers = max(4, 2*runtime.NumCPU())
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
	if o.MaxBatchRows <= 0 {
		o.MaxBatchRows = 10_000
	}
	if o.MaxBatchDelay <= 0 {
		o.MaxBatchDelay = 100 * time.Millisecond
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.Synchronous == "" {
		o.Synchronous = SyncNormal
	}
	if o.RetentionInterval <= 0 {
		o.RetentionInterval = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.migrations == nil {
		o.migrations = embeddedMigrations()
	}
}

func (o *Options) validate() error {
	switch o.Synchronous {
	case SyncNormal, SyncFull:
	default:
		return fmt.Errorf("%w: synchronous %q: want %q or %q", store.ErrInvalid, o.Synchronous, SyncNormal, SyncFull)
	}
	if o.MaxSizeBytes < 0 {
		return fmt.Errorf("%w: negative max size", store.ErrInvalid)
	}
	r := o.Retention
	if r.Events < 0 || r.Decisions < 0 || r.Evidence < 0 || r.Audit < 0 {
		return fmt.Errorf("%w: negative retention period", store.ErrInvalid)
	}
	return nil
}

// DB is a Vigil store in one SQLite database file. It implements
// store.Store; all its methods are safe for concurrent use.
type DB struct {
	path    string
	opts    Options
	log     *slog.Logger
	metrics *metrics

	readers *sql.DB
	writer  *writer // nil when read-only
	// readStmts holds the reads prepared once for the reader pool, by
	// query text (see readStmt).
	readStmts sync.Map

	retentionChunk int // rows per retention transaction
	keysChunk      int // event_keys rows per read of a query (see eventPage)

	closeOnce sync.Once
	closeErr  error
	closing   chan struct{}
}

var _ store.Store = (*DB)(nil)

// Open opens the database at path, creating it when it does not exist,
// and brings its schema up to date (each pending migration in its own
// transaction). It refuses a database whose schema is newer than this
// version knows (store.ErrSchemaTooNew) and a database it cannot write
// unless opts.ReadOnly is set (store.ErrReadOnly). ctx bounds the opening
// and the migrations; the DB lives until Close.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open store %q: %w: want the path of a database file", path, store.ErrInvalid)
	}
	db := &DB{
		path:    path,
		opts:    opts,
		log:     opts.Logger.With("component", "store", "path", path),
		closing: make(chan struct{}),

		retentionChunk: defaultRetentionChunk,
		keysChunk:      defaultKeysChunk,
	}
	if err := db.open(ctx); err != nil {
		_ = db.release() // the open error says what went wrong
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	return db, nil
}

func (db *DB) open(ctx context.Context) error {
	ms, err := loadMigrations(db.opts.migrations)
	if err != nil {
		return err
	}
	if db.opts.ReadOnly {
		// Opening would create an empty file.
		if _, err := os.Stat(db.path); err != nil {
			return err
		}
	} else {
		w, err := db.openWriter(ctx, ms)
		if err != nil {
			return err
		}
		db.writer = w
	}
	readers, err := sql.Open("sqlite", db.dsn(false))
	if err != nil {
		return err
	}
	readers.SetMaxOpenConns(db.opts.Readers)
	readers.SetMaxIdleConns(db.opts.Readers)
	db.readers = readers
	if db.opts.ReadOnly {
		conn, err := readers.Conn(ctx)
		if err != nil {
			return classify(err)
		}
		err = checkSchema(ctx, conn, ms)
		_ = conn.Close() // back to the pool
		if err != nil {
			return err
		}
	}
	db.metrics = newMetrics(db)
	if db.opts.Registerer != nil {
		if err := db.metrics.register(db.opts.Registerer); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	if db.writer != nil {
		db.writer.metrics = db.metrics
		db.writer.start(checkpointInterval)
	}
	db.log.Debug("store opened", "readers", db.opts.Readers, "read_only", db.opts.ReadOnly)
	return nil
}

// openWriter opens the writer's connection, migrates the schema on it and
// prepares the writer, whose goroutine is not started yet.
func (db *DB) openWriter(ctx context.Context, ms []migration) (*writer, error) {
	pool, err := sql.Open("sqlite", db.dsn(true))
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(1)
	conn, err := pool.Conn(ctx)
	if err != nil {
		_ = pool.Close()
		return nil, classify(err)
	}
	w := &writer{
		pool:     pool,
		conn:     conn,
		queue:    make(chan *writeOp, db.opts.QueueSize),
		done:     make(chan struct{}),
		maxRows:  db.opts.MaxBatchRows,
		maxDelay: db.opts.MaxBatchDelay,
		log:      db.log,
		stmts:    make(map[string]*sql.Stmt),
		walPath:  db.path + "-wal",
		walLimit: walLimit,
		ckptStop: make(chan struct{}),
		ckptDone: make(chan struct{}),
	}
	fail := func(err error) (*writer, error) {
		_ = w.closeConn() // err says what went wrong
		return nil, err
	}
	// The page size and auto_vacuum can only be chosen for a new, empty
	// database (and setting them on an existing one would still write to
	// the file). A store made with SQLite's default page size keeps it.
	var pages int64
	if err := conn.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return fail(classify(err))
	}
	if pages == 0 {
		if _, err := conn.ExecContext(ctx, "PRAGMA page_size = "+strconv.Itoa(pageSize)); err != nil {
			return fail(classify(err))
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
			return fail(classify(err))
		}
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA journal_mode = WAL"); err != nil {
		return fail(fmt.Errorf("enable WAL: %w", classify(err)))
	}
	if err := migrate(ctx, conn, ms, db.opts.Now, db.log); err != nil {
		return fail(err)
	}
	// The checkpointer's connection, opened now so that Open fails rather
	// than the first checkpoint.
	w.ckpt, err = sql.Open("sqlite", db.dsn(true))
	if err != nil {
		return fail(err)
	}
	w.ckpt.SetMaxOpenConns(1)
	if err := w.ckpt.PingContext(ctx); err != nil {
		return fail(classify(err))
	}
	if db.opts.MaxSizeBytes > 0 {
		var size int64
		if err := conn.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
			return fail(classify(err))
		}
		pages := max(db.opts.MaxSizeBytes/size, 1)
		if _, err := conn.ExecContext(ctx, "PRAGMA max_page_count = "+strconv.FormatInt(pages, 10)); err != nil {
			return fail(classify(err))
		}
	}
	return w, nil
}

// pageSize is the page size of a new store. Events are about a kilobyte
// and arrive in batches, so most pages a commit writes are full: with 16
// KiB pages a commit writes its WAL in a quarter of the write calls
// SQLite's default of 4 KiB takes, and the B-trees are shallower. 8, 16
// and 32 KiB measured alike; past that, what copies or clears a whole
// page (a savepoint's first write to it, a new page) costs more than the
// calls saved (see docs/performance.md).
const pageSize = 16 << 10

// checkpointInterval is how often the background checkpointer runs when
// there were commits; walLimit the WAL size at which the writer
// checkpoints in line.
const (
	checkpointInterval = time.Second
	walLimit           = 256 << 20
)

// dsn returns the data source name of a writer or reader connection.
func (db *DB) dsn(write bool) string {
	q := []string{
		"_pragma=busy_timeout(" + strconv.FormatInt(db.opts.BusyTimeout.Milliseconds(), 10) + ")",
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(" + string(db.opts.Synchronous) + ")",
		"_pragma=temp_store(memory)",
	}
	if write {
		q = append(q,
			"_pragma=cache_size(-65536)",           // 64 MiB: the index pages ingest touches stay cached
			"_pragma=wal_autocheckpoint(0)",        // checkpoints run in the background (see writer)
			"_pragma=journal_size_limit(67108864)", // a WAL grown past 64 MiB shrinks back once reset
		)
	} else {
		q = append(q, "_pragma=query_only(1)")
	}
	return db.path + "?" + strings.Join(q, "&")
}

// Close stops accepting writes, waits for every queued write to commit or
// fail, and closes the database. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.closing)
		db.closeErr = db.release()
		if db.metrics != nil && db.opts.Registerer != nil {
			db.metrics.unregister(db.opts.Registerer)
		}
		db.log.Debug("store closed")
	})
	return db.closeErr
}

// release drains and stops the writer and closes every connection.
func (db *DB) release() error {
	var errs []error
	if db.writer != nil {
		errs = append(errs, db.writer.close())
	}
	db.readStmts.Range(func(_, v any) bool {
		if s, ok := v.(*sql.Stmt); ok {
			errs = append(errs, s.Close())
		}
		return true
	})
	if db.readers != nil {
		errs = append(errs, db.readers.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store %q: %w", db.path, err)
	}
	return nil
}

// Events returns the event store.
func (db *DB) Events() store.Events { return events{db} }

// Decisions returns the decision store.
func (db *DB) Decisions() store.Decisions { return decisions{db} }

// Alerts returns the alert store.
func (db *DB) Alerts() store.Alerts { return alerts{db} }

// Evidence returns the evidence index.
func (db *DB) Evidence() store.Evidence { return evidence{db} }

// Bundles returns the bundle store.
func (db *DB) Bundles() store.Bundles { return bundles{db} }

// Users returns the user directory.
func (db *DB) Users() store.Users { return users{db} }

// Audit returns the audit log.
func (db *DB) Audit() store.Audit { return audit{db} }

// Tokens returns the token store.
func (db *DB) Tokens() store.Tokens { return tokens{db} }

// Agents returns the agent registry.
func (db *DB) Agents() store.Agents { return agents{db} }

func (db *DB) now() time.Time { return db.opts.Now().UTC() }

// write queues fn for the writer and waits for the commit of the
// transaction that ran it. rows weighs the write for batching.
func (db *DB) write(ctx context.Context, rows int, fn writeFunc) error {
	if db.writer == nil {
		return store.ErrReadOnly
	}
	return db.writer.submit(ctx, rows, false, fn)
}

// writeBulk is write for a write that can fail only because the database
// does; it runs without a savepoint (see writeOp.bulk).
func (db *DB) writeBulk(ctx context.Context, rows int, fn writeFunc) error {
	if db.writer == nil {
		return store.ErrReadOnly
	}
	return db.writer.submit(ctx, rows, true, fn)
}

// query runs a read on the reader pool.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := db.readers.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, db.readErr(err)
	}
	return rows, nil
}

// readStmt returns q prepared for the reader pool: each connection
// prepares it once instead of at every query.
func (db *DB) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if v, ok := db.readStmts.Load(q); ok {
		if s, ok := v.(*sql.Stmt); ok {
			return s, nil
		}
	}
	s, err := db.readers.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if v, loaded := db.readStmts.LoadOrStore(q, s); loaded {
		if prev, ok := v.(*sql.Stmt); ok {
			_ = s.Close() // another query prepared it first
			return prev, nil
		}
	}
	return s, nil
}

// queryRow runs a single-row read on the reader pool.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.readers.QueryRowContext(ctx, q, args...)
}

// readErr maps a read failure, reporting ErrClosed after Close.
func (db *DB) readErr(err error) error {
	select {
	case <-db.closing:
		if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed") {
			return store.ErrClosed
		}
	default:
	}
	return classify(err)
}
