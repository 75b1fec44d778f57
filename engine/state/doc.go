// Package state owns the per-key state of Vigil's stateful detection rules:
// sliding-window thresholds, ordered sequences, first-seen value sets,
// per-key baselines and alert suppression.
//
// All state is kept on event time, never on the wall clock, so replaying last
// month's events gives the same answers as seeing them live. Every type is
// safe for concurrent use by many goroutines: keys are spread over shards by
// hash, each shard has its own mutex, and there is no global lock. Memory is
// bounded: each rule tracks at most Options.MaxKeys keys (the least recently
// used key of a shard is evicted to make room) and each key keeps a bounded
// amount of data. Every type can write its state to a versioned, checksummed
// binary snapshot and read it back, so an agent keeps its state across
// restarts.
//
// The package evaluates nothing: the engine decides which events match a
// rule and hands this package the key, the event time and the matched value.
// It must not import any Vigil package other than policies.
//
// See docs/state.md for the semantics in detail, the precision of the
// bounded structures and the measured cost per key.
package state
