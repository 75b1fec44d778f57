package engine

import (
	"fmt"
	// Time zones work the same on every endpoint, with or without a
	// system zone database.
	_ "time/tzdata"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"

	"github.com/vigil-itm/vigil/event"
)

// celEnv is the CEL environment of one compiled bundle: every event field as
// a variable named by its ECS path ("file.path", "user.department",
// "timestamp" for "@timestamp"), "tz" (the user's time zone, else the
// host's, else UTC), every member of bundle data by its path
// ("data.vigil.cloud_domains") and the helper functions.
type celEnv struct {
	env  *cel.Env
	data map[string]*dataVar
}

func newCELEnv(data map[string]any) (*celEnv, error) {
	opts := []cel.EnvOption{
		ext.Strings(),
		ext.Sets(),
		ext.Lists(),
		ext.Math(),
		cel.Variable("tz", cel.StringType),
		// Bundle data numbers are dyn, so they compare with int and double
		// fields alike.
		cel.CrossTypeNumericComparisons(true),
	}
	for _, f := range fieldList {
		opts = append(opts, cel.Variable(f.ident, f.celType()))
	}
	ce := &celEnv{data: map[string]*dataVar{}}
	for _, dv := range dataVars(data) {
		dv := dv
		ce.data[dv.name] = &dv
		opts = append(opts, cel.Variable(dv.name, dv.typ))
	}
	opts = append(opts, functionOptions()...)
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("create CEL environment: %w", err)
	}
	ce.env = env
	return ce, nil
}

// activation resolves CEL variables against one event without building any
// map: field values are read on demand.
type activation struct {
	e    *event.Event
	tz   string
	data map[string]*dataVar
}

var _ interpreter.Activation = (*activation)(nil)

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	if f, ok := fieldsByCEL[name]; ok {
		return f.celValue(a.e), true
	}
	if name == "tz" {
		return a.tz, true
	}
	if dv, ok := a.data[name]; ok {
		return dv.val, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// timezoneOf picks the time zone for local-time helpers.
func timezoneOf(e *event.Event) string {
	if e.User != nil && e.User.Timezone != "" {
		return e.User.Timezone
	}
	if e.Host != nil && e.Host.Timezone != "" {
		return e.Host.Timezone
	}
	return "UTC"
}

// names lists every variable a condition can use, for suggestions.
func (ce *celEnv) names() []string {
	out := make([]string, 0, len(fieldList)+len(ce.data)+1)
	for _, f := range fieldList {
		out = append(out, f.ident)
	}
	for n := range ce.data {
		out = append(out, n)
	}
	return append(out, "tz")
}
