package state

import (
	"cmp"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies"
)

func TestShardLimitsAddUpToMaxKeys(t *testing.T) {
	for _, maxKeys := range []int{1, 10, 63, 64, 127, 128, 1000, 4097, DefaultMaxKeys} {
		s := newStore[int64](maxKeys)
		total := 0
		for i := range s.shards {
			require.Positive(t, s.shards[i].limit, "maxKeys=%d shard %d", maxKeys, i)
			total += s.shards[i].limit
		}
		require.Equal(t, maxKeys, total, "maxKeys=%d", maxKeys)
		require.LessOrEqual(t, len(s.shards), maxShards)
	}
}

func TestEvictionAtTheCap(t *testing.T) {
	for _, k := range kinds() {
		for _, maxKeys := range []int{10, 1000} {
			t.Run(fmt.Sprintf("kind=%s/max=%d", k.name, maxKeys), func(t *testing.T) {
				tr := k.make(Options{MaxKeys: maxKeys})
				const keys = 3000
				for i := range keys {
					k.observe(tr, fmt.Sprintf("key-%d", i), at(time.Duration(i)*time.Millisecond), i)
					require.LessOrEqual(t, tr.Keys(), maxKeys)
				}
				require.LessOrEqual(t, tr.Keys(), maxKeys)
				require.Equal(t, uint64(keys), uint64(tr.Keys())+tr.Evictions(), "every key is either held or evicted")
				if maxKeys == 10 {
					require.Equal(t, maxKeys, tr.Keys(), "one shard fills up exactly")
				}
			})
		}
	}
}

func TestEvictionIsLeastRecentlyUsed(t *testing.T) {
	th := must(NewThreshold(&policies.Threshold{Count: 3, Window: pd(time.Hour)}, Options{MaxKeys: 3}))
	for _, k := range []string{"a", "b", "c", "a"} {
		th.Observe(k, at(0), 0, "")
	}
	th.Observe("d", at(0), 0, "") // evicts b, the least recently used
	require.Equal(t, uint64(1), th.Evictions())
	require.Equal(t, int64(1), th.Observe("b", at(0), 0, "").Count, "b starts afresh") // evicts c
	require.True(t, th.Observe("a", at(0), 0, "").Fired, "a kept its two events")
	require.Equal(t, uint64(2), th.Evictions())
	require.Equal(t, 3, th.Keys())
}

func TestPrune(t *testing.T) {
	th := must(NewThreshold(&policies.Threshold{Count: 3, Window: pd(time.Minute)}, Options{}))
	th.Observe("a", at(0), 0, "")
	th.Observe("b", at(50*time.Second), 0, "")
	require.Equal(t, 0, th.Prune(at(time.Minute-1)))
	require.Equal(t, 1, th.Prune(at(time.Minute)))
	require.Equal(t, 1, th.Keys())
	require.Equal(t, int64(2), th.Observe("b", at(51*time.Second), 0, "").Count)
	require.Equal(t, uint64(0), th.Evictions(), "pruning is not eviction")

	seq := must(NewSequence(&policies.Sequence{Within: pd(time.Minute), Steps: make([]policies.Step, 2)}, Options{}))
	seq.Observe("a", at(0), []bool{true, false})
	seq.Observe("b", at(0), []bool{false, true})
	require.Equal(t, 1, seq.Prune(at(30*time.Second)), "b has no run")
	require.Equal(t, 0, seq.Prune(at(time.Minute-1)))
	require.Equal(t, 1, seq.Prune(at(time.Minute)), "a's run can no longer complete")
	require.Equal(t, 0, seq.Keys())

	sup := NewSuppressor(&policies.Suppress{For: pd(time.Hour)}, Options{})
	sup.Allow("a", at(0))
	sup.Allow("b", at(30*time.Minute))
	require.Equal(t, 1, sup.Prune(at(time.Hour)))
	allowed, _ := sup.Allow("b", at(time.Hour))
	require.False(t, allowed, "b is still suppressed")
}

func TestConcurrentObserve(t *testing.T) {
	const (
		workers = 16
		each    = 500
		total   = workers * each
	)
	run := func(fn func(w, i int)) {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					fn(w, i)
				}
			})
		}
		wg.Wait()
	}
	count := func(fn func(w, i int) bool) int {
		var mu sync.Mutex
		n := 0
		run(func(w, i int) {
			if fn(w, i) {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
		return n
	}

	t.Run("threshold", func(t *testing.T) {
		th := must(NewThreshold(&policies.Threshold{Count: 10, Window: pd(time.Hour)}, Options{}))
		fired := count(func(_, _ int) bool { return th.Observe("shared", at(0), 0, "").Fired })
		require.Equal(t, total/10, fired)
	})
	t.Run("sequence", func(t *testing.T) {
		seq := must(NewSequence(&policies.Sequence{Within: pd(time.Hour), Steps: make([]policies.Step, 2)}, Options{}))
		// Each event matches both steps: it either starts a run or
		// completes one.
		fired := count(func(_, _ int) bool { return seq.Observe("shared", at(0), []bool{true, true}).Fired })
		require.Equal(t, total/2, fired)
	})
	t.Run("first_seen", func(t *testing.T) {
		f := must(NewFirstSeen(&policies.FirstSeen{Field: "h", Within: pd(time.Hour)}, Options{}))
		fired := count(func(_, i int) bool { return f.Observe("shared", fmt.Sprint(i%100), at(0)).Fired })
		require.Equal(t, 100, fired)
	})
	t.Run("baseline", func(t *testing.T) {
		b := must(NewBaseline(&policies.Baseline{Window: pd(time.Hour), History: pd(2 * time.Hour), Factor: 1, MinHistory: pd(time.Hour)}, Options{}))
		b.Observe("shared", at(0), 1)
		fired := count(func(_, _ int) bool { return b.Observe("shared", at(time.Hour), 1).Fired })
		require.Equal(t, 1, fired)
	})
	t.Run("suppressor", func(t *testing.T) {
		s := NewSuppressor(&policies.Suppress{For: pd(time.Hour)}, Options{})
		allowed := count(func(_, _ int) bool { ok, _ := s.Allow("shared", at(0)); return ok })
		require.Equal(t, 1, allowed)
	})
	t.Run("all kinds with snapshots and the key cap", func(t *testing.T) {
		for _, k := range kinds() {
			const maxKeys = 200
			tr := k.make(Options{MaxKeys: maxKeys})
			var (
				mu      sync.Mutex
				maxSeen int
				snapErr error
			)
			run(func(w, i int) {
				k.observe(tr, fmt.Sprintf("w%d-k%d", w, i%40), at(time.Duration(i)*time.Millisecond), i)
				if i%50 == 0 {
					n, err := tr.Keys(), tr.Snapshot(discard{})
					mu.Lock()
					maxSeen = max(maxSeen, n)
					snapErr = cmp.Or(snapErr, err)
					mu.Unlock()
				}
			})
			require.NoError(t, snapErr, k.name)
			require.LessOrEqual(t, maxSeen, maxKeys, "%s: Keys() exceeded MaxKeys", k.name)
			// 640 distinct keys fill both shards; evicted keys come
			// back and are evicted again, so evictions are at least
			// the overflow.
			require.Equal(t, maxKeys, tr.Keys(), k.name)
			require.GreaterOrEqual(t, tr.Evictions(), uint64(workers*40-maxKeys), k.name)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
