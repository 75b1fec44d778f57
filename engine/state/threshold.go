package state

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/vigil-itm/vigil/policies"
)

// aggregate is what a threshold measures over its window.
type aggregate uint8

const (
	aggCount aggregate = iota
	aggSum
	aggDistinct
)

func (a aggregate) String() string {
	switch a {
	case aggSum:
		return "sum"
	case aggDistinct:
		return "distinct"
	}
	return "count"
}

// Bounds of a threshold key's window. A count or sum key keeps up to
// maxExactEntries events exactly; past that it folds them into
// bucketsPerWindow time buckets (plus one for the bucket the window's start
// falls in), trading edge precision for bounded memory.
const (
	maxExactEntries  = 512
	bucketsPerWindow = 64
	ringBuckets      = bucketsPerWindow + 1
)

// Threshold keeps, per key, a sliding window of event time over the events
// matching a threshold rule and says when the window's count, sum or number
// of distinct values reaches the rule's bound.
//
// The window for an event at time ts is (ts-window, ts]: an event exactly one
// window older than ts is outside it. When the bound is reached the key's
// window is cleared, so a burst of 100 events against a count of 50 fires
// twice, not 51 times.
//
// A count key keeps at most min(count, 512) timestamps. A sum key keeps up
// to 512 (time, value) pairs; beyond that its window is kept in 64 buckets of
// window/64 (rounded up) aligned to the Unix epoch, and a bucket counts for as
// long as any part of it overlaps the window, so events up to window/64
// older than the window may still be counted (never fewer than the exact
// window holds). A count bound above 512 uses the same buckets. A distinct
// key keeps each distinct value with its last-seen time, exactly; the bound
// must be reachable within Options.MaxValuesPerKey values.
//
// An event older than the newest event seen for its key (out of order) is
// counted when it falls inside the window ending at that newest event and
// dropped, without being counted, when it does not; results are always for
// the window ending at the key's newest event. Sum values that are NaN or
// infinite count as events with value 0.
//
// A Threshold is safe for concurrent use.
type Threshold struct {
	agg       aggregate
	window    int64
	granule   int64
	count     int64
	limit     float64
	strict    bool
	op        string
	maxValues int
	fp        uint64
	store     *store[thresholdState]
}

// thresholdState is one key's window. Exactly one representation is in use:
// the value set for distinct thresholds, else the bucket ring when non-nil,
// else the exact times (and values, for sums) sorted by time.
type thresholdState struct {
	newest int64
	times  []int64
	values []float64
	sum    float64
	ring   *[ringBuckets]tBucket
	set    *valueSet
}

// tBucket holds the events of one granule of a threshold window.
type tBucket struct {
	idx int64
	n   int64
	sum float64
}

// ThresholdResult is the state of a key's window after an observation.
type ThresholdResult struct {
	// Fired is true when the window reached the bound; the window has
	// then been cleared.
	Fired bool
	// Count is the number of events in the window for count and sum
	// thresholds; it is not tracked (zero) for distinct thresholds.
	Count int64
	// Sum is the sum of the field over the window for sum thresholds.
	Sum float64
	// Distinct is the number of distinct values in the window for distinct
	// thresholds.
	Distinct int64
	// Limit is the bound the aggregate is compared with.
	Limit float64
	// Op is the comparison: ">=" (reaches) or ">" (exceeds).
	Op string
	// Aggregate names what is measured: "count", "sum" or "distinct".
	Aggregate string
	// WindowStart and WindowEnd delimit the window (WindowStart,
	// WindowEnd], in UTC; WindowEnd is the key's newest event time.
	WindowStart, WindowEnd time.Time
}

// NewThreshold prepares threshold state for spec. It fails with
// ErrInvalidSpec unless exactly one of Count, Sum and Distinct is set, the
// window is positive, a field bound has exactly one finite GT or GTE, and a
// distinct bound is non-negative and reachable within MaxValuesPerKey.
func NewThreshold(spec *policies.Threshold, opts Options) (*Threshold, error) {
	if spec == nil {
		return nil, fmt.Errorf("%w: threshold: no specification", ErrInvalidSpec)
	}
	w := int64(spec.Window.D())
	if w <= 0 {
		return nil, fmt.Errorf("%w: threshold: window must be positive, got %s", ErrInvalidSpec, spec.Window)
	}
	set := 0
	if spec.Count != 0 {
		set++
	}
	if spec.Sum != nil {
		set++
	}
	if spec.Distinct != nil {
		set++
	}
	if set != 1 {
		return nil, fmt.Errorf("%w: threshold: exactly one of count, sum and distinct must be set", ErrInvalidSpec)
	}
	t := &Threshold{
		window:    w,
		granule:   (w + bucketsPerWindow - 1) / bucketsPerWindow,
		maxValues: opts.maxValues(),
	}
	var field string
	switch {
	case spec.Count != 0:
		if spec.Count < 0 {
			return nil, fmt.Errorf("%w: threshold: count must be positive, got %d", ErrInvalidSpec, spec.Count)
		}
		t.agg, t.count, t.limit, t.op = aggCount, spec.Count, float64(spec.Count), ">="
	case spec.Sum != nil:
		t.agg, field = aggSum, spec.Sum.Field
		if err := t.setBound("sum", spec.Sum); err != nil {
			return nil, err
		}
	default:
		t.agg, field = aggDistinct, spec.Distinct.Field
		if err := t.setBound("distinct", spec.Distinct); err != nil {
			return nil, err
		}
		if t.limit < 0 {
			return nil, fmt.Errorf("%w: threshold: distinct bound must not be negative, got %v", ErrInvalidSpec, t.limit)
		}
		need := math.Ceil(t.limit)
		if t.strict {
			need = math.Floor(t.limit) + 1
		}
		if need > float64(t.maxValues) {
			return nil, fmt.Errorf("%w: threshold: distinct bound %s %v needs %v values per key, more than MaxValuesPerKey %d",
				ErrInvalidSpec, t.op, t.limit, need, t.maxValues)
		}
	}
	t.fp = fingerprint("threshold", t.agg.String(), t.count, field, t.limit, t.strict, t.window, spec.By)
	t.store = newStore[thresholdState](opts.maxKeys())
	return t, nil
}

func (t *Threshold) setBound(name string, b *policies.FieldBound) error {
	switch {
	case (b.GT == nil) == (b.GTE == nil):
		return fmt.Errorf("%w: threshold: %s: exactly one of gt and gte must be set", ErrInvalidSpec, name)
	case b.GT != nil:
		t.limit, t.strict, t.op = *b.GT, true, ">"
	default:
		t.limit, t.strict, t.op = *b.GTE, false, ">="
	}
	if math.IsNaN(t.limit) || math.IsInf(t.limit, 0) {
		return fmt.Errorf("%w: threshold: %s: bound must be finite", ErrInvalidSpec, name)
	}
	return nil
}

// Observe records one matching event for key at event time ts and reports
// the key's window. value is the field value for sum thresholds and distinct
// the field value for distinct thresholds; each is ignored otherwise.
func (t *Threshold) Observe(key string, ts time.Time, value float64, distinct string) ThresholdResult {
	at := nanos(ts)
	sh := t.store.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st, created := t.store.get(sh, key)
	if created {
		st.newest = at
	}
	now := max(at, st.newest)
	st.newest = now
	lo := now - t.window
	t.expire(st, lo)
	if at > lo {
		t.add(st, at, value, distinct)
	}
	res := t.result(st, lo, now)
	if res.Fired {
		st.clear()
	}
	return res
}

// expire drops what left the window (lo, newest].
func (t *Threshold) expire(st *thresholdState, lo int64) {
	switch {
	case t.agg == aggDistinct:
		if st.set != nil {
			st.set.forget(lo)
		}
	case st.ring != nil:
		loIdx := floorDiv(lo, t.granule)
		for i := range st.ring {
			if b := &st.ring[i]; b.n != 0 && b.idx >= loIdx {
				return
			}
		}
		// Nothing left in the window: go back to exact entries.
		st.ring = nil
	default:
		i := sort.Search(len(st.times), func(j int) bool { return st.times[j] > lo })
		if i == 0 {
			return
		}
		st.times = st.times[:copy(st.times, st.times[i:])]
		if t.agg == aggSum {
			st.values = st.values[:copy(st.values, st.values[i:])]
			// Re-adding avoids drift from repeated subtraction.
			st.sum = 0
			for _, v := range st.values {
				st.sum += v
			}
		}
	}
}

func (t *Threshold) add(st *thresholdState, at int64, value float64, distinct string) {
	if t.agg == aggDistinct {
		if st.set == nil {
			st.set = &valueSet{}
		}
		if _, known := st.set.lookup(distinct); !known && st.set.len() >= t.maxValues {
			st.set.removeOldest()
		}
		st.set.touch(distinct, at)
		return
	}
	if t.agg == aggCount || math.IsNaN(value) || math.IsInf(value, 0) {
		value = 0
	}
	if st.ring == nil && len(st.times) >= maxExactEntries {
		t.toBuckets(st)
	}
	if st.ring != nil {
		t.addBucket(st, at, 1, value)
		return
	}
	i := len(st.times)
	if i > 0 && st.times[i-1] > at {
		i = sort.Search(len(st.times), func(j int) bool { return st.times[j] > at })
	}
	st.times = slices.Insert(st.times, i, at)
	if t.agg == aggSum {
		st.values = slices.Insert(st.values, i, value)
		st.sum += value
	}
}

func (t *Threshold) toBuckets(st *thresholdState) {
	st.ring = new([ringBuckets]tBucket)
	for i, at := range st.times {
		v := 0.0
		if t.agg == aggSum {
			v = st.values[i]
		}
		t.addBucket(st, at, 1, v)
	}
	st.times, st.values, st.sum = nil, nil, 0
}

func (t *Threshold) addBucket(st *thresholdState, at, n int64, v float64) {
	idx := floorDiv(at, t.granule)
	b := &st.ring[floorMod(idx, ringBuckets)]
	if b.idx != idx || b.n == 0 {
		// The slot held a bucket that has left the window.
		*b = tBucket{idx: idx}
	}
	b.n += n
	b.sum += v
}

func (t *Threshold) result(st *thresholdState, lo, now int64) ThresholdResult {
	r := ThresholdResult{
		Limit:       t.limit,
		Op:          t.op,
		Aggregate:   t.agg.String(),
		WindowStart: toTime(lo),
		WindowEnd:   toTime(now),
	}
	switch {
	case t.agg == aggDistinct:
		if st.set != nil {
			r.Distinct = int64(st.set.len())
		}
		r.Fired = t.reached(float64(r.Distinct))
		return r
	case st.ring != nil:
		loIdx := floorDiv(lo, t.granule)
		for i := range st.ring {
			if b := &st.ring[i]; b.n != 0 && b.idx >= loIdx {
				r.Count += b.n
				r.Sum += b.sum
			}
		}
	default:
		r.Count, r.Sum = int64(len(st.times)), st.sum
	}
	if t.agg == aggCount {
		r.Fired = r.Count >= t.count
	} else {
		r.Fired = t.reached(r.Sum)
	}
	return r
}

func (t *Threshold) reached(x float64) bool {
	if t.strict {
		return x > t.limit
	}
	return x >= t.limit
}

func (st *thresholdState) clear() {
	st.times = st.times[:0]
	st.values = st.values[:0]
	st.sum = 0
	st.ring = nil
	if st.set != nil {
		st.set.reset()
	}
}

// Keys returns the number of keys tracked.
func (t *Threshold) Keys() int { return t.store.keys() }

// Evictions returns how many keys have been evicted to stay within
// Options.MaxKeys since the Threshold was created.
func (t *Threshold) Evictions() uint64 { return t.store.evictions.Load() }

// Prune drops every key whose newest event is at least one window older than
// now (event time), so its window is empty, and returns how many it dropped.
// A late event for a pruned key is then judged as the key's first event.
func (t *Threshold) Prune(now time.Time) int {
	lo := nanos(now) - t.window
	return t.store.removeIf(func(st *thresholdState) bool { return st.newest <= lo })
}

// Snapshot representations of a threshold key.
const (
	thresholdExact byte = iota
	thresholdBuckets
	thresholdDistinct
)

// Snapshot writes the state of every key to w in the versioned binary
// snapshot format described in docs/state.md.
func (t *Threshold) Snapshot(w io.Writer) error {
	if err := writeSnapshot(w, t.store, kindThreshold, t.fp, t.encode); err != nil {
		return fmt.Errorf("snapshot threshold state: %w", err)
	}
	return nil
}

// Restore replaces all state with a snapshot written by Snapshot for the
// same specification. If the snapshot holds more keys than MaxKeys allows,
// the keys with the oldest events are evicted. On error the current state is left unchanged: garbage
// gives ErrSnapshot, a snapshot of another rule ErrSnapshotMismatch.
func (t *Threshold) Restore(r io.Reader) error {
	var entries []entry[thresholdState]
	err := readSnapshot(r, kindThreshold, t.fp, func(d *decoder) {
		e := entry[thresholdState]{key: d.str()}
		t.decode(d, &e.val)
		if d.err == nil {
			entries = append(entries, e)
		}
	})
	if err != nil {
		return fmt.Errorf("restore threshold state: %w", err)
	}
	t.store.replace(entries, func(st *thresholdState) int64 { return st.newest })
	return nil
}

func (t *Threshold) encode(b []byte, st *thresholdState) []byte {
	b = binary.AppendVarint(b, st.newest)
	switch {
	case t.agg == aggDistinct:
		b = append(b, thresholdDistinct)
		if st.set == nil {
			return binary.AppendUvarint(b, 0)
		}
		return appendValueSet(b, st.set)
	case st.ring != nil:
		b = append(b, thresholdBuckets)
		loIdx := floorDiv(st.newest-t.window, t.granule)
		live := 0
		for i := range st.ring {
			if st.ring[i].n != 0 && st.ring[i].idx >= loIdx {
				live++
			}
		}
		b = binary.AppendUvarint(b, uint64(live))
		for i := range st.ring {
			if bk := &st.ring[i]; bk.n != 0 && bk.idx >= loIdx {
				b = binary.AppendVarint(b, bk.idx)
				b = binary.AppendUvarint(b, uint64(bk.n))
				b = appendFloat(b, bk.sum)
			}
		}
		return b
	default:
		b = append(b, thresholdExact)
		b = binary.AppendUvarint(b, uint64(len(st.times)))
		b = appendTimes(b, st.times)
		if t.agg == aggSum {
			for _, v := range st.values {
				b = appendFloat(b, v)
			}
		}
		return b
	}
}

func (t *Threshold) decode(d *decoder, st *thresholdState) {
	st.newest = d.varint()
	mode := d.byte()
	if d.err != nil {
		return
	}
	if (mode == thresholdDistinct) != (t.agg == aggDistinct) {
		d.fail("threshold representation %d does not match aggregate %s", mode, t.agg)
		return
	}
	switch mode {
	case thresholdDistinct:
		set := &valueSet{}
		d.valueSet(set, t.maxValues, t.maxValues, st.newest)
		if set.len() > 0 {
			st.set = set
		}
	case thresholdExact:
		n := d.count(maxExactEntries)
		st.times = d.times(n, make([]int64, 0, n))
		if n > 0 && d.err == nil && st.times[n-1] > st.newest {
			d.fail("event time after the key's newest event")
		}
		if t.agg == aggSum {
			st.values = make([]float64, 0, n)
			for i := 0; i < n && d.err == nil; i++ {
				v := d.float()
				if math.IsNaN(v) || math.IsInf(v, 0) {
					d.fail("value not finite")
				}
				st.values = append(st.values, v)
				st.sum += v
			}
		}
	case thresholdBuckets:
		n := d.count(ringBuckets)
		st.ring = new([ringBuckets]tBucket)
		loIdx := floorDiv(st.newest-t.window, t.granule)
		hiIdx := floorDiv(st.newest, t.granule)
		for i := 0; i < n && d.err == nil; i++ {
			idx, cnt, sum := d.varint(), d.uvarint(), d.float()
			b := &st.ring[floorMod(idx, ringBuckets)]
			switch {
			case d.err != nil:
			case idx < loIdx || idx > hiIdx:
				d.fail("bucket outside the window")
			case cnt == 0 || cnt > 1<<48:
				d.fail("bad bucket count")
			case math.IsNaN(sum) || math.IsInf(sum, 0):
				d.fail("bucket sum not finite")
			case b.n != 0:
				d.fail("duplicate bucket")
			default:
				*b = tBucket{idx: idx, n: int64(cnt), sum: sum}
			}
		}
		if n == 0 {
			st.ring = nil
		}
	default:
		d.fail("unknown threshold representation %d", mode)
	}
}
