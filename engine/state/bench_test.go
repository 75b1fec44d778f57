package state

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/vigil-itm/vigil/policies"
)

// benchKind is one kind of state under benchmark: make builds a fresh
// instance and returns a function that feeds it the i-th event for key.
type benchKind struct {
	name string
	make func() func(i int, key string, ts time.Time)
}

var (
	benchValues = func() []string {
		v := make([]string, 64)
		for i := range v {
			v[i] = fmt.Sprintf("host-%02d", i)
		}
		return v
	}()
	benchSteps = [][]bool{{true, false, false}, {false, true, false}, {false, false, true}}
)

func benchKinds() []benchKind {
	return []benchKind{
		{"threshold", func() func(int, string, time.Time) {
			th := must(NewThreshold(&policies.Threshold{Count: 50, Window: pd(10 * time.Minute)}, Options{}))
			return func(_ int, key string, ts time.Time) { th.Observe(key, ts, 0, "") }
		}},
		{"threshold-sum", func() func(int, string, time.Time) {
			th := must(NewThreshold(&policies.Threshold{Sum: &policies.FieldBound{Field: "print.pages", GT: ptr(500)}, Window: pd(10 * time.Minute)}, Options{}))
			return func(i int, key string, ts time.Time) { th.Observe(key, ts, float64(i%13), "") }
		}},
		{"threshold-distinct", func() func(int, string, time.Time) {
			th := must(NewThreshold(&policies.Threshold{Distinct: &policies.FieldBound{Field: "host.name", GT: ptr(100)}, Window: pd(10 * time.Minute)}, Options{}))
			return func(i int, key string, ts time.Time) { th.Observe(key, ts, 0, benchValues[i%len(benchValues)]) }
		}},
		{"sequence", func() func(int, string, time.Time) {
			s := must(NewSequence(&policies.Sequence{Within: pd(10 * time.Minute), Steps: make([]policies.Step, 3)}, Options{}))
			return func(i int, key string, ts time.Time) { s.Observe(key, ts, benchSteps[i%3]) }
		}},
		{"first_seen", func() func(int, string, time.Time) {
			f := must(NewFirstSeen(&policies.FirstSeen{Field: "host.name", Within: pd(30 * 24 * time.Hour)}, Options{}))
			return func(i int, key string, ts time.Time) { f.Observe(key, benchValues[i%len(benchValues)], ts) }
		}},
		{"baseline", func() func(int, string, time.Time) {
			b := must(NewBaseline(&policies.Baseline{Window: pd(time.Hour), History: pd(7 * 24 * time.Hour), Factor: 3}, Options{}))
			return func(_ int, key string, ts time.Time) { b.Observe(key, ts, 1) }
		}},
		{"suppressor", func() func(int, string, time.Time) {
			s := NewSuppressor(&policies.Suppress{For: pd(time.Hour)}, Options{})
			return func(_ int, key string, ts time.Time) { s.Allow(key, ts) }
		}},
	}
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%06d", i)
	}
	return keys
}

// BenchmarkObserve measures one observation on a warm state: events arrive
// in time order, 10 ms apart, spread round-robin over the keys.
func BenchmarkObserve(b *testing.B) {
	for _, k := range benchKinds() {
		for _, n := range []int{1, 10_000} {
			b.Run(fmt.Sprintf("kind=%s/keys=%d", k.name, n), func(b *testing.B) {
				observe := k.make()
				keys := benchKeys(n)
				for i := range 2 * n {
					observe(i, keys[i%n], at(time.Duration(i)*10*time.Millisecond))
				}
				i := 2 * n
				b.ReportAllocs()
				for b.Loop() {
					observe(i, keys[i%n], at(time.Duration(i)*10*time.Millisecond))
					i++
				}
			})
		}
	}
}

// BenchmarkObserveParallel measures observations from all Ps at once over
// 10,000 keys, the contention case the shards are for.
func BenchmarkObserveParallel(b *testing.B) {
	for _, k := range benchKinds() {
		b.Run(fmt.Sprintf("kind=%s/keys=10000", k.name), func(b *testing.B) {
			observe := k.make()
			keys := benchKeys(10_000)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					observe(i, keys[(i*7919)%len(keys)], at(time.Duration(i)*time.Millisecond))
					i++
				}
			})
		})
	}
}

// BenchmarkMemory measures the live heap held per key after 10,000 keys
// have each seen a typical amount of activity (see docs/state.md), and
// reports it as bytes/key.
func BenchmarkMemory(b *testing.B) {
	const n = 10_000
	// Events per key: enough to fill a typical window without firing.
	perKey := map[string]int{
		"threshold":          10,
		"threshold-sum":      10,
		"threshold-distinct": 10,
		"sequence":           3,
		"first_seen":         20,
		"baseline":           24,
		"suppressor":         1,
	}
	for _, k := range benchKinds() {
		b.Run(fmt.Sprintf("kind=%s/keys=%d", k.name, n), func(b *testing.B) {
			keys := benchKeys(n)
			events := perKey[k.name]
			var perKeyBytes float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				observe := k.make()
				for e := range events {
					for j, key := range keys {
						// Sequences see steps A, B, A; baselines an
						// event per hour; the rest one event a second.
						i, ts := e, at(time.Duration(e)*time.Second+time.Duration(j))
						switch k.name {
						case "sequence":
							i = []int{0, 1, 0}[e]
						case "baseline":
							ts = at(time.Duration(e)*time.Hour + time.Duration(j))
						}
						observe(i, key, ts)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				runtime.KeepAlive(observe)
				perKeyBytes = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
			}
			b.ReportMetric(perKeyBytes, "bytes/key")
		})
	}
}
