// Package testrun runs a long-running function (a sensor, an agent, a
// server) in the background for the length of a test. It is used only from
// tests and must not be imported by product code.
package testrun

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Start runs run in a goroutine with a context that stop cancels. stop
// waits for run to return and fails the test when it returned an error or
// did not return within wait; what names the run in those failures. stop
// may be called more than once, and runs when the test ends.
func Start(t testing.TB, what string, wait time.Duration, run func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			case <-time.After(wait):
				t.Fatalf("%s did not stop within %v", what, wait)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
