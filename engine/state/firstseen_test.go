package state

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies"
)

func TestNewFirstSeenErrors(t *testing.T) {
	tests := []struct {
		name string
		spec *policies.FirstSeen
		want string
	}{
		{"nil spec", nil, "no specification"},
		{"zero within", &policies.FirstSeen{Field: "host.name"}, "within must be positive"},
		{"negative learning", &policies.FirstSeen{Field: "host.name", Within: pd(time.Hour), Learning: pd(-time.Hour)}, "learning must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFirstSeen(tt.spec, Options{})
			require.Nil(t, f)
			require.ErrorIs(t, err, ErrInvalidSpec)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

type fsStep struct {
	at       time.Duration
	value    string
	fired    bool
	learning bool
	lastSeen time.Duration // -1: zero time
	known    int
}

func TestFirstSeen(t *testing.T) {
	const d = 24 * time.Hour
	const never = -1
	tests := []struct {
		name     string
		learning time.Duration
		steps    []fsStep
	}{
		{"nothing fires while learning", 2 * d, []fsStep{
			{at: 0, value: "a", learning: true, lastSeen: never, known: 1},
			{at: 1 * d, value: "b", learning: true, lastSeen: never, known: 2},
			{at: 2*d - 1, value: "c", learning: true, lastSeen: never, known: 3},
			{at: 2 * d, value: "d", fired: true, lastSeen: never, known: 4},
			{at: 3 * d, value: "a", lastSeen: 0, known: 4},
		}},
		{"without learning the first value fires", 0, []fsStep{
			{at: 0, value: "a", fired: true, lastSeen: never, known: 1},
			{at: 1, value: "a", lastSeen: 0, known: 1},
		}},
		{"a value last seen exactly Within ago is new again", 0, []fsStep{
			{at: 0, value: "a", fired: true, lastSeen: never, known: 1},
			{at: 9 * d, value: "a", lastSeen: 0, known: 1},
			{at: 19*d - 1, value: "a", lastSeen: 9 * d, known: 1},
			{at: 29*d - 1, value: "a", fired: true, lastSeen: never, known: 1},
		}},
		{"values older than Within are forgotten", 0, []fsStep{
			{at: 0, value: "a", fired: true, lastSeen: never, known: 1},
			{at: 5 * d, value: "b", fired: true, lastSeen: never, known: 2},
			{at: 12 * d, value: "c", fired: true, lastSeen: never, known: 2},
		}},
		{"a late value recorded later counts as seen", 0, []fsStep{
			{at: 10 * d, value: "a", fired: true, lastSeen: never, known: 1},
			{at: 5 * d, value: "a", lastSeen: 10 * d, known: 1},
			{at: 1 * d, value: "b", fired: true, lastSeen: never, known: 2},
			{at: 2 * d, value: "b", lastSeen: 1 * d, known: 2},
		}},
		{"a late event before the first observation moves the learning start", 2 * d, []fsStep{
			{at: 10 * d, value: "a", learning: true, lastSeen: never, known: 1},
			{at: 5 * d, value: "b", learning: true, lastSeen: never, known: 2},
			{at: 10 * d, value: "c", fired: true, lastSeen: never, known: 3},
			{at: 7 * d, value: "d", fired: true, lastSeen: never, known: 4},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFirstSeen(&policies.FirstSeen{Field: "host.name", Within: pd(10 * d), Learning: pd(tt.learning)}, Options{})
			require.NoError(t, err)
			for i, s := range tt.steps {
				r := f.Observe("alice", s.value, at(s.at))
				want := FirstSeenResult{Fired: s.fired, Learning: s.learning, KnownValues: s.known}
				if s.lastSeen != never {
					want.LastSeen = at(s.lastSeen)
				}
				require.Equal(t, want, r, "step %d (%s at %s)", i, s.value, s.at)
			}
		})
	}
}

func TestFirstSeenValueCap(t *testing.T) {
	f, err := NewFirstSeen(&policies.FirstSeen{Field: "host.name", Within: pd(time.Hour)}, Options{MaxValuesPerKey: 3})
	require.NoError(t, err)
	for i, v := range []string{"a", "b", "c", "d"} {
		r := f.Observe("alice", v, at(time.Duration(i)*time.Second))
		require.True(t, r.Fired)
		require.LessOrEqual(t, r.KnownValues, 3)
	}
	require.Equal(t, uint64(1), f.ValueEvictions())
	// The oldest value was evicted and is new again; the others are known.
	require.False(t, f.Observe("alice", "d", at(10*time.Second)).Fired)
	require.True(t, f.Observe("alice", "a", at(11*time.Second)).Fired)
	require.Equal(t, uint64(2), f.ValueEvictions())
	require.True(t, f.Observe("alice", "b", at(12*time.Second)).Fired, "b was the oldest when a came back")
}

func TestFirstSeenKeysAreIndependent(t *testing.T) {
	f, err := NewFirstSeen(&policies.FirstSeen{Field: "host.name", Within: pd(time.Hour)}, Options{})
	require.NoError(t, err)
	require.True(t, f.Observe("alice", "h1", at(0)).Fired)
	require.True(t, f.Observe("bob", "h1", at(0)).Fired)
	require.False(t, f.Observe("alice", "h1", at(1)).Fired)
	require.Equal(t, 2, f.Keys())
}
