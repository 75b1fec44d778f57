package state

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies"
)

func TestNewBaselineErrors(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name string
		spec *policies.Baseline
		want string
	}{
		{"nil spec", nil, "no specification"},
		{"zero window", &policies.Baseline{History: pd(h), Factor: 2}, "window must be positive"},
		{"history shorter than window", &policies.Baseline{Window: pd(h), History: pd(h / 2), Factor: 2}, "shorter than the window"},
		{"too many buckets", &policies.Baseline{Window: pd(time.Minute), History: pd(30 * 24 * h), Factor: 2}, "more than 8192"},
		{"min history past history", &policies.Baseline{Window: pd(h), History: pd(4 * h), MinHistory: pd(5 * h), Factor: 2}, "min_history"},
		{"negative factor", &policies.Baseline{Window: pd(h), History: pd(4 * h), Factor: -1}, "factor must be finite and not negative"},
		{"NaN sigma", &policies.Baseline{Window: pd(h), History: pd(4 * h), Sigma: math.NaN()}, "sigma must be finite"},
		{"neither factor nor sigma", &policies.Baseline{Window: pd(h), History: pd(4 * h), Min: 5}, "factor or sigma must be set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBaseline(tt.spec, Options{})
			require.Nil(t, b)
			require.ErrorIs(t, err, ErrInvalidSpec)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// blStep observes value n times at the same time and checks the last result.
type blStep struct {
	at    time.Duration
	value float64
	n     int
	want  BaselineResult
	// anyFired is true when one of the n observations fired.
	anyFired bool
}

func runBaseline(t *testing.T, spec *policies.Baseline, steps []blStep) {
	t.Helper()
	b, err := NewBaseline(spec, Options{})
	require.NoError(t, err)
	for i, s := range steps {
		var r BaselineResult
		fired := false
		for range max(s.n, 1) {
			r = b.Observe("alice", at(s.at), s.value)
			fired = fired || r.Fired
		}
		require.Equal(t, s.anyFired, fired, "step %d (at %s): fired", i, s.at)
		require.Equal(t, s.want.Fired, r.Fired, "step %d (at %s): last fired", i, s.at)
		require.Equal(t, s.want.Learning, r.Learning, "step %d (at %s): learning", i, s.at)
		require.Equal(t, s.want.HistoryBuckets, r.HistoryBuckets, "step %d (at %s): history", i, s.at)
		require.InDelta(t, s.want.Current, r.Current, 1e-9, "step %d (at %s): current", i, s.at)
		require.InDelta(t, s.want.Mean, r.Mean, 1e-9, "step %d (at %s): mean", i, s.at)
		require.InDelta(t, s.want.StdDev, r.StdDev, 1e-9, "step %d (at %s): stddev", i, s.at)
		require.InDelta(t, s.want.Limit, r.Limit, 1e-9, "step %d (at %s): limit", i, s.at)
	}
}

func TestBaseline(t *testing.T) {
	const h = time.Hour
	factor2 := &policies.Baseline{Window: pd(h), History: pd(4 * h), Factor: 2}
	tests := []struct {
		name  string
		spec  *policies.Baseline
		steps []blStep
	}{
		{"learns, then fires once per bucket above factor times the mean", factor2, []blStep{
			{at: 0, value: 1, n: 2, want: BaselineResult{Learning: true, Current: 2}},
			{at: h, value: 1, n: 2, want: BaselineResult{Learning: true, Current: 2, Mean: 2, Limit: 4, HistoryBuckets: 1}},
			{at: 2 * h, value: 1, n: 4, want: BaselineResult{Current: 4, Mean: 2, Limit: 4, HistoryBuckets: 2}},
			{at: 2*h + time.Minute, value: 1, anyFired: true, want: BaselineResult{Fired: true, Current: 5, Mean: 2, Limit: 4, HistoryBuckets: 2}},
			{at: 2*h + 2*time.Minute, value: 1, n: 3, want: BaselineResult{Current: 8, Mean: 2, Limit: 4, HistoryBuckets: 2}},
			{at: 3 * h, value: 1, want: BaselineResult{Current: 1, Mean: 4, StdDev: math.Sqrt(8), Limit: 8, HistoryBuckets: 3}},
		}},
		{"buckets without events count as zero", factor2, []blStep{
			{at: 0, value: 1, n: 6, want: BaselineResult{Learning: true, Current: 6}},
			{at: 3 * h, value: 1, n: 5, anyFired: true, want: BaselineResult{Fired: true, Current: 5, Mean: 2, StdDev: math.Sqrt(8), Limit: 4, HistoryBuckets: 3}},
		}},
		{"history is limited to History", factor2, []blStep{
			{at: 0, value: 100, want: BaselineResult{Learning: true, Current: 100}},
			{at: 5 * h, value: 1, anyFired: true, want: BaselineResult{Fired: true, Current: 1, Limit: 0, HistoryBuckets: 4}},
		}},
		{"sigma and min set the limit", &policies.Baseline{Window: pd(h), History: pd(2 * h), Sigma: 2, Min: 10, MinHistory: pd(h)}, []blStep{
			{at: 0, value: 1, want: BaselineResult{Learning: true, Current: 1, Limit: 10}},
			{at: h, value: 3, want: BaselineResult{Current: 3, Mean: 1, Limit: 10, HistoryBuckets: 1}},
			{at: 2 * h, value: 10, want: BaselineResult{Current: 10, Mean: 2, StdDev: 1, Limit: 10, HistoryBuckets: 2}},
			{at: 2*h + 1, value: 0.5, anyFired: true, want: BaselineResult{Fired: true, Current: 10.5, Mean: 2, StdDev: 1, Limit: 10, HistoryBuckets: 2}},
		}},
		{"the largest of the limits wins", &policies.Baseline{Window: pd(h), History: pd(2 * h), Factor: 3, Sigma: 1, MinHistory: pd(h)}, []blStep{
			{at: 0, value: 1, want: BaselineResult{Learning: true, Current: 1}},
			{at: h, value: 3, want: BaselineResult{Current: 3, Mean: 1, Limit: 3, HistoryBuckets: 1}},
			{at: 2 * h, value: 6, want: BaselineResult{Current: 6, Mean: 2, StdDev: 1, Limit: 6, HistoryBuckets: 2}},
		}},
		{"buckets are aligned to the epoch", &policies.Baseline{Window: pd(h), History: pd(2 * h), Factor: 1, MinHistory: pd(h)}, []blStep{
			{at: -1, value: 1, want: BaselineResult{Learning: true, Current: 1}},
			{at: 0, value: 1, want: BaselineResult{Current: 1, Mean: 1, Limit: 1, HistoryBuckets: 1}},
			{at: h - 1, value: 1, anyFired: true, want: BaselineResult{Fired: true, Current: 2, Mean: 1, Limit: 1, HistoryBuckets: 1}},
		}},
		{"a late event adds to its bucket but never fires", factor2, []blStep{
			{at: 0, value: 1, want: BaselineResult{Learning: true, Current: 1}},
			{at: 2 * h, value: 1, want: BaselineResult{Current: 1, Mean: 0.5, StdDev: 0.5, Limit: 1, HistoryBuckets: 2}},
			{at: h, value: 5, want: BaselineResult{Current: 1, Mean: 3, StdDev: 2, Limit: 6, HistoryBuckets: 2}},
			{at: 2 * h, value: 6, anyFired: true, want: BaselineResult{Fired: true, Current: 7, Mean: 3, StdDev: 2, Limit: 6, HistoryBuckets: 2}},
		}},
		{"a late event before the first bucket extends the history", factor2, []blStep{
			{at: 3 * h, value: 1, want: BaselineResult{Learning: true, Current: 1}},
			{at: 0, value: 2, want: BaselineResult{Current: 1, Mean: 2.0 / 3, StdDev: math.Sqrt(8.0 / 9), Limit: 4.0 / 3, HistoryBuckets: 3}},
		}},
		{"an event older than the held buckets is dropped", factor2, []blStep{
			{at: 10 * h, value: 1, want: BaselineResult{Learning: true, Current: 1}},
			{at: 5 * h, value: 100, want: BaselineResult{Learning: true, Current: 1}},
		}},
		{"non-finite values are ignored", factor2, []blStep{
			{at: 0, value: math.NaN(), want: BaselineResult{Learning: true}},
			{at: 0, value: math.Inf(1), want: BaselineResult{Learning: true}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runBaseline(t, tt.spec, tt.steps) })
	}
}

func TestBaselineBucketsIgnoreTimeZone(t *testing.T) {
	b, err := NewBaseline(&policies.Baseline{Window: pd(24 * time.Hour), History: pd(48 * time.Hour), Factor: 1}, Options{})
	require.NoError(t, err)
	paris := time.FixedZone("CET", 3600)
	// 00:30 in Paris is 23:30 UTC the day before: another UTC day.
	r1 := b.Observe("k", time.Date(2026, 3, 2, 23, 30, 0, 0, time.UTC), 1)
	r2 := b.Observe("k", time.Date(2026, 3, 3, 0, 30, 0, 0, paris), 1)
	require.InDelta(t, 1.0, r1.Current, 0)
	require.InDelta(t, 2.0, r2.Current, 0, "both events fall on 2 March UTC")
}
