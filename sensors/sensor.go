// Package sensors owns the seam between endpoint sensors and the agent: the
// Sensor module interface, health reports, the registry that builds sensors
// from the agent's configuration (with the helpers every sensor's factory
// uses to parse and validate its section), the findings of a sensor's
// machine check, and the interface through which sensors feed the
// endpoint's evidence buffers.
//
// Each sensor lives in its own sub-package and registers itself from init;
// the agent imports sensors/all. Sensors turn OS activity into event.Event
// values; they never import the engine, the store or the API.
package sensors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/evidence"
)

// ErrNotSupported is returned (wrapped) by sensors that do not exist on the
// operating system the agent runs on.
var ErrNotSupported = errors.New("not supported on this OS")

// NotSupported returns an error saying that sensor name does not run on this
// operating system; errors.Is(err, ErrNotSupported) holds.
func NotSupported(name string) error {
	return fmt.Errorf("sensor %q: %w (%s)", name, ErrNotSupported, runtime.GOOS)
}

// Sensor is one source of endpoint events. The agent owns its lifecycle.
type Sensor interface {
	// Name is the sensor's registered name, such as "removable".
	Name() string
	// Run emits events until ctx is done, then returns nil. A returned
	// error means the sensor failed: the agent raises a sensor-failed event
	// and restarts it with backoff. emit is safe for concurrent use and does
	// not block for long; the event's Host and Agent fields are filled in by
	// the agent when empty.
	Run(ctx context.Context, emit func(event.Event)) error
}

// HealthReporter is implemented by sensors that can say how they work.
type HealthReporter interface {
	Health() Health
}

// Health states, from best to worst.
const (
	StateOK          = "ok"
	StateDegraded    = "degraded"
	StateFailed      = "failed"
	StateUnsupported = "unsupported"
	StateStarting    = "starting"
)

// Health is a sensor's report on itself, shown in the agents list.
type Health struct {
	// State is one of the State constants.
	State string `json:"state"`
	// Mode says which mechanism the sensor uses when it has more than one,
	// such as "fanotify" or "fsnotify".
	Mode string `json:"mode,omitempty"`
	// Message explains a degraded or failed state in plain words.
	Message string `json:"message,omitempty"`
	// Events is how many events the sensor emitted.
	Events uint64 `json:"events"`
	// Errors is how many errors the sensor met and survived.
	Errors uint64 `json:"errors"`
	// LastError is the most recent of those errors.
	LastError string `json:"last_error,omitempty"`
	// Since is when the sensor entered its state.
	Since time.Time `json:"since"`
}

// EvidenceSink receives evidence material for the endpoint's in-memory ring
// buffers. It is implemented by *evidence.Buffers. Material given here stays
// in memory unless a decision asks for evidence. Methods are safe for
// concurrent use and never block for long.
type EvidenceSink interface {
	RecordKeystroke(evidence.Keystroke)
	RecordClipboard(evidence.ClipboardEntry)
	RecordTerminal(evidence.TerminalRecord)
}

// Env is what the agent gives a sensor when it builds it.
type Env struct {
	// Logger is the sensor's logger, already tagged with its name.
	Logger *slog.Logger
	// Host describes this endpoint; the agent also fills it into events.
	Host event.Host
	// Evidence is where evidence-feeding sensors (keyboard, clipboard,
	// terminal) put what they record. It is never nil: when evidence is
	// off, it drops everything.
	Evidence EvidenceSink
	// DataDir is a directory the sensor may keep small state in (for
	// instance a saved offset in a log file).
	DataDir string
}

// ComponentLogger returns the logger of the sensor called name: Logger, or
// one that discards everything when Logger is nil, tagged with
// component=sensor.<name>.
func (e Env) ComponentLogger(name string) *slog.Logger {
	logger := e.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return logger.With("component", "sensor."+name)
}

// Factory builds a sensor from its configuration. cfg is the YAML node of the
// sensor's section in the agent config (nil when the section is empty): the
// factory applies its defaults, decodes cfg strictly (unknown keys are
// errors, see DecodeStrict), validates it and returns the sensor, or an error
// naming the field that is wrong. On an OS where the sensor does not exist,
// the factory returns an error wrapping ErrNotSupported.
type Factory func(cfg *yaml.Node, env Env) (Sensor, error)

// NewFactory returns the Factory of a sensor whose section is read by
// parse (usually the sensor's ParseConfig) and which build makes from the
// parsed configuration.
func NewFactory[C any, S Sensor](parse func(*yaml.Node) (C, error), build func(C, Env) (S, error)) Factory {
	return func(node *yaml.Node, env Env) (Sensor, error) {
		cfg, err := parse(node)
		if err != nil {
			return nil, err
		}
		s, err := build(cfg, env)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// Infallible adapts a constructor that cannot fail to the build function
// NewFactory takes.
func Infallible[C, S any](build func(C, Env) S) func(C, Env) (S, error) {
	return func(cfg C, env Env) (S, error) { return build(cfg, env), nil }
}

// Unsupported returns the Factory of a sensor that does not exist on this
// operating system: it fails with NotSupported(name) whatever its config.
func Unsupported(name string) Factory {
	return func(*yaml.Node, Env) (Sensor, error) { return nil, NotSupported(name) }
}

// Registration describes a registered sensor.
type Registration struct {
	// Name is the key of the sensor's section in the agent config.
	Name string
	// Description says in one line what the sensor watches.
	Description string
	// New builds the sensor.
	New Factory
	// DefaultEnabled says whether `vigil run` turns the sensor on when the
	// config does not mention it.
	DefaultEnabled bool
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Registration{}
)

// Register adds a sensor to the registry. It is called from init and panics
// on a duplicate or empty name, which is a programming error.
func Register(r Registration) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if r.Name == "" || r.New == nil {
		panic("sensors: Register with empty name or nil factory")
	}
	if _, dup := registry[r.Name]; dup {
		panic("sensors: duplicate registration of " + r.Name)
	}
	registry[r.Name] = r
}

// Lookup returns the registration of the sensor called name.
func Lookup(name string) (Registration, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	r, ok := registry[name]
	return r, ok
}

// Registered returns every registration, sorted by name.
func Registered() []Registration {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]Registration, 0, len(registry))
	for _, r := range registry {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DecodeStrict decodes a sensor's YAML section into v, which already holds
// the defaults. Unknown keys are errors that name the line. A nil node leaves
// v as it is.
func DecodeStrict(node *yaml.Node, v any) error {
	if node == nil || node.Kind == 0 {
		return nil
	}
	out, err := yaml.Marshal(node)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("section at line %d: %w", node.Line, err)
	}
	return nil
}

// ParseConfig applies defaults, decodes the sensor's section node strictly
// over them (see DecodeStrict) and validates the result with its Validate
// method. A decoding error is wrapped with the sensor's name; a validation
// error is returned as it is, since Validate names the field that is wrong.
// On error the zero configuration is returned.
func ParseConfig[C any, P interface {
	*C
	Validate() error
}](name string, node *yaml.Node, defaults C) (C, error) {
	var zero C
	c := defaults
	if err := DecodeStrict(node, &c); err != nil {
		return zero, fmt.Errorf("%s: decode config: %w", name, err)
	}
	if err := P(&c).Validate(); err != nil {
		return zero, err
	}
	return c, nil
}

// Diagnosis is one finding of a sensor's Diagnose function (run by `vigil
// sensors check`): something the sensor needs, and whether this machine
// has it.
type Diagnosis struct {
	// Subject names what was checked.
	Subject string
	// OK is true when the machine has what the sensor needs.
	OK bool
	// Detail says what was found.
	Detail string
	// Fix says what to do when OK is false.
	Fix string
}

// Tracker keeps a sensor's health and counters; sensors embed or hold one and
// return Tracker.Health from their Health method. It is safe for concurrent
// use. The zero value reports StateStarting.
type Tracker struct {
	mu     sync.Mutex
	health Health
}

// Set records a new state, mode and message. The Since time changes only
// when the state does.
func (t *Tracker) Set(state, mode, message string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.health.State != state {
		t.health.Since = time.Now()
	}
	t.health.State, t.health.Mode, t.health.Message = state, mode, message
}

// Working records that the sensor works in mode: StateOK, or StateDegraded
// with note as the message when note says what limits it.
func (t *Tracker) Working(mode, note string) {
	if note != "" {
		t.Set(StateDegraded, mode, note)
		return
	}
	t.Set(StateOK, mode, "")
}

// Ended returns what a sensor's Run returns when its work in mode ended
// with err: nil when ctx is done (the agent stopped the sensor, which is
// not a failure) or err is nil; otherwise err, after recording StateFailed
// with err as the message.
func (t *Tracker) Ended(ctx context.Context, mode string, err error) error {
	if err != nil && ctx.Err() == nil {
		t.Set(StateFailed, mode, err.Error())
		return err
	}
	return nil
}

// Emitted counts one emitted event. Call it before handing the event
// over, so that whoever receives the event finds it counted.
func (t *Tracker) Emitted() {
	t.mu.Lock()
	t.health.Events++
	t.mu.Unlock()
}

// Failed counts an error the sensor survived.
func (t *Tracker) Failed(err error) {
	if err == nil {
		return
	}
	t.mu.Lock()
	t.health.Errors++
	t.health.LastError = err.Error()
	t.mu.Unlock()
}

// Health returns a copy of the current report.
func (t *Tracker) Health() Health {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.health
	if h.State == "" {
		h.State = StateStarting
	}
	return h
}
