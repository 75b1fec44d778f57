package state

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies"
)

func TestNewThresholdErrors(t *testing.T) {
	win := pd(10 * time.Minute)
	tests := []struct {
		name string
		spec *policies.Threshold
		opts Options
		want string
	}{
		{"nil spec", nil, Options{}, "no specification"},
		{"zero window", &policies.Threshold{Count: 5}, Options{}, "window must be positive"},
		{"nothing to measure", &policies.Threshold{Window: win}, Options{}, "exactly one of count, sum and distinct"},
		{"two aggregates", &policies.Threshold{Window: win, Count: 5, Sum: &policies.FieldBound{Field: "x", GT: ptr(1)}}, Options{}, "exactly one of count, sum and distinct"},
		{"negative count", &policies.Threshold{Window: win, Count: -1}, Options{}, "count must be positive"},
		{"sum without bound", &policies.Threshold{Window: win, Sum: &policies.FieldBound{Field: "x"}}, Options{}, "exactly one of gt and gte"},
		{"sum with both bounds", &policies.Threshold{Window: win, Sum: &policies.FieldBound{Field: "x", GT: ptr(1), GTE: ptr(2)}}, Options{}, "exactly one of gt and gte"},
		{"sum with NaN bound", &policies.Threshold{Window: win, Sum: &policies.FieldBound{Field: "x", GT: ptr(math.NaN())}}, Options{}, "bound must be finite"},
		{"negative distinct bound", &policies.Threshold{Window: win, Distinct: &policies.FieldBound{Field: "x", GTE: ptr(-1)}}, Options{}, "must not be negative"},
		{"distinct bound past the value cap", &policies.Threshold{Window: win, Distinct: &policies.FieldBound{Field: "x", GT: ptr(10)}}, Options{MaxValuesPerKey: 10}, "needs 11 values per key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, err := NewThreshold(tt.spec, tt.opts)
			require.Nil(t, th)
			require.ErrorIs(t, err, ErrInvalidSpec)
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err := NewThreshold(&policies.Threshold{Window: win, Distinct: &policies.FieldBound{Field: "x", GT: ptr(9)}}, Options{MaxValuesPerKey: 10})
	require.NoError(t, err, "a distinct bound reachable within the cap is accepted")
}

// thresholdStep is one observation and what it must report.
type thresholdStep struct {
	at       time.Duration
	value    float64
	distinct string
	fired    bool
	count    int64
	sum      float64
	nDist    int64
}

func runThreshold(t *testing.T, spec *policies.Threshold, steps []thresholdStep) {
	t.Helper()
	th, err := NewThreshold(spec, Options{})
	require.NoError(t, err)
	for i, s := range steps {
		r := th.Observe("alice", at(s.at), s.value, s.distinct)
		require.Equal(t, s.fired, r.Fired, "step %d (at %s): fired", i, s.at)
		require.Equal(t, s.count, r.Count, "step %d (at %s): count", i, s.at)
		require.InDelta(t, s.sum, r.Sum, 1e-9, "step %d (at %s): sum", i, s.at)
		require.Equal(t, s.nDist, r.Distinct, "step %d (at %s): distinct", i, s.at)
	}
}

func TestThresholdCount(t *testing.T) {
	spec := &policies.Threshold{Count: 3, Window: pd(10 * time.Second)}
	tests := []struct {
		name  string
		steps []thresholdStep
	}{
		{"fires when the count is reached and starts again", []thresholdStep{
			{at: 0, count: 1},
			{at: time.Second, count: 2},
			{at: 2 * time.Second, count: 3, fired: true},
			{at: 3 * time.Second, count: 1},
		}},
		{"an event exactly one window old is outside the window", []thresholdStep{
			{at: 0, count: 1},
			{at: 5 * time.Second, count: 2},
			{at: 10 * time.Second, count: 2},
			{at: 15*time.Second - 1, count: 3, fired: true},
		}},
		{"an event one nanosecond inside the window counts", []thresholdStep{
			{at: 0, count: 1},
			{at: 5 * time.Second, count: 2},
			{at: 10*time.Second - 1, count: 3, fired: true},
		}},
		{"events at the same time all count", []thresholdStep{
			{at: time.Second, count: 1},
			{at: time.Second, count: 2},
			{at: time.Second, count: 3, fired: true},
		}},
		{"a late event inside the window counts", []thresholdStep{
			{at: 10 * time.Second, count: 1},
			{at: 5 * time.Second, count: 2},
			{at: 12 * time.Second, count: 3, fired: true},
		}},
		{"a late event a window or more older than the newest is dropped", []thresholdStep{
			{at: 20 * time.Second, count: 1},
			{at: 10 * time.Second, count: 1},
			{at: 9 * time.Second, count: 1},
			{at: 10*time.Second + 1, count: 2},
			{at: 21 * time.Second, count: 2},
		}},
		{"a late event that counts keeps the window ending at the newest", []thresholdStep{
			{at: 0, count: 1},
			{at: 9 * time.Second, count: 2},
			{at: 11 * time.Second, count: 2},
			{at: 2 * time.Second, count: 3, fired: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runThreshold(t, spec, tt.steps) })
	}
}

func TestThresholdLateEventBeyondWindowIsNotStored(t *testing.T) {
	th, err := NewThreshold(&policies.Threshold{Count: 3, Window: pd(10 * time.Second)}, Options{})
	require.NoError(t, err)
	th.Observe("k", at(20*time.Second), 0, "")
	th.Observe("k", at(0), 0, "")
	sh := th.store.shardFor("k")
	st, _ := th.store.get(sh, "k")
	require.Equal(t, []int64{nanos(at(20 * time.Second))}, st.times)
}

func TestThresholdBurstFiresOncePerCount(t *testing.T) {
	th, err := NewThreshold(&policies.Threshold{Count: 50, Window: pd(10 * time.Minute)}, Options{})
	require.NoError(t, err)
	var firedAt []int
	for i := range 100 {
		if th.Observe("alice", at(time.Second), 0, "").Fired {
			firedAt = append(firedAt, i)
		}
	}
	require.Equal(t, []int{49, 99}, firedAt)
}

func TestThresholdResultDescribesWindow(t *testing.T) {
	th, err := NewThreshold(&policies.Threshold{Count: 2, Window: pd(10 * time.Minute)}, Options{})
	require.NoError(t, err)
	th.Observe("alice", at(0), 0, "")
	r := th.Observe("alice", at(time.Minute), 0, "")
	require.Equal(t, ThresholdResult{
		Fired:       true,
		Count:       2,
		Limit:       2,
		Op:          ">=",
		Aggregate:   "count",
		WindowStart: at(time.Minute - 10*time.Minute),
		WindowEnd:   at(time.Minute),
	}, r)
	// A late event reports the window ending at the key's newest event.
	r = th.Observe("alice", at(30*time.Second), 0, "")
	require.Equal(t, at(time.Minute), r.WindowEnd)
	require.Equal(t, int64(1), r.Count)
}

func TestThresholdSum(t *testing.T) {
	win := pd(10 * time.Second)
	tests := []struct {
		name  string
		bound policies.FieldBound
		steps []thresholdStep
	}{
		{"gt fires only above the bound", policies.FieldBound{Field: "pages", GT: ptr(100)}, []thresholdStep{
			{at: 0, value: 60, count: 1, sum: 60},
			{at: time.Second, value: 40, count: 2, sum: 100},
			{at: 2 * time.Second, value: 1, count: 3, sum: 101, fired: true},
			{at: 3 * time.Second, value: 5, count: 1, sum: 5},
		}},
		{"gte fires at the bound", policies.FieldBound{Field: "pages", GTE: ptr(100)}, []thresholdStep{
			{at: 0, value: 60, count: 1, sum: 60},
			{at: time.Second, value: 40, count: 2, sum: 100, fired: true},
		}},
		{"values leave the window", policies.FieldBound{Field: "pages", GT: ptr(100)}, []thresholdStep{
			{at: 0, value: 60, count: 1, sum: 60},
			{at: 10 * time.Second, value: 50, count: 1, sum: 50},
			{at: 11 * time.Second, value: 50, count: 2, sum: 100},
			{at: 19 * time.Second, value: 0.5, count: 3, sum: 100.5, fired: true},
		}},
		{"non-finite values count as zero", policies.FieldBound{Field: "pages", GT: ptr(100)}, []thresholdStep{
			{at: 0, value: math.NaN(), count: 1, sum: 0},
			{at: 1, value: math.Inf(1), count: 2, sum: 0},
			{at: 2, value: 101, count: 3, sum: 101, fired: true},
		}},
		{"negative values lower the sum", policies.FieldBound{Field: "bytes", GTE: ptr(10)}, []thresholdStep{
			{at: 0, value: 8, count: 1, sum: 8},
			{at: time.Second, value: -3, count: 2, sum: 5},
			{at: 2 * time.Second, value: 4, count: 3, sum: 9},
			{at: 3 * time.Second, value: 1, count: 4, sum: 10, fired: true},
		}},
		{"late value inside the window adds", policies.FieldBound{Field: "pages", GT: ptr(100)}, []thresholdStep{
			{at: 5 * time.Second, value: 60, count: 1, sum: 60},
			{at: time.Second, value: 41, count: 2, sum: 101, fired: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runThreshold(t, &policies.Threshold{Sum: &tt.bound, Window: win}, tt.steps)
		})
	}
}

func TestThresholdDistinct(t *testing.T) {
	win := pd(10 * time.Second)
	tests := []struct {
		name  string
		bound policies.FieldBound
		steps []thresholdStep
	}{
		{"gt fires above the bound", policies.FieldBound{Field: "host", GT: ptr(2)}, []thresholdStep{
			{at: 0, distinct: "a", nDist: 1},
			{at: 1, distinct: "b", nDist: 2},
			{at: 2, distinct: "a", nDist: 2},
			{at: 3, distinct: "c", nDist: 3, fired: true},
			{at: 4, distinct: "a", nDist: 1},
		}},
		{"gte fires at the bound", policies.FieldBound{Field: "host", GTE: ptr(2)}, []thresholdStep{
			{at: 0, distinct: "a", nDist: 1},
			{at: 1, distinct: "a", nDist: 1},
			{at: 2, distinct: "b", nDist: 2, fired: true},
		}},
		{"a value seen again stays in the window", policies.FieldBound{Field: "host", GT: ptr(2)}, []thresholdStep{
			{at: 0, distinct: "a", nDist: 1},
			{at: 5 * time.Second, distinct: "b", nDist: 2},
			{at: 9 * time.Second, distinct: "a", nDist: 2},
			{at: 15 * time.Second, distinct: "c", nDist: 2},
			{at: 18 * time.Second, distinct: "d", nDist: 3, fired: true},
		}},
		{"a value last seen exactly one window ago is outside", policies.FieldBound{Field: "host", GT: ptr(2)}, []thresholdStep{
			{at: 0, distinct: "a", nDist: 1},
			{at: time.Second, distinct: "b", nDist: 2},
			{at: 10 * time.Second, distinct: "c", nDist: 2},
		}},
		{"a late value inside the window counts", policies.FieldBound{Field: "host", GT: ptr(2)}, []thresholdStep{
			{at: 9 * time.Second, distinct: "a", nDist: 1},
			{at: 8 * time.Second, distinct: "b", nDist: 2},
			{at: -time.Second, distinct: "x", nDist: 2},
			{at: 7 * time.Second, distinct: "c", nDist: 3, fired: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runThreshold(t, &policies.Threshold{Distinct: &tt.bound, Window: win}, tt.steps)
		})
	}
}

func TestThresholdBucketsBoundTheError(t *testing.T) {
	// A 64 s window has 1 s buckets; events every 100 ms overflow the
	// exact entries after 51.2 s.
	th, err := NewThreshold(&policies.Threshold{
		Sum:    &policies.FieldBound{Field: "bytes", GT: ptr(1e12)},
		Window: pd(64 * time.Second),
	}, Options{})
	require.NoError(t, err)
	const step = 100 * time.Millisecond
	var r ThresholdResult
	for i := range 1000 {
		ts := time.Duration(i) * step
		r = th.Observe("alice", at(ts), 1, "")
		// Exact answer: events in (ts-64s, ts].
		exact := int64(min(i+1, 640))
		perBucket := int64(time.Second / step)
		require.GreaterOrEqual(t, r.Count, exact, "event %d", i)
		require.LessOrEqual(t, r.Count, exact+perBucket, "event %d", i)
		require.InDelta(t, float64(r.Count), r.Sum, 1e-9)
	}
	sh := th.store.shardFor("alice")
	st, _ := th.store.get(sh, "alice")
	require.NotNil(t, st.ring, "over 512 events use buckets")
	require.Nil(t, st.times)

	// Once the window is empty the key goes back to exact entries.
	r = th.Observe("alice", at(1000*step+64*time.Second), 7, "")
	require.Equal(t, int64(1), r.Count)
	require.InDelta(t, 7.0, r.Sum, 1e-9)
	require.Nil(t, st.ring)
}

func TestThresholdLargeCountUsesBuckets(t *testing.T) {
	th, err := NewThreshold(&policies.Threshold{Count: 1000, Window: pd(time.Hour)}, Options{})
	require.NoError(t, err)
	var fired []int
	for i := range 2600 {
		if th.Observe("alice", at(time.Duration(i)*time.Second), 0, "").Fired {
			fired = append(fired, i)
		}
	}
	// Every event is inside the window, so buckets count exactly.
	require.Equal(t, []int{999, 1999}, fired)
	sh := th.store.shardFor("alice")
	st, _ := th.store.get(sh, "alice")
	require.NotNil(t, st.ring, "600 events since the last firing use buckets")
	// A late event a window older than the newest is dropped in bucket
	// mode too; one nanosecond later it counts.
	r := th.Observe("alice", at(2599*time.Second-time.Hour), 0, "")
	require.Equal(t, int64(600), r.Count)
	r = th.Observe("alice", at(2599*time.Second-time.Hour+1), 0, "")
	require.Equal(t, int64(601), r.Count)
}

func TestThresholdNegativeTimes(t *testing.T) {
	th, err := NewThreshold(&policies.Threshold{Count: 600, Window: pd(time.Minute)}, Options{})
	require.NoError(t, err)
	base := time.Unix(-3600, 0)
	var r ThresholdResult
	for i := range 599 {
		r = th.Observe("k", base.Add(time.Duration(i)*time.Millisecond), 0, "")
	}
	require.Equal(t, int64(599), r.Count)
	r = th.Observe("k", base.Add(599*time.Millisecond), 0, "")
	require.True(t, r.Fired)
}

func TestThresholdErrorsAreSentinels(t *testing.T) {
	_, err := NewThreshold(nil, Options{})
	require.True(t, errors.Is(err, ErrInvalidSpec))
}
