package state

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/vigil-itm/vigil/policies"
)

// maxBaselineBuckets is the most history buckets (History / Window) a
// baseline may keep per key.
const maxBaselineBuckets = 8192

// Baseline keeps, per key, the count (or sum of a field) of matching events
// in buckets of Window aligned to the Unix epoch (UTC) over History, and says
// when the current bucket is well above the key's own past.
//
// The history of a bucket is the History/Window complete buckets before it,
// starting no earlier than the key's first bucket; buckets without events
// count as zero. Mean and StdDev (population) are taken over that history and
// the limit is the largest of Factor×Mean (when Factor is set),
// Mean+Sigma×StdDev (when Sigma is set) and Min. The baseline fires when the
// current bucket's total, this event included, exceeds the limit, at most
// once per key per bucket. Until the history covers MinHistory (default
// History/2) the key is learning and nothing fires.
//
// An event in an earlier bucket still held (out of order) is added to that
// bucket, so it counts in later history, but never fires; an event older
// than the held buckets is dropped. Results are for the key's newest bucket.
// NaN and infinite values are ignored. Keys are never dropped for being idle,
// because a key's first bucket decides its history; an evicted key starts
// learning again. A key uses 8 bytes per bucket, (History/Window+1)×8 in
// all, and History/Window may not exceed 8192.
//
// A Baseline is safe for concurrent use.
type Baseline struct {
	window     int64
	buckets    int // history buckets
	minHistory int64
	factor     float64
	sigma      float64
	min        float64
	fp         uint64
	store      *store[blState]
}

// blState is one key's buckets: ring[floorMod(i, len(ring))] holds bucket i
// for cur-len(ring) < i <= cur. The history statistics are cached for the
// bucket statsAt while statsOK.
type blState struct {
	first   int64
	cur     int64
	fired   int64
	ring    []float64
	statsAt int64
	statsOK bool
	mean    float64
	std     float64
	hist    int
}

// BaselineResult is the state of a key's baseline after an observation.
type BaselineResult struct {
	// Fired is true when Current exceeds Limit, the key is not learning
	// and the key has not fired in this bucket yet.
	Fired bool
	// Learning is true while the key's history is shorter than MinHistory.
	Learning bool
	// Current is the total of the key's newest bucket.
	Current float64
	// Mean and StdDev describe the key's history buckets.
	Mean, StdDev float64
	// Limit is the value Current must exceed.
	Limit float64
	// HistoryBuckets is the number of history buckets the statistics use.
	HistoryBuckets int
}

// NewBaseline prepares baseline state for spec. It fails with ErrInvalidSpec
// unless Window is positive, History holds between 1 and 8192 windows,
// MinHistory is at most History, Factor, Sigma and Min are finite and not
// negative, and Factor or Sigma is set.
func NewBaseline(spec *policies.Baseline, opts Options) (*Baseline, error) {
	if spec == nil {
		return nil, fmt.Errorf("%w: baseline: no specification", ErrInvalidSpec)
	}
	window, history, minHistory := int64(spec.Window.D()), int64(spec.History.D()), int64(spec.MinHistory.D())
	switch {
	case window <= 0:
		return nil, fmt.Errorf("%w: baseline: window must be positive, got %s", ErrInvalidSpec, spec.Window)
	case history < window:
		return nil, fmt.Errorf("%w: baseline: history %s is shorter than the window %s", ErrInvalidSpec, spec.History, spec.Window)
	case history/window > maxBaselineBuckets:
		return nil, fmt.Errorf("%w: baseline: history %s holds %d windows of %s, more than %d",
			ErrInvalidSpec, spec.History, history/window, spec.Window, maxBaselineBuckets)
	case minHistory < 0 || minHistory > history:
		return nil, fmt.Errorf("%w: baseline: min_history %s must be between 0 and history %s", ErrInvalidSpec, spec.MinHistory, spec.History)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"factor", spec.Factor}, {"sigma", spec.Sigma}, {"min", spec.Min}} {
		if p.v < 0 || math.IsNaN(p.v) || math.IsInf(p.v, 0) {
			return nil, fmt.Errorf("%w: baseline: %s must be finite and not negative, got %v", ErrInvalidSpec, p.name, p.v)
		}
	}
	if spec.Factor == 0 && spec.Sigma == 0 {
		return nil, fmt.Errorf("%w: baseline: factor or sigma must be set", ErrInvalidSpec)
	}
	if minHistory == 0 {
		minHistory = history / 2
	}
	return &Baseline{
		window:     window,
		buckets:    int(history / window),
		minHistory: minHistory,
		factor:     spec.Factor,
		sigma:      spec.Sigma,
		min:        spec.Min,
		fp:         fingerprint("baseline", spec.Field, window, history, minHistory, spec.Factor, spec.Sigma, spec.Min, spec.By),
		store:      newStore[blState](opts.maxKeys()),
	}, nil
}

// Observe adds value to key's bucket for event time ts and compares the
// newest bucket with the key's history. value is 1 for count baselines and
// the field value for sum baselines.
func (b *Baseline) Observe(key string, ts time.Time, value float64) BaselineResult {
	idx := floorDiv(nanos(ts), b.window)
	if math.IsNaN(value) || math.IsInf(value, 0) {
		value = 0
	}
	sh := b.store.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st, created := b.store.get(sh, key)
	if created {
		st.first, st.cur, st.fired = idx, idx, math.MinInt64
		st.ring = make([]float64, b.buckets+1)
	}
	size := int64(len(st.ring))
	late := idx < st.cur
	switch {
	case idx > st.cur:
		if gap := idx - st.cur; gap > 0 && gap < size {
			for i := range gap {
				st.ring[floorMod(st.cur+1+i, size)] = 0
			}
		} else {
			clear(st.ring)
		}
		st.cur = idx
		st.ring[floorMod(idx, size)] += value
	case idx <= st.cur-size:
		// Older than every bucket held: dropped.
	default:
		st.ring[floorMod(idx, size)] += value
		if late {
			st.statsOK = false
			st.first = min(st.first, idx)
		}
	}
	res := b.evaluate(st)
	if res.Fired && !late {
		st.fired = st.cur
	} else {
		res.Fired = false
	}
	return res
}

// evaluate compares the newest bucket with its history.
func (b *Baseline) evaluate(st *blState) BaselineResult {
	size := int64(len(st.ring))
	if !st.statsOK || st.statsAt != st.cur {
		lo := max(st.first, st.cur-int64(b.buckets))
		n := st.cur - lo
		var sum float64
		for i := lo; i < st.cur; i++ {
			sum += st.ring[floorMod(i, size)]
		}
		mean, variance := 0.0, 0.0
		if n > 0 {
			mean = sum / float64(n)
			for i := lo; i < st.cur; i++ {
				d := st.ring[floorMod(i, size)] - mean
				variance += d * d
			}
			variance /= float64(n)
		}
		st.statsAt, st.statsOK = st.cur, true
		st.mean, st.std, st.hist = mean, math.Sqrt(variance), int(n)
	}
	res := BaselineResult{
		Learning:       int64(st.hist)*b.window < b.minHistory,
		Current:        st.ring[floorMod(st.cur, size)],
		Mean:           st.mean,
		StdDev:         st.std,
		Limit:          b.min,
		HistoryBuckets: st.hist,
	}
	if b.factor > 0 {
		res.Limit = max(res.Limit, b.factor*st.mean)
	}
	if b.sigma > 0 {
		res.Limit = max(res.Limit, st.mean+b.sigma*st.std)
	}
	res.Fired = !res.Learning && res.Current > res.Limit && st.fired != st.cur
	return res
}

// Keys returns the number of keys tracked.
func (b *Baseline) Keys() int { return b.store.keys() }

// Evictions returns how many keys have been evicted to stay within
// Options.MaxKeys since the Baseline was created.
func (b *Baseline) Evictions() uint64 { return b.store.evictions.Load() }

// Snapshot writes the state of every key to w in the versioned binary
// snapshot format described in docs/state.md.
func (b *Baseline) Snapshot(w io.Writer) error {
	if err := writeSnapshot(w, b.store, kindBaseline, b.fp, b.encode); err != nil {
		return fmt.Errorf("snapshot baseline state: %w", err)
	}
	return nil
}

// Restore replaces all state with a snapshot written by Snapshot for the
// same specification. If the snapshot holds more keys than MaxKeys allows,
// the keys with the oldest events are evicted. On error the current state is left unchanged: garbage
// gives ErrSnapshot, a snapshot of another rule ErrSnapshotMismatch.
func (b *Baseline) Restore(r io.Reader) error {
	var entries []entry[blState]
	err := readSnapshot(r, kindBaseline, b.fp, func(d *decoder) {
		e := entry[blState]{key: d.str()}
		b.decode(d, &e.val)
		if d.err == nil {
			entries = append(entries, e)
		}
	})
	if err != nil {
		return fmt.Errorf("restore baseline state: %w", err)
	}
	b.store.replace(entries, func(st *blState) int64 { return st.cur })
	return nil
}

// encode writes the first and newest bucket, whether the key has fired in
// the newest bucket and the held buckets from the oldest to the newest.
func (b *Baseline) encode(buf []byte, st *blState) []byte {
	buf = binary.AppendVarint(buf, st.first)
	buf = binary.AppendVarint(buf, st.cur)
	fired := byte(0)
	if st.fired == st.cur {
		fired = 1
	}
	buf = append(buf, fired)
	size := int64(len(st.ring))
	for i := range size {
		buf = appendFloat(buf, st.ring[floorMod(st.cur-size+1+i, size)])
	}
	return buf
}

func (b *Baseline) decode(d *decoder, st *blState) {
	st.first = d.varint()
	st.cur = d.varint()
	fired := d.byte()
	if d.err != nil {
		return
	}
	lo, hi := floorDiv(math.MinInt64, b.window), floorDiv(math.MaxInt64, b.window)
	switch {
	case st.first < lo || st.cur > hi:
		d.fail("bucket out of range")
		return
	case st.first > st.cur:
		d.fail("first bucket after the newest")
		return
	case fired > 1:
		d.fail("bad fired flag")
		return
	}
	// Only "fired in the newest bucket" matters: cur never moves back.
	st.fired = math.MinInt64
	if fired == 1 {
		st.fired = st.cur
	}
	size := int64(b.buckets + 1)
	if int64(len(d.b)) < size*8 {
		d.fail("truncated buckets")
		return
	}
	st.ring = make([]float64, size)
	for i := range size {
		v := d.float()
		if math.IsNaN(v) || math.IsInf(v, 0) {
			d.fail("bucket total not finite")
			return
		}
		if idx := st.cur - size + 1 + i; idx >= st.first {
			st.ring[floorMod(idx, size)] = v
		}
	}
}
