package state

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies"
)

func TestSuppressor(t *testing.T) {
	const h = time.Hour
	type call struct {
		key     string
		at      time.Duration
		allowed bool
		until   time.Duration
	}
	tests := []struct {
		name  string
		spec  *policies.Suppress
		calls []call
	}{
		{"suppresses for the period", &policies.Suppress{For: pd(h)}, []call{
			{"alice", 0, true, h},
			{"alice", 30 * time.Minute, false, h},
			{"alice", h - 1, false, h},
			{"alice", h, true, 2 * h},
			{"alice", h + 1, false, 2 * h},
		}},
		{"keys are independent", &policies.Suppress{For: pd(h)}, []call{
			{"alice", 0, true, h},
			{"bob", time.Minute, true, h + time.Minute},
			{"alice", time.Minute, false, h},
		}},
		{"a late alert is suppressed", &policies.Suppress{For: pd(h)}, []call{
			{"alice", 5 * h, true, 6 * h},
			{"alice", h, false, 6 * h},
		}},
		{"no spec allows everything", nil, []call{
			{"alice", 0, true, 0},
			{"alice", 0, true, 0},
		}},
		{"a zero period allows everything", &policies.Suppress{}, []call{
			{"alice", 0, true, 0},
			{"alice", 1, true, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSuppressor(tt.spec, Options{})
			for i, c := range tt.calls {
				allowed, until := s.Allow(c.key, at(c.at))
				require.Equal(t, c.allowed, allowed, "call %d", i)
				require.True(t, at(c.until).Equal(until), "call %d: until %s, want %s", i, until, at(c.until))
			}
		})
	}
}

func TestSuppressorWithoutPeriodKeepsNoKeys(t *testing.T) {
	s := NewSuppressor(nil, Options{})
	s.Allow("alice", at(0))
	require.Equal(t, 0, s.Keys())
}
