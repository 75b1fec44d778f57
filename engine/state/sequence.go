package state

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/vigil-itm/vigil/policies"
)

// maxSequenceSteps is the most steps a sequence may have; partial runs are
// tracked in a 64-bit mask.
const maxSequenceSteps = 64

// Sequence keeps, per key, the partial runs of an ordered sequence of steps
// and says when a run completes.
//
// A run starts when an event matches step 0 and advances when a later (or
// equally timed) event matches its next step. The whole run must fit within
// Within of event time measured from its first step: a step exactly Within
// after the first does not fit, as with the threshold window. One event can
// match several steps; it advances each partial run by at most one step, and
// may also start a new run.
//
// For each number of completed steps the key keeps only the latest-started
// run, since a later start leaves more time to finish with the same progress;
// a new start therefore replaces an older or expired one. When the last step
// completes the sequence fires and all of the key's runs are cleared, so the
// events of one run never count towards the next.
//
// An event older than the key's newest event can advance a run only if it is
// not older than that run's last step; an event at least Within older than
// the key's newest event is dropped. A key uses about n²/2 timestamps for n
// steps.
//
// A Sequence is safe for concurrent use.
type Sequence struct {
	steps  int
	within int64
	fp     uint64
	store  *store[seqState]
}

// seqState is one key's partial runs. Bit l of live is set when a run with
// l+1 completed steps exists; its step times are times[l(l+1)/2 :][:l+1].
type seqState struct {
	newest int64
	live   uint64
	times  []int64
}

func rowStart(l int) int { return l * (l + 1) / 2 }

func (st *seqState) row(l int) []int64 {
	s := rowStart(l)
	return st.times[s : s+l+1]
}

// progress is the number of steps of the most advanced partial run.
func (st *seqState) progress() int { return bits.Len64(st.live) }

// SequenceResult is the state of a key's runs after an observation.
type SequenceResult struct {
	// Fired is true when the observation completed the last step.
	Fired bool
	// StepTimes holds, when Fired, the time each step of the firing run
	// matched, in UTC; nil otherwise.
	StepTimes []time.Time
	// Progress is the number of steps completed by the most advanced live
	// run: all of them when Fired, 0 when no run is in progress.
	Progress int
}

// NewSequence prepares sequence state for spec. It fails with ErrInvalidSpec
// unless there are between 1 and 64 steps and Within is positive.
func NewSequence(spec *policies.Sequence, opts Options) (*Sequence, error) {
	if spec == nil {
		return nil, fmt.Errorf("%w: sequence: no specification", ErrInvalidSpec)
	}
	if n := len(spec.Steps); n == 0 || n > maxSequenceSteps {
		return nil, fmt.Errorf("%w: sequence: need 1 to %d steps, got %d", ErrInvalidSpec, maxSequenceSteps, n)
	}
	within := int64(spec.Within.D())
	if within <= 0 {
		return nil, fmt.Errorf("%w: sequence: within must be positive, got %s", ErrInvalidSpec, spec.Within)
	}
	return &Sequence{
		steps:  len(spec.Steps),
		within: within,
		fp:     fingerprint("sequence", len(spec.Steps), within, spec.By),
		store:  newStore[seqState](opts.maxKeys()),
	}, nil
}

// Observe records the steps an event for key at event time ts matched:
// matched[i] is true when the event matched step i. Missing entries count as
// false and extra ones are ignored.
func (s *Sequence) Observe(key string, ts time.Time, matched []bool) SequenceResult {
	at := nanos(ts)
	step := func(i int) bool { return i < len(matched) && matched[i] }
	sh := s.store.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st, created := s.store.get(sh, key)
	if created {
		st.newest = at
	}
	if st.newest-at >= s.within {
		return SequenceResult{Progress: st.progress()}
	}
	now := max(at, st.newest)
	st.newest = now
	for l := range s.steps - 1 {
		if st.live&(1<<l) != 0 && now-st.row(l)[0] >= s.within {
			st.live &^= 1 << l
		}
	}
	// From the most advanced run down, so that a run moved up a level is
	// not moved again by the same event.
	for l := s.steps - 2; l >= 0; l-- {
		if st.live&(1<<l) == 0 || !step(l+1) {
			continue
		}
		run := st.row(l)
		if at < run[l] || at-run[0] >= s.within {
			continue
		}
		if l+1 == s.steps-1 {
			return s.fire(st, run, at)
		}
		st.live &^= 1 << l
		if st.live&(1<<(l+1)) != 0 && st.row(l + 1)[0] > run[0] {
			// A later-started run already has this progress.
			continue
		}
		next := st.row(l + 1)
		copy(next, run)
		next[l+1] = at
		st.live |= 1 << (l + 1)
	}
	if step(0) {
		if s.steps == 1 {
			return s.fire(st, nil, at)
		}
		if st.live&1 == 0 || st.row(0)[0] <= at {
			if st.times == nil {
				st.times = make([]int64, rowStart(s.steps-1))
			}
			st.row(0)[0] = at
			st.live |= 1
		}
	}
	return SequenceResult{Progress: st.progress()}
}

func (s *Sequence) fire(st *seqState, run []int64, at int64) SequenceResult {
	times := make([]time.Time, 0, s.steps)
	for _, t := range run {
		times = append(times, toTime(t))
	}
	times = append(times, toTime(at))
	st.live = 0
	return SequenceResult{Fired: true, StepTimes: times, Progress: s.steps}
}

// Keys returns the number of keys tracked.
func (s *Sequence) Keys() int { return s.store.keys() }

// Evictions returns how many keys have been evicted to stay within
// Options.MaxKeys since the Sequence was created.
func (s *Sequence) Evictions() uint64 { return s.store.evictions.Load() }

// Prune drops every key with no run that can still complete at now (event
// time) and returns how many it dropped.
func (s *Sequence) Prune(now time.Time) int {
	cutoff := nanos(now) - s.within
	return s.store.removeIf(func(st *seqState) bool {
		for l := range s.steps - 1 {
			if st.live&(1<<l) != 0 && st.row(l)[0] > cutoff {
				return false
			}
		}
		return true
	})
}

// Snapshot writes the state of every key to w in the versioned binary
// snapshot format described in docs/state.md.
func (s *Sequence) Snapshot(w io.Writer) error {
	if err := writeSnapshot(w, s.store, kindSequence, s.fp, s.encode); err != nil {
		return fmt.Errorf("snapshot sequence state: %w", err)
	}
	return nil
}

// Restore replaces all state with a snapshot written by Snapshot for the
// same specification. If the snapshot holds more keys than MaxKeys allows,
// the keys with the oldest events are evicted. On error the current state is left unchanged: garbage
// gives ErrSnapshot, a snapshot of another rule ErrSnapshotMismatch.
func (s *Sequence) Restore(r io.Reader) error {
	var entries []entry[seqState]
	err := readSnapshot(r, kindSequence, s.fp, func(d *decoder) {
		e := entry[seqState]{key: d.str()}
		s.decode(d, &e.val)
		if d.err == nil {
			entries = append(entries, e)
		}
	})
	if err != nil {
		return fmt.Errorf("restore sequence state: %w", err)
	}
	s.store.replace(entries, func(st *seqState) int64 { return st.newest })
	return nil
}

func (s *Sequence) encode(b []byte, st *seqState) []byte {
	b = binary.AppendVarint(b, st.newest)
	b = binary.AppendUvarint(b, st.live)
	for l := range s.steps - 1 {
		if st.live&(1<<l) != 0 {
			b = appendTimes(b, st.row(l))
		}
	}
	return b
}

func (s *Sequence) decode(d *decoder, st *seqState) {
	st.newest = d.varint()
	st.live = d.uvarint()
	if d.err != nil {
		return
	}
	if st.live>>(s.steps-1) != 0 {
		d.fail("run with more steps than the sequence")
		return
	}
	if st.live == 0 {
		return
	}
	st.times = make([]int64, rowStart(s.steps-1))
	for l := range s.steps - 1 {
		if st.live&(1<<l) == 0 {
			continue
		}
		run := d.times(l+1, st.row(l)[:0])
		if d.err == nil && run[l] > st.newest {
			d.fail("step time after the key's newest event")
		}
	}
}
