package state

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/vigil-itm/vigil/policies"
)

// Suppressor keeps, per key, the event time of the last alert it allowed and
// holds back further alerts for the same key for a period.
//
// Allow refuses an alert while its time is before the last allowed alert's
// time plus For; an alert exactly For later is allowed. An alert older than
// the last allowed one is refused too, so replaying events out of order never
// raises a second alert for one episode. With a nil spec or a non-positive
// For every alert is allowed and nothing is recorded.
//
// A Suppressor is safe for concurrent use.
type Suppressor struct {
	period int64
	fp     uint64
	store  *store[int64]
}

// NewSuppressor prepares suppression state for spec, which may be nil.
func NewSuppressor(spec *policies.Suppress, opts Options) *Suppressor {
	s := &Suppressor{}
	var by []string
	if spec != nil {
		s.period = max(int64(spec.For.D()), 0)
		by = spec.By
	}
	s.fp = fingerprint("suppress", s.period, by)
	s.store = newStore[int64](opts.maxKeys())
	return s
}

// Allow reports whether an alert for key at event time ts may fire. When it
// may, ts is recorded and until is ts plus For; when it may not, until is the
// time, in UTC, from which the key's alerts are allowed again.
func (s *Suppressor) Allow(key string, ts time.Time) (allowed bool, until time.Time) {
	if s.period <= 0 {
		return true, ts
	}
	at := nanos(ts)
	sh := s.store.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	last, created := s.store.get(sh, key)
	if !created && at < *last+s.period {
		return false, toTime(*last + s.period)
	}
	*last = at
	return true, toTime(at + s.period)
}

// Keys returns the number of keys tracked.
func (s *Suppressor) Keys() int { return s.store.keys() }

// Evictions returns how many keys have been evicted to stay within
// Options.MaxKeys since the Suppressor was created. An evicted key's next
// alert is allowed.
func (s *Suppressor) Evictions() uint64 { return s.store.evictions.Load() }

// Prune drops every key whose suppression has ended at now (event time) and
// returns how many it dropped.
func (s *Suppressor) Prune(now time.Time) int {
	at := nanos(now)
	return s.store.removeIf(func(last *int64) bool { return at >= *last+s.period })
}

// Snapshot writes the state of every key to w in the versioned binary
// snapshot format described in docs/state.md.
func (s *Suppressor) Snapshot(w io.Writer) error {
	enc := func(b []byte, last *int64) []byte { return binary.AppendVarint(b, *last) }
	if err := writeSnapshot(w, s.store, kindSuppressor, s.fp, enc); err != nil {
		return fmt.Errorf("snapshot suppression state: %w", err)
	}
	return nil
}

// Restore replaces all state with a snapshot written by Snapshot for the
// same specification. If the snapshot holds more keys than MaxKeys allows,
// the keys with the oldest events are evicted. On error the current state is left unchanged: garbage
// gives ErrSnapshot, a snapshot of another rule ErrSnapshotMismatch.
func (s *Suppressor) Restore(r io.Reader) error {
	var entries []entry[int64]
	err := readSnapshot(r, kindSuppressor, s.fp, func(d *decoder) {
		e := entry[int64]{key: d.str(), val: d.varint()}
		if d.err == nil {
			entries = append(entries, e)
		}
	})
	if err != nil {
		return fmt.Errorf("restore suppression state: %w", err)
	}
	s.store.replace(entries, func(last *int64) int64 { return *last })
	return nil
}
