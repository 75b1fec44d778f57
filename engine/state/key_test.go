package state

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// splitKey reverses Key for keys made of at least one part.
func splitKey(key string) []string {
	var parts []string
	var cur []byte
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c == keyEsc && i+1 < len(key):
			i++
			cur = append(cur, key[i])
		case c == keySep:
			parts = append(parts, string(cur))
			cur = cur[:0]
		default:
			cur = append(cur, c)
		}
	}
	return append(parts, string(cur))
}

func TestKey(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{"no parts", nil, ""},
		{"one plain part is unchanged", []string{"alice"}, "alice"},
		{"one empty part", []string{""}, ""},
		{"two parts", []string{"alice", "host-1"}, "alice\x1fhost-1"},
		{"separator inside a part is escaped", []string{"a\x1fb"}, "a\\\x1fb"},
		{"backslash inside a part is escaped", []string{`dom\alice`, "h"}, "dom\\\\alice\x1fh"},
		{"empty parts keep their place", []string{"", "", "x"}, "\x1f\x1fx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Key(tt.parts...)
			require.Equal(t, tt.want, got)
			if len(tt.parts) > 0 {
				require.Equal(t, tt.parts, splitKey(got))
			}
		})
	}
}

func TestKeyUnambiguous(t *testing.T) {
	pairs := [][2][]string{
		{{"a\x1f", "b"}, {"a", "\x1fb"}},
		{{"a\\", "b"}, {"a", "\\b"}},
		{{"a\\\x1fb"}, {"a\\", "b"}},
		{{"ab", ""}, {"a", "b"}},
	}
	for _, p := range pairs {
		require.NotEqual(t, Key(p[0]...), Key(p[1]...), "%q vs %q", p[0], p[1])
	}
}

func FuzzKey(f *testing.F) {
	f.Add("alice", "host", "")
	f.Add("a\x1f", "\\", "\\\x1f")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		require.Equal(t, []string{a}, splitKey(Key(a)))
		require.Equal(t, []string{a, b}, splitKey(Key(a, b)))
		require.Equal(t, []string{a, b, c}, splitKey(Key(a, b, c)))
	})
}
