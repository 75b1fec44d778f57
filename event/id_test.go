package event

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDerivedID(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 123e6, time.UTC)
	a := DerivedID(at, "decision", "E1", "lib", "r1")
	require.Len(t, a, 26)
	require.Equal(t, a, DerivedID(at, "decision", "E1", "lib", "r1"), "same parts, same id")
	require.NotEqual(t, a, DerivedID(at, "decision", "E1", "lib", "r2"), "another revision, another id")
	require.NotEqual(t, DerivedID(at, "ab", "c"), DerivedID(at, "a", "bc"), "parts are length-prefixed")
	// The time prefix sorts like NewID's.
	require.Equal(t, NewID(at)[:10], a[:10])
	require.Less(t, a, DerivedID(at.Add(time.Millisecond), "decision", "E1", "lib", "r1"))
}
