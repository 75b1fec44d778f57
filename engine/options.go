package engine

import (
	"log/slog"

	"github.com/vigil-itm/vigil/engine/state"
)

// Defaults for compile options.
const (
	// DefaultMaxEstimatedCost is the largest CEL cost estimate a single
	// condition may have at compile time.
	DefaultMaxEstimatedCost uint64 = 1_000_000
	// DefaultCostLimit is the runtime CEL cost after which a condition's
	// evaluation is stopped and counted as an error.
	DefaultCostLimit uint64 = 1_000_000
)

type options struct {
	logger           *slog.Logger
	metrics          *Metrics
	previous         *Program
	stateOpts        state.Options
	maxEstimatedCost uint64
	costLimit        uint64
	noFastPath       bool
	regoEveryEvent   *bool
}

// Option configures Compile.
type Option func(*options)

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithMetrics sets the metrics the Program reports to. Metrics outlive
// Programs: create them once with NewMetrics and pass them to every Compile.
func WithMetrics(m *Metrics) Option { return func(o *options) { o.metrics = m } }

// WithPrevious hands the window state of prev to the new Program for every
// rule whose definition did not change.
func WithPrevious(prev *Program) Option { return func(o *options) { o.previous = prev } }

// WithStateOptions sets the bounds of rule state (keys per rule, values per key).
func WithStateOptions(so state.Options) Option { return func(o *options) { o.stateOpts = so } }

// WithMaxEstimatedCost sets the per-condition compile-time cost limit.
func WithMaxEstimatedCost(c uint64) Option { return func(o *options) { o.maxEstimatedCost = c } }

// WithCostLimit sets the per-condition runtime cost limit.
func WithCostLimit(c uint64) Option { return func(o *options) { o.costLimit = c } }

// WithoutFastPath makes every condition run in the CEL interpreter; for
// differential tests and benchmarks.
func WithoutFastPath() Option { return func(o *options) { o.noFastPath = true } }

// WithRegoEveryEvent runs the Rego decision for every event, not only for
// events with findings. The bundle can ask for the same with the manifest
// metadata key "rego_every_event": true.
func WithRegoEveryEvent(on bool) Option { return func(o *options) { o.regoEveryEvent = &on } }
