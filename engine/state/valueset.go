package state

import "strings"

// valueSet is a set of string values with the time each was last seen,
// ordered from the oldest to the newest last-seen time so that forgetting old
// values and evicting the oldest are cheap. Nodes live in one slice and link
// to each other by index plus one (zero is "none"), which keeps the garbage
// collector's work and the per-value overhead small. The zero value is an
// empty set.
type valueSet struct {
	index map[string]int32
	nodes []vnode
	head  int32 // oldest
	tail  int32 // newest
	free  int32 // free list, linked through next
}

type vnode struct {
	value      string
	ts         int64
	prev, next int32
}

func (s *valueSet) len() int { return len(s.index) }

func (s *valueSet) at(ref int32) *vnode { return &s.nodes[ref-1] }

// lookup returns the last-seen time of v.
func (s *valueSet) lookup(v string) (int64, bool) {
	ref, ok := s.index[v]
	if !ok {
		return 0, false
	}
	return s.at(ref).ts, true
}

// touch records that v was seen at ts; a value's last-seen time only moves
// forward. It reports whether v is new to the set.
func (s *valueSet) touch(v string, ts int64) bool {
	if ref, ok := s.index[v]; ok {
		n := s.at(ref)
		if ts <= n.ts {
			return false
		}
		n.ts = ts
		if n.next != 0 && s.at(n.next).ts < ts {
			s.unlink(ref)
			s.insertSorted(ref)
		}
		return false
	}
	var ref int32
	if s.free != 0 {
		ref = s.free
		s.free = s.at(ref).next
		*s.at(ref) = vnode{value: strings.Clone(v), ts: ts}
	} else {
		s.nodes = append(s.nodes, vnode{value: strings.Clone(v), ts: ts})
		ref = int32(len(s.nodes))
	}
	if s.index == nil {
		s.index = make(map[string]int32)
	}
	s.index[s.at(ref).value] = ref
	s.insertSorted(ref)
	return true
}

// insertSorted links an unlinked node in time order, searching from the
// newest end because events mostly arrive in order.
func (s *valueSet) insertSorted(ref int32) {
	n := s.at(ref)
	after := s.tail
	for after != 0 && s.at(after).ts > n.ts {
		after = s.at(after).prev
	}
	n.prev = after
	if after == 0 {
		n.next = s.head
		s.head = ref
	} else {
		n.next = s.at(after).next
		s.at(after).next = ref
	}
	if n.next == 0 {
		s.tail = ref
	} else {
		s.at(n.next).prev = ref
	}
}

func (s *valueSet) unlink(ref int32) {
	n := s.at(ref)
	if n.prev == 0 {
		s.head = n.next
	} else {
		s.at(n.prev).next = n.next
	}
	if n.next == 0 {
		s.tail = n.prev
	} else {
		s.at(n.next).prev = n.prev
	}
	n.prev, n.next = 0, 0
}

// removeOldest drops the value with the oldest last-seen time.
func (s *valueSet) removeOldest() {
	if s.head == 0 {
		return
	}
	ref := s.head
	s.unlink(ref)
	n := s.at(ref)
	delete(s.index, n.value)
	*n = vnode{next: s.free}
	s.free = ref
}

// forget drops every value last seen at or before cutoff.
func (s *valueSet) forget(cutoff int64) {
	for s.head != 0 && s.at(s.head).ts <= cutoff {
		s.removeOldest()
	}
}

// reset empties the set, keeping its storage for reuse.
func (s *valueSet) reset() {
	clear(s.index)
	clear(s.nodes)
	s.nodes = s.nodes[:0]
	s.head, s.tail, s.free = 0, 0, 0
}

// each calls fn for every value from the oldest to the newest.
func (s *valueSet) each(fn func(v string, ts int64)) {
	for ref := s.head; ref != 0; ref = s.at(ref).next {
		n := s.at(ref)
		fn(n.value, n.ts)
	}
}
