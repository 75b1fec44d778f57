package state

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Shard layout: up to maxShards shards, and no more shards than leave at
// least minKeysPerShard keys to each, so a small MaxKeys gets one shard and an
// exact LRU while a large one gets many shards and little contention.
const (
	maxShards       = 64
	minKeysPerShard = 64
)

// node is one tracked key: its place in the shard's recency list and its
// state.
type node[V any] struct {
	key        string
	prev, next *node[V]
	val        V
}

// shard is a mutex-protected map of keys with a least-recently-used list.
// root.next is the most recently used key and root.prev the least.
type shard[V any] struct {
	mu    sync.Mutex
	items map[string]*node[V]
	root  node[V]
	limit int
	// Padding keeps neighbouring shards' mutexes off the same cache line.
	_ [64]byte
}

// store is a sharded, bounded map from key to per-key state V. The caller
// locks a shard, calls get and works on the state while holding the lock.
type store[V any] struct {
	shards    []shard[V]
	mask      uint64
	seed      maphash.Seed
	evictions atomic.Uint64
}

// entry is a key and its state, in transit between a snapshot and a store.
type entry[V any] struct {
	key string
	val V
}

func newStore[V any](maxKeys int) *store[V] {
	n := 1
	for n*2 <= maxShards && n*2*minKeysPerShard <= maxKeys {
		n *= 2
	}
	s := &store[V]{
		shards: make([]shard[V], n),
		mask:   uint64(n - 1),
		seed:   maphash.MakeSeed(),
	}
	for i := range s.shards {
		sh := &s.shards[i]
		// The per-shard limits add up to exactly maxKeys.
		sh.limit = maxKeys / n
		if i < maxKeys%n {
			sh.limit++
		}
		sh.reset()
	}
	return s
}

func (sh *shard[V]) reset() {
	sh.items = make(map[string]*node[V])
	sh.root.next, sh.root.prev = &sh.root, &sh.root
}

// shardFor returns the shard that owns key.
func (s *store[V]) shardFor(key string) *shard[V] {
	if s.mask == 0 {
		return &s.shards[0]
	}
	return &s.shards[maphash.String(s.seed, key)&s.mask]
}

// get returns key's state, marking it most recently used. A new key starts
// with the zero state and created is true; when the shard is full its least
// recently used key is evicted first. The caller holds sh.mu.
func (s *store[V]) get(sh *shard[V], key string) (v *V, created bool) {
	if n, ok := sh.items[key]; ok {
		if sh.root.next != n {
			sh.unlink(n)
			sh.pushFront(n)
		}
		return &n.val, false
	}
	if len(sh.items) >= sh.limit {
		old := sh.root.prev
		sh.unlink(old)
		delete(sh.items, old.key)
		s.evictions.Add(1)
	}
	// The key may be a slice of a much larger string (an event's raw
	// JSON); a copy keeps that from staying alive with the state.
	n := &node[V]{key: strings.Clone(key)}
	sh.items[n.key] = n
	sh.pushFront(n)
	return &n.val, true
}

func (sh *shard[V]) unlink(n *node[V]) {
	n.prev.next = n.next
	n.next.prev = n.prev
	n.prev, n.next = nil, nil
}

func (sh *shard[V]) pushFront(n *node[V]) {
	n.prev = &sh.root
	n.next = sh.root.next
	sh.root.next.prev = n
	sh.root.next = n
}

// keys counts the tracked keys.
func (s *store[V]) keys() int {
	total := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		total += len(sh.items)
		sh.mu.Unlock()
	}
	return total
}

// removeIf drops every key whose state satisfies idle and returns how many
// were dropped. Dropped keys are not evictions.
func (s *store[V]) removeIf(idle func(*V) bool) int {
	removed := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for n := sh.root.prev; n != &sh.root; {
			prev := n.prev
			if idle(&n.val) {
				sh.unlink(n)
				delete(sh.items, n.key)
				removed++
			}
			n = prev
		}
		sh.mu.Unlock()
	}
	return removed
}

// replace swaps the whole content of the store for entries. They are
// inserted in order of their newest event time (the recency function), ties
// keeping their order, so the keys with the newest events become the most
// recently used and, when the entries exceed a shard's limit, the ones with
// the oldest events are evicted (and counted as evictions). All shards are
// locked for the swap, so observers see either the old or the new state.
func (s *store[V]) replace(entries []entry[V], recency func(*V) int64) {
	slices.SortStableFunc(entries, func(a, b entry[V]) int {
		return cmp.Compare(recency(&a.val), recency(&b.val))
	})
	for i := range s.shards {
		s.shards[i].mu.Lock()
	}
	for i := range s.shards {
		s.shards[i].reset()
	}
	for i := range entries {
		e := &entries[i]
		sh := s.shardFor(e.key)
		v, _ := s.get(sh, e.key)
		*v = e.val
	}
	for i := range s.shards {
		s.shards[i].mu.Unlock()
	}
}
