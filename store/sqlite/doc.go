// Package sqlite implements the store interfaces on SQLite, through
// modernc.org/sqlite (pure Go, no cgo), for single-machine deployments
// (`vigil run`) and small fleets.
//
// One database file holds everything. It runs in WAL mode with a busy
// timeout and foreign keys on. All writes go through one writer goroutine
// that groups them into transactions: callers queue a write and wait until
// the transaction holding it has committed (or failed), so that an
// acknowledged write is a committed one. Reads run on a pool of read-only
// connections and never wait for the writer.
//
// The schema is versioned: migrations are embedded SQL files applied in
// order on Open, each in its own transaction, and a database with a newer
// schema than this version knows is refused. Retention (events, decisions,
// evidence index, audit) runs from RunRetention or the Run loop.
//
// Nothing SQLite-specific crosses the store interfaces; Options is the only
// type callers see that belongs to this implementation.
package sqlite
