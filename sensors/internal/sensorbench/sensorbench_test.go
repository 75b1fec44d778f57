package sensorbench

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
)

func TestCounter(t *testing.T) {
	c := &Counter{Key: func(e *event.Event) (string, bool) {
		return e.Message, e.Message != ""
	}}
	var wg sync.WaitGroup
	for _, m := range []string{"a", "b", "a", "", "c", "a"} {
		wg.Add(1)
		go func() { defer wg.Done(); c.Emit(event.Event{Message: m}) }()
	}
	wg.Wait()
	require.Equal(t, 6, c.Total())
	require.Equal(t, 3, c.Distinct())
	require.Equal(t, 2, c.Duplicates())
	c.Reset()
	require.Zero(t, c.Total())
	require.Zero(t, c.Distinct())

	all := &Counter{}
	all.Emit(event.Event{})
	all.Emit(event.Event{})
	require.Equal(t, 2, all.Total())
	require.Equal(t, 1, all.Distinct(), "without Key every event counts under one key")
}

func TestPeriod(t *testing.T) {
	tests := []struct {
		env  string
		want time.Duration
	}{
		{"", 3 * time.Second},
		{"45s", 45 * time.Second},
		{"soon", 3 * time.Second},
		{"-1s", 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv("VIGIL_BENCH_IDLE", tc.env)
			require.Equal(t, tc.want, IdlePeriod())
		})
	}
}
