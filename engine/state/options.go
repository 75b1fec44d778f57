package state

import (
	"errors"
	"strings"
	"time"
)

// DefaultMaxKeys is the number of keys a rule tracks when Options.MaxKeys is
// zero.
const DefaultMaxKeys = 100_000

// DefaultMaxValuesPerKey is the number of values a key's value set holds when
// Options.MaxValuesPerKey is zero. It bounds the first-seen value set of a key
// and the largest distinct-count bound a threshold accepts.
const DefaultMaxValuesPerKey = 10_000

// ErrInvalidSpec is returned, wrapped, by the constructors for a rule
// specification this package cannot keep state for.
var ErrInvalidSpec = errors.New("invalid state specification")

// Options bounds the memory a rule's state may use. The zero value selects
// the defaults.
type Options struct {
	// MaxKeys is the most keys one rule tracks; 0 (or a negative value)
	// means DefaultMaxKeys. When a new key would exceed it, the least
	// recently observed key of the same shard is evicted and counted by
	// Evictions.
	MaxKeys int
	// MaxValuesPerKey is the most values a key's value set holds (the
	// first-seen values of a key; for distinct thresholds the bound must be
	// reachable within it); 0 (or a negative value) means
	// DefaultMaxValuesPerKey, and values above 2^30 count as 2^30.
	MaxValuesPerKey int
}

func (o Options) maxKeys() int {
	if o.MaxKeys <= 0 {
		return DefaultMaxKeys
	}
	return o.MaxKeys
}

// maxValuesLimit caps MaxValuesPerKey so value references fit in 32 bits.
const maxValuesLimit = 1 << 30

func (o Options) maxValues() int {
	if o.MaxValuesPerKey <= 0 {
		return DefaultMaxValuesPerKey
	}
	return min(o.MaxValuesPerKey, maxValuesLimit)
}

// keySep separates the parts of a key; keyEsc escapes a separator or an
// escape inside a part.
const (
	keySep = '\x1f'
	keyEsc = '\\'
)

// Key joins the values of a rule's by-fields into one state key.
//
// For a given number of parts the result is unambiguous: two different lists
// of parts never give the same key. Parts are separated by the ASCII unit
// separator (0x1F); a separator or backslash inside a part is preceded by a
// backslash. A single part with neither character is returned unchanged, so
// Key("alice") is "alice". Key() and Key("") are both the empty string, which
// is harmless because a rule always passes the same number of parts.
func Key(parts ...string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		if !strings.ContainsAny(parts[0], "\x1f\\") {
			return parts[0]
		}
	}
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p) + strings.Count(p, "\x1f") + strings.Count(p, "\\")
	}
	var b strings.Builder
	b.Grow(n)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(keySep)
		}
		for j := 0; j < len(p); j++ {
			if c := p[j]; c == keySep || c == keyEsc {
				b.WriteByte(keyEsc)
			}
			b.WriteByte(p[j])
		}
	}
	return b.String()
}

// nanos returns t as nanoseconds since the Unix epoch. Times outside the
// years 1678 to 2262 are not representable and give undefined results.
func nanos(t time.Time) int64 { return t.UnixNano() }

// toTime converts nanoseconds since the Unix epoch to a UTC time.
func toTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// floorDiv divides rounding towards negative infinity; b must be positive.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// floorMod is the non-negative remainder matching floorDiv.
func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
