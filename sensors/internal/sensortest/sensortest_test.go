package sensortest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
)

// counter emits n events, reports itself working, then waits to be stopped.
// With late set it counts each event after emitting it.
type counter struct {
	n     int
	late  bool
	track sensors.Tracker
}

func (*counter) Name() string { return "counter" }

func (c *counter) Run(ctx context.Context, emit func(event.Event)) error {
	for i := range c.n {
		if !c.late {
			c.track.Emitted()
		}
		emit(event.Event{Message: string(rune('a' + i))})
		if c.late {
			c.track.Emitted()
		}
	}
	c.track.Working("test", "")
	<-ctx.Done()
	return nil
}

func (c *counter) Health() sensors.Health { return c.track.Health() }

func TestStartCollectsAndStops(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
	s := &counter{n: 3}
	evs, stop := Start(t, s)
	WaitState(t, s, sensors.StateOK)
	require.Equal(t, 3, evs.Len())
	require.Equal(t, "a", evs.All()[0].Message)
	got := evs.Find(func(e *event.Event) bool { return e.Message != "b" })
	require.Len(t, got, 2)
	require.Equal(t, "c", got[1].Message)
	stop()
	stop() // a second stop, and the one at cleanup, do nothing
}

// errorsTB records Errorf calls instead of failing the test.
type errorsTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (e *errorsTB) Errorf(format string, args ...any) {
	e.mu.Lock()
	e.errs = append(e.errs, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

func (e *errorsTB) got() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.errs)
}

func TestStartChecksEventsAreCountedWhenEmitted(t *testing.T) {
	tb := &errorsTB{TB: t}
	s := &counter{n: 2, late: true}
	evs, stop := Start(tb, s)
	WaitState(t, s, sensors.StateOK)
	stop()
	require.Equal(t, 2, evs.Len())
	require.Equal(t, []string{
		"counter sensor: event 1 () emitted before it was counted: its health counts 0",
		"counter sensor: event 2 () emitted before it was counted: its health counts 1",
	}, tb.got())
	require.Equal(t, uint64(2), s.Health().Events)
}

func TestYAML(t *testing.T) {
	require.Nil(t, YAML(t, " \n"))
	n := YAML(t, "a: 1\nb: [x]")
	var v struct {
		A int      `yaml:"a"`
		B []string `yaml:"b"`
	}
	require.NoError(t, n.Decode(&v))
	require.Equal(t, 1, v.A)
	require.Equal(t, []string{"x"}, v.B)
}

func TestAppendFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	AppendFile(t, p, []byte("one\n"))
	AppendFile(t, p, []byte("two\n"))
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "one\ntwo\n", string(data))
}
