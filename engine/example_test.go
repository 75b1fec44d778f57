package engine_test

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

// Compile a bundle once, then evaluate events against it.
func Example() {
	b := &policies.Bundle{
		Manifest: policies.Manifest{Revision: "1", Metadata: map[string]any{"name": "example"}},
		Rules: []*policies.Rule{{
			ID:       "usb-mass-copy",
			Title:    "Many files copied to removable media",
			Severity: policies.SeverityHigh,
			When:     `event.action == "file-copied-to-removable"`,
			Threshold: &policies.Threshold{
				Count: 3, Window: policies.Duration(10 * time.Minute), By: []string{"user.name"},
			},
		}},
	}
	p, err := engine.Compile(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		e := &event.Event{
			Timestamp: start.Add(time.Duration(i) * time.Minute),
			Event:     event.Meta{ID: fmt.Sprint(i), Action: "file-copied-to-removable"},
			User:      &event.User{Name: "jdoe"},
		}
		d, err := p.Evaluate(context.Background(), e)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(i, d.Alert, d.Severity, d.Reasons)
	}
	// Output:
	// 0 false  []
	// 1 false  []
	// 2 true high [Many files copied to removable media: count 3 within 10m (>= 3)]
}
