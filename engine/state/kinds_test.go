package state

import (
	"fmt"
	"io"
	"time"

	"github.com/vigil-itm/vigil/policies"
)

// tracker is what every kind of state has in common.
type tracker interface {
	Keys() int
	Evictions() uint64
	Snapshot(w io.Writer) error
	Restore(r io.Reader) error
}

var (
	_ tracker = (*Threshold)(nil)
	_ tracker = (*Sequence)(nil)
	_ tracker = (*FirstSeen)(nil)
	_ tracker = (*Baseline)(nil)
	_ tracker = (*Suppressor)(nil)
)

// kind builds one kind of state and feeds it the i-th event of a synthetic
// stream, returning the result rendered for comparison.
type kind struct {
	name    string
	make    func(opts Options) tracker
	observe func(tr tracker, key string, ts time.Time, i int) string
}

// must returns v, panicking on err: it is for specifications the test
// knows to be valid.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func kinds() []kind {
	threshold := func(spec *policies.Threshold) func(Options) tracker {
		return func(opts Options) tracker { return must(NewThreshold(spec, opts)) }
	}
	observeThreshold := func(tr tracker, key string, ts time.Time, i int) string {
		return fmt.Sprintf("%+v", tr.(*Threshold).Observe(key, ts, float64(i%7), fmt.Sprint(i%29)))
	}
	return []kind{
		{
			name:    "threshold-count",
			make:    threshold(&policies.Threshold{Count: 5, Window: pd(time.Minute)}),
			observe: observeThreshold,
		},
		{
			name:    "threshold-sum",
			make:    threshold(&policies.Threshold{Sum: &policies.FieldBound{Field: "n", GT: ptr(50)}, Window: pd(time.Minute)}),
			observe: observeThreshold,
		},
		{
			// A bound never reached: keys overflow into buckets.
			name:    "threshold-sum-buckets",
			make:    threshold(&policies.Threshold{Sum: &policies.FieldBound{Field: "n", GTE: ptr(1e12)}, Window: pd(10 * time.Minute)}),
			observe: observeThreshold,
		},
		{
			name:    "threshold-distinct",
			make:    threshold(&policies.Threshold{Distinct: &policies.FieldBound{Field: "h", GT: ptr(20)}, Window: pd(time.Minute)}),
			observe: observeThreshold,
		},
		{
			name: "sequence",
			make: func(opts Options) tracker {
				return must(NewSequence(&policies.Sequence{Within: pd(time.Minute), Steps: make([]policies.Step, 3)}, opts))
			},
			observe: func(tr tracker, key string, ts time.Time, i int) string {
				return fmt.Sprintf("%+v", tr.(*Sequence).Observe(key, ts, []bool{i%3 == 0, i%5 == 0, i%7 == 0}))
			},
		},
		{
			name: "first_seen",
			make: func(opts Options) tracker {
				return must(NewFirstSeen(&policies.FirstSeen{Field: "h", Within: pd(time.Minute), Learning: pd(10 * time.Second)}, opts))
			},
			observe: func(tr tracker, key string, ts time.Time, i int) string {
				return fmt.Sprintf("%+v", tr.(*FirstSeen).Observe(key, fmt.Sprint(i*i%101), ts))
			},
		},
		{
			name: "baseline",
			make: func(opts Options) tracker {
				return must(NewBaseline(&policies.Baseline{Window: pd(time.Second), History: pd(20 * time.Second), Factor: 1.5, Sigma: 1}, opts))
			},
			observe: func(tr tracker, key string, ts time.Time, i int) string {
				return fmt.Sprintf("%+v", tr.(*Baseline).Observe(key, ts, float64(i%3)))
			},
		},
		{
			name: "suppressor",
			make: func(opts Options) tracker {
				return NewSuppressor(&policies.Suppress{For: pd(3 * time.Second)}, opts)
			},
			observe: func(tr tracker, key string, ts time.Time, _ int) string {
				ok, until := tr.(*Suppressor).Allow(key, ts)
				return fmt.Sprint(ok, until)
			},
		},
	}
}

// streamEvent is the i-th event of the synthetic stream: four keys, an
// event every 50 ms, and every ninth event late by 2 s.
func streamEvent(i int) (string, time.Time) {
	ts := at(time.Duration(i) * 50 * time.Millisecond)
	if i%9 == 0 {
		ts = ts.Add(-2 * time.Second)
	}
	return fmt.Sprintf("user-%d", i%4), ts
}
