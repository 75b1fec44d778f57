// Package sensortest holds what the sensors' tests share: an event
// collector, a runner that starts a sensor for the length of a test and
// checks that it stops cleanly, a wait for the sensor's health, and a
// parser of YAML config sections. It is used only from tests and must not be
// imported by sensor code.
package sensortest

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/testrun"
	"github.com/vigil-itm/vigil/sensors"
)

// Wait bounds how long the helpers wait for a sensor to start or stop.
// It is generous: it only turns a hang into a failure that says what hung.
const Wait = time.Minute

// Events collects emitted events. It is safe for concurrent use.
type Events struct {
	mu  sync.Mutex
	evs []event.Event
}

// Emit is the emit function to give a sensor.
func (e *Events) Emit(ev event.Event) { e.add(ev) }

// add collects ev and returns how many events were collected.
func (e *Events) add(ev event.Event) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
	return len(e.evs)
}

// All returns a copy of the events so far.
func (e *Events) All() []event.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]event.Event(nil), e.evs...)
}

// Len returns how many events were collected.
func (e *Events) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.evs)
}

// Find returns the events for which match is true.
func (e *Events) Find(match func(*event.Event) bool) []event.Event {
	var out []event.Event
	for _, ev := range e.All() {
		if match(&ev) {
			out = append(out, ev)
		}
	}
	return out
}

// Run runs s with emit in a goroutine until the test ends or stop is
// called. stop cancels the sensor's context, waits for Run to return and
// fails the test when Run returned an error or did not return within Wait.
// stop may be called more than once.
func Run(t testing.TB, s sensors.Sensor, emit func(event.Event)) (stop func()) {
	t.Helper()
	return testrun.Start(t, s.Name()+" sensor", Wait, func(ctx context.Context) error { return s.Run(ctx, emit) })
}

// Start runs s like Run, collecting what it emits in a new Events. When s
// reports its health, every event must already be counted in it when it is
// emitted: a test that saw N events may then expect the health to count N.
// Health is called from the goroutine that emits.
func Start(t testing.TB, s sensors.Sensor) (*Events, func()) {
	t.Helper()
	evs := &Events{}
	emit := evs.Emit
	if h, ok := s.(sensors.HealthReporter); ok {
		emit = func(ev event.Event) {
			n := evs.add(ev)
			if counted := h.Health().Events; counted < uint64(n) {
				t.Errorf("%s sensor: event %d (%s) emitted before it was counted: its health counts %d", s.Name(), n, ev.Event.Action, counted)
			}
		}
	}
	return evs, Run(t, s, emit)
}

// WaitState waits until the sensor's health is in one of states and fails
// the test when it is not within Wait.
func WaitState(t testing.TB, h sensors.HealthReporter, states ...string) {
	t.Helper()
	require.Eventually(t, func() bool { return slices.Contains(states, h.Health().State) }, Wait, 10*time.Millisecond,
		"want a state in %v", states)
}

// YAML parses a sensor's configuration section as the agent passes it to
// the sensor's factory; an empty text gives nil, as for an empty section.
func YAML(t testing.TB, text string) *yaml.Node {
	t.Helper()
	if strings.TrimSpace(text) == "" {
		return nil
	}
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(text), &doc))
	require.NotEmpty(t, doc.Content)
	return doc.Content[0]
}

// AppendFile appends data to the file at path, creating it when needed, as
// a program writing its log or a mail client its Sent folder does.
func AppendFile(t testing.TB, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
