// Package engine compiles a policy bundle once into an immutable Program and
// evaluates events against it, concurrently and on event time:
//
//	index by event.action → CEL conditions → windows and sequences → Rego decision
//
// A Program owns the state of its stateful rules (engine/state) and hands
// it to the next Program on reload for rules whose definition did not
// change. The engine returns decisions; it never delivers them. It must not
// import alerts, api, store or any sensor.
package engine
