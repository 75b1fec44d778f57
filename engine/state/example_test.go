package state_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/vigil-itm/vigil/engine/state"
	"github.com/vigil-itm/vigil/policies"
)

func ExampleThreshold() {
	// threshold: {count: 3, window: 10m, by: [user.name]}
	th, err := state.NewThreshold(&policies.Threshold{
		Count:  3,
		Window: policies.Duration(10 * time.Minute),
		By:     []string{"user.name"},
	}, state.Options{})
	if err != nil {
		panic(err)
	}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i, offset := range []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute} {
		r := th.Observe(state.Key("alice"), start.Add(offset), 0, "")
		fmt.Printf("event %d: count %d, fired %v\n", i, r.Count, r.Fired)
	}
	// Output:
	// event 0: count 1, fired false
	// event 1: count 2, fired false
	// event 2: count 3, fired true
	// event 3: count 1, fired false
}

func ExampleSequence() {
	seq, err := state.NewSequence(&policies.Sequence{
		Within: policies.Duration(time.Hour),
		Steps:  []policies.Step{{ID: "archive"}, {ID: "upload"}},
	}, state.Options{})
	if err != nil {
		panic(err)
	}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	seq.Observe("bob", start, []bool{true, false})
	r := seq.Observe("bob", start.Add(20*time.Minute), []bool{false, true})
	fmt.Println(r.Fired, r.StepTimes[0].Format(time.Kitchen), r.StepTimes[1].Format(time.Kitchen))
	// Output:
	// true 9:00AM 9:20AM
}

func ExampleSuppressor() {
	s := state.NewSuppressor(&policies.Suppress{For: policies.Duration(time.Hour)}, state.Options{})
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, offset := range []time.Duration{0, 30 * time.Minute, time.Hour} {
		allowed, until := s.Allow("alice", start.Add(offset))
		fmt.Println(allowed, until.Format(time.Kitchen))
	}
	// Output:
	// true 10:00AM
	// false 10:00AM
	// true 11:00AM
}

func ExampleFirstSeen_Snapshot() {
	spec := &policies.FirstSeen{Field: "host.name", Within: policies.Duration(30 * 24 * time.Hour)}
	before, err := state.NewFirstSeen(spec, state.Options{})
	if err != nil {
		panic(err)
	}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	before.Observe("alice", "laptop-17", start)

	// Persist the state, then load it into a fresh instance after a restart.
	var saved bytes.Buffer
	if err := before.Snapshot(&saved); err != nil {
		panic(err)
	}
	after, err := state.NewFirstSeen(spec, state.Options{})
	if err != nil {
		panic(err)
	}
	if err := after.Restore(&saved); err != nil {
		panic(err)
	}
	r := after.Observe("alice", "laptop-17", start.Add(24*time.Hour))
	fmt.Println(r.Fired, r.LastSeen.Equal(start))
	// Output:
	// false true
}
