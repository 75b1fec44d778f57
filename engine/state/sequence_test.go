package state

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies"
)

func TestNewSequenceErrors(t *testing.T) {
	tests := []struct {
		name string
		spec *policies.Sequence
		want string
	}{
		{"nil spec", nil, "no specification"},
		{"no steps", &policies.Sequence{Within: pd(time.Minute)}, "need 1 to 64 steps, got 0"},
		{"too many steps", &policies.Sequence{Within: pd(time.Minute), Steps: make([]policies.Step, 65)}, "got 65"},
		{"zero within", &policies.Sequence{Steps: make([]policies.Step, 2)}, "within must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSequence(tt.spec, Options{})
			require.Nil(t, s)
			require.ErrorIs(t, err, ErrInvalidSpec)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// seqStep is one observation: steps names the steps matched ("A" is step 0,
// "B" step 1, ...), fired the step times of the firing run, if any.
type seqStep struct {
	at       time.Duration
	steps    string
	progress int
	fired    []time.Duration
}

func matchedSteps(n int, steps string) []bool {
	m := make([]bool, n)
	for i := range n {
		m[i] = strings.ContainsRune(steps, rune('A'+i))
	}
	return m
}

func runSequence(t *testing.T, n int, within time.Duration, steps []seqStep) {
	t.Helper()
	s, err := NewSequence(&policies.Sequence{Within: pd(within), Steps: make([]policies.Step, n)}, Options{})
	require.NoError(t, err)
	for i, st := range steps {
		r := s.Observe("alice", at(st.at), matchedSteps(n, st.steps))
		require.Equal(t, st.fired != nil, r.Fired, "step %d (%s at %s): fired", i, st.steps, st.at)
		require.Equal(t, st.progress, r.Progress, "step %d (%s at %s): progress", i, st.steps, st.at)
		if st.fired == nil {
			require.Nil(t, r.StepTimes)
			continue
		}
		want := make([]time.Time, len(st.fired))
		for j, d := range st.fired {
			want[j] = at(d)
		}
		require.Equal(t, want, r.StepTimes, "step %d: step times", i)
	}
}

func TestSequence(t *testing.T) {
	const m = time.Minute
	tests := []struct {
		name  string
		steps []seqStep
	}{
		{"steps in order fire", []seqStep{
			{at: 0, steps: "A", progress: 1},
			{at: 1 * m, steps: "B", progress: 2},
			{at: 2 * m, steps: "C", progress: 3, fired: []time.Duration{0, 1 * m, 2 * m}},
		}},
		{"steps out of order do not", []seqStep{
			{at: 0, steps: "B", progress: 0},
			{at: 1 * m, steps: "C", progress: 0},
			{at: 2 * m, steps: "A", progress: 1},
			{at: 3 * m, steps: "C", progress: 1},
		}},
		{"a last step exactly Within after the first does not fit", []seqStep{
			{at: 0, steps: "A", progress: 1},
			{at: 5 * m, steps: "B", progress: 2},
			{at: 10 * m, steps: "C", progress: 0},
		}},
		{"a last step just inside Within fits", []seqStep{
			{at: 0, steps: "A", progress: 1},
			{at: 5 * m, steps: "B", progress: 2},
			{at: 10*m - 1, steps: "C", progress: 3, fired: []time.Duration{0, 5 * m, 10*m - 1}},
		}},
		{"steps at the same time advance", []seqStep{
			{at: m, steps: "A", progress: 1},
			{at: m, steps: "B", progress: 2},
			{at: m, steps: "C", progress: 3, fired: []time.Duration{m, m, m}},
		}},
		{"a later start replaces an expired run", []seqStep{
			{at: 0, steps: "A", progress: 1},
			{at: 1 * m, steps: "B", progress: 2},
			{at: 8 * m, steps: "A", progress: 2},
			{at: 11 * m, steps: "B", progress: 2},
			{at: 12 * m, steps: "C", progress: 3, fired: []time.Duration{8 * m, 11 * m, 12 * m}},
		}},
		{"a repeated first step keeps the latest start", []seqStep{
			{at: 0, steps: "A", progress: 1},
			{at: 5 * m, steps: "A", progress: 1},
			{at: 6 * m, steps: "B", progress: 2},
			{at: 11 * m, steps: "C", progress: 3, fired: []time.Duration{5 * m, 6 * m, 11 * m}},
		}},
		{"a later-started run with the same progress wins", []seqStep{
			{at: 0, steps: "A", progress: 1},
			{at: 1 * m, steps: "B", progress: 2},
			{at: 2 * m, steps: "A", progress: 2},
			{at: 3 * m, steps: "B", progress: 2},
			{at: 11 * m, steps: "C", progress: 3, fired: []time.Duration{2 * m, 3 * m, 11 * m}},
		}},
		{"an event matching several steps advances a run by one", []seqStep{
			{at: 0, steps: "AB", progress: 1},
			{at: 1 * m, steps: "ABC", progress: 2},
			{at: 2 * m, steps: "C", progress: 3, fired: []time.Duration{0, 1 * m, 2 * m}},
		}},
		{"one event advances every run it can and starts another", []seqStep{
			{at: 0, steps: "A", progress: 1},
			{at: 1 * m, steps: "AB", progress: 2},
			// The run started at 1m reaches step B and replaces the
			// one started at 0.
			{at: 2 * m, steps: "B", progress: 2},
			{at: 3 * m, steps: "C", progress: 3, fired: []time.Duration{1 * m, 2 * m, 3 * m}},
		}},
		{"runs are cleared after firing", []seqStep{
			{at: 0, steps: "A", progress: 1},
			{at: 1 * m, steps: "A", progress: 1},
			{at: 2 * m, steps: "B", progress: 2},
			{at: 3 * m, steps: "CA", progress: 3, fired: []time.Duration{1 * m, 2 * m, 3 * m}},
			{at: 4 * m, steps: "B", progress: 0},
			{at: 5 * m, steps: "C", progress: 0},
		}},
		{"a late event cannot come before its run's last step", []seqStep{
			{at: 0, steps: "A", progress: 1},
			{at: 5 * m, steps: "B", progress: 2},
			{at: 3 * m, steps: "C", progress: 2},
			{at: 6 * m, steps: "C", progress: 3, fired: []time.Duration{0, 5 * m, 6 * m}},
		}},
		{"a late event inside Within can advance", []seqStep{
			{at: 0, steps: "A", progress: 1},
			{at: 5 * m, steps: "C", progress: 1},
			{at: 2 * m, steps: "B", progress: 2},
			{at: 6 * m, steps: "C", progress: 3, fired: []time.Duration{0, 2 * m, 6 * m}},
		}},
		{"a late event Within older than the newest is dropped", []seqStep{
			{at: 20 * m, steps: "A", progress: 1},
			{at: 10 * m, steps: "A", progress: 1},
			{at: 21 * m, steps: "B", progress: 2},
			{at: 22 * m, steps: "C", progress: 3, fired: []time.Duration{20 * m, 21 * m, 22 * m}},
		}},
		{"an event matching nothing changes nothing", []seqStep{
			{at: 0, steps: "A", progress: 1},
			{at: 1 * m, steps: "", progress: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runSequence(t, 3, 10*time.Minute, tt.steps) })
	}
}

func TestSequenceOneStepFiresOnEveryMatch(t *testing.T) {
	runSequence(t, 1, time.Minute, []seqStep{
		{at: 0, steps: "A", progress: 1, fired: []time.Duration{0}},
		{at: 0, steps: "", progress: 0},
		{at: time.Second, steps: "A", progress: 1, fired: []time.Duration{time.Second}},
	})
}

func TestSequenceShortMatchedSlice(t *testing.T) {
	s, err := NewSequence(&policies.Sequence{Within: pd(time.Minute), Steps: make([]policies.Step, 2)}, Options{})
	require.NoError(t, err)
	require.Equal(t, 1, s.Observe("k", at(0), []bool{true}).Progress)
	require.Equal(t, 1, s.Observe("k", at(1), nil).Progress)
	require.True(t, s.Observe("k", at(2), []bool{false, true, true, true}).Fired)
}

func TestSequenceManySteps(t *testing.T) {
	const n = 64
	s, err := NewSequence(&policies.Sequence{Within: pd(time.Hour), Steps: make([]policies.Step, n)}, Options{})
	require.NoError(t, err)
	for i := range n {
		m := make([]bool, n)
		m[i] = true
		r := s.Observe("k", at(time.Duration(i)*time.Second), m)
		require.Equal(t, i+1, r.Progress)
		require.Equal(t, i == n-1, r.Fired)
	}
}
