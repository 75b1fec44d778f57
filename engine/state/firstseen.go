package state

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/vigil-itm/vigil/policies"
)

// FirstSeen keeps, per key, the set of values seen within a period of event
// time and says when a value is new to the key.
//
// A value fires when it has not been seen for the key within (ts-Within, ts]
// — a value last seen exactly Within ago is new again — unless the key is
// still learning: its first observation is less than Learning before ts. The
// value is recorded either way. Values last seen Within or more before the
// key's newest event are forgotten. A key holds at most
// Options.MaxValuesPerKey values; adding one more evicts the value seen
// longest ago, counted by ValueEvictions.
//
// Out-of-order events are judged against the key's state as of its newest
// event: a value recorded later than a late event still counts as seen.
// Keys are never dropped for being idle, because a key's first observation
// decides whether it is learning; an evicted key starts learning again.
//
// A FirstSeen is safe for concurrent use.
type FirstSeen struct {
	within         int64
	learning       int64
	maxValues      int
	fp             uint64
	store          *store[fsState]
	valueEvictions atomic.Uint64
}

type fsState struct {
	first  int64
	newest int64
	values valueSet
}

// FirstSeenResult is the state of a key's value set after an observation.
type FirstSeenResult struct {
	// Fired is true when the value was not seen within Within and the key
	// is not learning.
	Fired bool
	// Learning is true when the key's history is shorter than Learning;
	// nothing fires while it is.
	Learning bool
	// LastSeen is when the value was last seen within Within before this
	// observation, in UTC; zero if it was not.
	LastSeen time.Time
	// KnownValues is the number of values the key holds, this one
	// included.
	KnownValues int
}

// NewFirstSeen prepares first-seen state for spec. It fails with
// ErrInvalidSpec unless Within is positive and Learning is not negative.
func NewFirstSeen(spec *policies.FirstSeen, opts Options) (*FirstSeen, error) {
	if spec == nil {
		return nil, fmt.Errorf("%w: first_seen: no specification", ErrInvalidSpec)
	}
	within, learning := int64(spec.Within.D()), int64(spec.Learning.D())
	if within <= 0 {
		return nil, fmt.Errorf("%w: first_seen: within must be positive, got %s", ErrInvalidSpec, spec.Within)
	}
	if learning < 0 {
		return nil, fmt.Errorf("%w: first_seen: learning must not be negative, got %s", ErrInvalidSpec, spec.Learning)
	}
	return &FirstSeen{
		within:    within,
		learning:  learning,
		maxValues: opts.maxValues(),
		fp:        fingerprint("first_seen", spec.Field, within, learning, spec.By),
		store:     newStore[fsState](opts.maxKeys()),
	}, nil
}

// Observe records that key had value at event time ts and says whether the
// value is new to the key.
func (f *FirstSeen) Observe(key, value string, ts time.Time) FirstSeenResult {
	at := nanos(ts)
	sh := f.store.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st, created := f.store.get(sh, key)
	if created {
		st.first, st.newest = at, at
	}
	st.first = min(st.first, at)
	st.newest = max(st.newest, at)
	st.values.forget(st.newest - f.within)
	res := FirstSeenResult{Learning: at-st.first < f.learning}
	last, known := st.values.lookup(value)
	if known {
		res.LastSeen = toTime(last)
	} else if st.values.len() >= f.maxValues {
		st.values.removeOldest()
		f.valueEvictions.Add(1)
	}
	st.values.touch(value, at)
	res.Fired = !known && !res.Learning
	res.KnownValues = st.values.len()
	return res
}

// Keys returns the number of keys tracked.
func (f *FirstSeen) Keys() int { return f.store.keys() }

// Evictions returns how many keys have been evicted to stay within
// Options.MaxKeys since the FirstSeen was created.
func (f *FirstSeen) Evictions() uint64 { return f.store.evictions.Load() }

// ValueEvictions returns how many values have been evicted from full value
// sets to stay within Options.MaxValuesPerKey.
func (f *FirstSeen) ValueEvictions() uint64 { return f.valueEvictions.Load() }

// Snapshot writes the state of every key to w in the versioned binary
// snapshot format described in docs/state.md.
func (f *FirstSeen) Snapshot(w io.Writer) error {
	if err := writeSnapshot(w, f.store, kindFirstSeen, f.fp, f.encode); err != nil {
		return fmt.Errorf("snapshot first_seen state: %w", err)
	}
	return nil
}

// Restore replaces all state with a snapshot written by Snapshot for the
// same specification. If the snapshot holds more keys than MaxKeys allows,
// the keys with the oldest events are evicted. A key with more values than MaxValuesPerKey keeps the
// most recently seen ones. On error the current state is left unchanged:
// garbage gives ErrSnapshot, a snapshot of another rule ErrSnapshotMismatch.
func (f *FirstSeen) Restore(r io.Reader) error {
	var entries []entry[fsState]
	err := readSnapshot(r, kindFirstSeen, f.fp, func(d *decoder) {
		e := entry[fsState]{key: d.str()}
		f.decode(d, &e.val)
		if d.err == nil {
			entries = append(entries, e)
		}
	})
	if err != nil {
		return fmt.Errorf("restore first_seen state: %w", err)
	}
	f.store.replace(entries, func(st *fsState) int64 { return st.newest })
	return nil
}

func (f *FirstSeen) encode(b []byte, st *fsState) []byte {
	b = binary.AppendVarint(b, st.first)
	b = binary.AppendVarint(b, st.newest)
	return appendValueSet(b, &st.values)
}

func (f *FirstSeen) decode(d *decoder, st *fsState) {
	st.first = d.varint()
	st.newest = d.varint()
	if d.err == nil && st.first > st.newest {
		d.fail("first observation after the newest")
		return
	}
	d.valueSet(&st.values, maxValuesLimit, f.maxValues, st.newest)
}
