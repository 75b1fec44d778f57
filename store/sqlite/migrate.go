package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-itm/vigil/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

func embeddedMigrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded: unreachable
	}
	return sub
}

// migration is one schema change: the file NNNN_name.sql applied as
// version NNNN.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the migrations of fsys, which must be numbered
// from 1 without gaps.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []migration
	for _, name := range names {
		num, rest, ok := strings.Cut(strings.TrimSuffix(path.Base(name), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", name)
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: rest, sql: string(data)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: want version %d (versions start at 1 without gaps)", m.version, m.name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, errors.New("no migrations")
	}
	return ms, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
)`

// migrate brings the schema of the database on conn up to the last of ms,
// one transaction per migration, so that a failed migration leaves the
// database at the version before it. It refuses a database whose version
// is newer than the last of ms. Another process migrating the same file
// at the same time is safe: each step re-reads the version under the
// write lock.
func migrate(ctx context.Context, conn *sql.Conn, ms []migration, now func() time.Time, log *slog.Logger) error {
	latest := ms[len(ms)-1].version
	for {
		applied, err := migrateStep(ctx, conn, ms, now)
		if err != nil {
			return err
		}
		if applied == nil {
			return nil
		}
		log.Info("schema migrated", "version", applied.version, "name", applied.name, "latest", latest)
	}
}

// migrateStep applies the next pending migration, if any, and returns it.
func migrateStep(ctx context.Context, conn *sql.Conn, ms []migration, now func() time.Time) (applied *migration, err error) {
	// BEGIN IMMEDIATE takes the write lock at once, and fails at once on a
	// database that cannot be written.
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return nil, fmt.Errorf("migrate schema: %w", classify(err))
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, createMigrationsTable); err != nil {
		return nil, fmt.Errorf("migrate schema: %w", classify(err))
	}
	version, err := schemaVersion(ctx, conn)
	if err != nil {
		return nil, err
	}
	latest := ms[len(ms)-1].version
	if version > latest {
		return nil, fmt.Errorf("%w: database at version %d, this version of vigil knows up to %d", store.ErrSchemaTooNew, version, latest)
	}
	if version == latest {
		// Up to date. Make sure the file can be written before saying so:
		// in WAL mode even BEGIN IMMEDIATE succeeds on a read-only file,
		// and the first write would be the first to fail. The probe
		// changes nothing and is rolled back.
		if _, err := conn.ExecContext(ctx, "UPDATE schema_migrations SET applied_at = applied_at WHERE version = ?", version); err != nil {
			return nil, fmt.Errorf("check the database can be written: %w", classify(err))
		}
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			return nil, fmt.Errorf("migrate schema: %w", classify(err))
		}
		return nil, nil
	}
	m := ms[version] // versions start at 1
	if _, err := conn.ExecContext(ctx, m.sql); err != nil {
		return nil, fmt.Errorf("migrate schema to version %d (%s): %w", m.version, m.name, classify(err))
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, nanos(now())); err != nil {
		return nil, fmt.Errorf("migrate schema to version %d (%s): %w", m.version, m.name, classify(err))
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return nil, fmt.Errorf("migrate schema to version %d (%s): commit: %w", m.version, m.name, classify(err))
	}
	return &m, nil
}

// schemaVersion returns the version of the schema, 0 for a new database.
func schemaVersion(ctx context.Context, conn *sql.Conn) (int, error) {
	var v int
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", classify(err))
	}
	return v, nil
}

// checkSchema verifies, without writing, that the schema is the latest of
// ms: a read-only store cannot migrate.
func checkSchema(ctx context.Context, conn *sql.Conn, ms []migration) error {
	var n int
	if err := conn.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").Scan(&n); err != nil {
		return fmt.Errorf("read schema version: %w", classify(err))
	}
	if n == 0 {
		return fmt.Errorf("%w: not a vigil database (no schema_migrations table); open it read-write once to create it", store.ErrReadOnly)
	}
	version, err := schemaVersion(ctx, conn)
	if err != nil {
		return err
	}
	switch latest := ms[len(ms)-1].version; {
	case version > latest:
		return fmt.Errorf("%w: database at version %d, this version of vigil knows up to %d", store.ErrSchemaTooNew, version, latest)
	case version < latest:
		return fmt.Errorf("%w: database at schema version %d, this version of vigil needs %d; open it read-write once to migrate it", store.ErrReadOnly, version, latest)
	}
	return nil
}
