package sensors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/event"
)

// ptrConfig validates with a pointer receiver and normalises a field, as
// sensors whose Validate lower-cases domains do.
type ptrConfig struct {
	Name  string        `yaml:"name"`
	Every time.Duration `yaml:"every"`
}

func (c *ptrConfig) Validate() error {
	if c.Every < time.Second {
		return fmt.Errorf("test: every: %v is below the minimum of 1s", c.Every)
	}
	c.Name = "checked-" + c.Name
	return nil
}

// valConfig validates with a value receiver.
type valConfig struct {
	Count int `yaml:"count"`
}

func (c valConfig) Validate() error {
	if c.Count < 1 {
		return errors.New("test: count: must be positive")
	}
	return nil
}

func node(t *testing.T, text string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(text), &doc))
	require.NotEmpty(t, doc.Content)
	return doc.Content[0]
}

func TestParseConfig(t *testing.T) {
	defaults := ptrConfig{Name: "x", Every: time.Minute}
	tests := []struct {
		name, yaml string
		want       ptrConfig
		wantErr    string
	}{
		{name: "defaults", want: ptrConfig{Name: "checked-x", Every: time.Minute}},
		{name: "override", yaml: "every: 2s", want: ptrConfig{Name: "checked-x", Every: 2 * time.Second}},
		{name: "unknown key", yaml: "evry: 2s", wantErr: "test: decode config: section at line 1: yaml: unmarshal errors:\n  line 1: field evry not found"},
		{name: "bad type", yaml: "every: soon", wantErr: "test: decode config: section at line 1"},
		{name: "invalid", yaml: "every: 1ms", wantErr: "test: every: 1ms is below the minimum of 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n *yaml.Node
			if tt.yaml != "" {
				n = node(t, tt.yaml)
			}
			got, err := ParseConfig("test", n, defaults)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Equal(t, ptrConfig{}, got, "no half-parsed config on error")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	require.Equal(t, ptrConfig{Name: "x", Every: time.Minute}, defaults, "the defaults are not changed")

	// A Validate with a value receiver works too, and its error is not
	// wrapped again.
	v, err := ParseConfig("test", node(t, "count: 3"), valConfig{})
	require.NoError(t, err)
	require.Equal(t, valConfig{Count: 3}, v)
	_, err = ParseConfig("test", nil, valConfig{})
	require.EqualError(t, err, "test: count: must be positive")
}

type fakeSensor struct {
	cfg valConfig
	env Env
}

func (*fakeSensor) Name() string                                 { return "fake" }
func (*fakeSensor) Run(context.Context, func(event.Event)) error { return nil }

func TestNewFactory(t *testing.T) {
	parse := func(n *yaml.Node) (valConfig, error) { return ParseConfig("fake", n, valConfig{Count: 1}) }
	errBuild := errors.New("build failed")
	build := func(c valConfig, env Env) (*fakeSensor, error) {
		if c.Count == 13 {
			return nil, errBuild
		}
		return &fakeSensor{cfg: c, env: env}, nil
	}
	f := NewFactory(parse, build)

	s, err := f(node(t, "count: 2"), Env{DataDir: "/d"})
	require.NoError(t, err)
	require.Equal(t, &fakeSensor{cfg: valConfig{Count: 2}, env: Env{DataDir: "/d"}}, s)

	s, err = f(node(t, "count: 0"), Env{})
	require.EqualError(t, err, "test: count: must be positive")
	require.Nil(t, s, "an untyped nil, not a nil *fakeSensor")

	s, err = f(node(t, "count: 13"), Env{})
	require.ErrorIs(t, err, errBuild)
	require.Nil(t, s, "an untyped nil, not a nil *fakeSensor")

	infallible := NewFactory(parse, Infallible(func(c valConfig, env Env) *fakeSensor { return &fakeSensor{cfg: c, env: env} }))
	s, err = infallible(nil, Env{})
	require.NoError(t, err)
	require.Equal(t, &fakeSensor{cfg: valConfig{Count: 1}}, s)
}

func TestUnsupported(t *testing.T) {
	s, err := Unsupported("fake")(node(t, "anything: goes"), Env{})
	require.Nil(t, s)
	require.ErrorIs(t, err, ErrNotSupported)
	require.ErrorContains(t, err, `sensor "fake"`)
}

func TestComponentLogger(t *testing.T) {
	var buf bytes.Buffer
	env := Env{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	env.ComponentLogger("fake").Info("hello")
	require.Contains(t, buf.String(), "component=sensor.fake")
	require.Contains(t, buf.String(), "msg=hello")

	// Without a logger nothing is written and nothing fails.
	Env{}.ComponentLogger("fake").Error("dropped")
}

func TestTrackerWorkingAndEnded(t *testing.T) {
	var tr Tracker
	require.Equal(t, StateStarting, tr.Health().State)

	tr.Working("record", "")
	h := tr.Health()
	require.Equal(t, StateOK, h.State)
	require.Equal(t, "record", h.Mode)
	require.Empty(t, h.Message)

	tr.Working("record", "XWayland: only X11 applications are seen")
	h = tr.Health()
	require.Equal(t, StateDegraded, h.State)
	require.Equal(t, "XWayland: only X11 applications are seen", h.Message)

	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, tr.Ended(ctx, "record", nil))
	require.Equal(t, StateDegraded, tr.Health().State, "a clean end changes nothing")

	boom := errors.New("X connection lost")
	require.ErrorIs(t, tr.Ended(ctx, "record", boom), boom)
	h = tr.Health()
	require.Equal(t, StateFailed, h.State)
	require.Equal(t, "X connection lost", h.Message)

	var stopped Tracker
	cancel()
	require.NoError(t, stopped.Ended(ctx, "record", boom), "an error after the agent stopped the sensor is not a failure")
	require.Equal(t, StateStarting, stopped.Health().State)
}
