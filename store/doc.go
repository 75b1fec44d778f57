// Package store owns persistence for the central side of Vigil: ingested
// events, engine decisions, alerts and their workflow, the evidence index,
// policy bundle revisions, the user directory, the audit log and API
// tokens. It declares small interfaces, one per kind of record, each with its
// contract in its doc comment, and the types they exchange; implementations
// live in sub-packages (store/sqlite is the default, embedded one).
//
// The interfaces carry no database types, so that a PostgreSQL
// implementation can follow without touching callers. Every implementation
// reports failures with the sentinel errors of this package (ErrNotFound,
// ErrConflict, ...) wrapped with what was being done, for callers to test
// with errors.Is.
//
// The package imports only event. The engine must never import store: the
// engine returns decisions, and the server records them here as
// DecisionRecord values.
package store
