package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies"
)

// stateRules are a threshold rule with a suppression and a first-seen rule
// with a learning period; count is the threshold's bound.
func stateRules(count int64) []*policies.Rule {
	return []*policies.Rule{
		{
			ID:        "mass",
			When:      `event.action == "file-copied-to-removable"`,
			Threshold: &policies.Threshold{Count: count, Window: policies.Duration(time.Hour), By: []string{"user.name"}},
			Suppress:  &policies.Suppress{For: policies.Duration(time.Hour), By: []string{"user.name"}},
		},
		{
			ID:        "new-path",
			When:      `event.action == "file-copied-to-removable"`,
			FirstSeen: &policies.FirstSeen{Field: "file.path", By: []string{"user.name"}, Within: policies.Duration(90 * 24 * time.Hour), Learning: policies.Duration(24 * time.Hour)},
		},
	}
}

func compileRules(t *testing.T, rules ...*policies.Rule) *Program {
	t.Helper()
	p, err := Compile(testBundle(rules...))
	require.NoError(t, err)
	return p
}

// fired evaluates e and returns the ids of the rules that found something.
func fired(t *testing.T, p *Program, id string, at time.Time, user, path string) []string {
	t.Helper()
	d, err := p.Evaluate(context.Background(), copyEvent(id, at, user, path))
	require.NoError(t, err)
	var out []string
	for _, f := range d.Findings {
		out = append(out, f.Rule)
	}
	return out
}

// TestStateSurvivesRestart: a Program compiled after a restart and given
// the saved state goes on where the old one stopped: the threshold window
// keeps its count, the first-seen rule its learnt values and its learning
// period's start, the suppression its memory.
func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "rules.state")
	p1 := compileRules(t, stateRules(3)...)
	// Day 1: learning; /m/a.xlsx becomes known.
	require.Empty(t, fired(t, p1, "e1", t0, "jdoe", "/m/a.xlsx"))
	// Day 2, after learning: two copies of the known file.
	day2 := t0.Add(25 * time.Hour)
	require.Empty(t, fired(t, p1, "e2", day2, "jdoe", "/m/a.xlsx"))
	require.Empty(t, fired(t, p1, "e3", day2.Add(time.Minute), "jdoe", "/m/a.xlsx"))
	require.NoError(t, p1.SaveState(path))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "state names users: owner only")

	// Without the state, a restarted Program would be learning again and
	// its window empty: the third copy fires nothing.
	fresh := compileRules(t, stateRules(3)...)
	require.Empty(t, fired(t, fresh, "e4", day2.Add(2*time.Minute), "jdoe", "/m/a.xlsx"))

	p2 := compileRules(t, stateRules(3)...)
	rep, err := p2.LoadState(path)
	require.NoError(t, err)
	require.Equal(t, StateReport{Restored: 3}, rep, "mass: window and suppression; new-path: values")
	require.Equal(t, []string{"mass"}, fired(t, p2, "e4", day2.Add(2*time.Minute), "jdoe", "/m/a.xlsx"),
		"the third copy in the hour fires, the known file is not new")
	require.Equal(t, []string{"new-path"}, fired(t, p2, "e5", day2.Add(3*time.Minute), "jdoe", "/m/b.xlsx"),
		"a new file after learning fires; mass is suppressed")

	// A save over an existing file replaces it.
	require.NoError(t, p2.SaveState(path))
	p3 := compileRules(t, stateRules(3)...)
	rep, err = p3.LoadState(path)
	require.NoError(t, err)
	require.Equal(t, 3, rep.Restored)
	require.Empty(t, fired(t, p3, "e6", day2.Add(4*time.Minute), "jdoe", "/m/b.xlsx"), "b is known now; mass still suppressed")
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary files left behind")
}

// TestStateOfChangedRulesIsDiscarded: state is given back only to the rule
// it was kept for, unchanged in what gives the state its meaning.
func TestStateOfChangedRulesIsDiscarded(t *testing.T) {
	p1 := compileRules(t, stateRules(3)...)
	for i := range 2 {
		fired(t, p1, "e", t0.Add(time.Duration(i)*time.Minute), "jdoe", "/m/a.xlsx")
	}
	var buf bytes.Buffer
	require.NoError(t, p1.WriteState(&buf))

	rules := stateRules(4) // the threshold's bound changed
	rules[0].Suppress = nil
	rules[1].FirstSeen = nil // new-path is a plain rule now
	rules[1].When = `event.action == "file-copied-to-removable" && file.extension == "zip"`
	p2 := compileRules(t, rules...)
	rep, err := p2.ReadState(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	require.Equal(t, StateReport{Discarded: []string{
		"mass (threshold): the rule's definition changed",
		"mass (suppress): the rule no longer keeps this kind of state",
		"new-path (first_seen): the rule no longer keeps this kind of state",
	}}, rep)

	p3 := compileRules(t, &policies.Rule{ID: "other", When: `event.action == "file-copied-to-removable"`})
	rep, err = p3.ReadState(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	require.Zero(t, rep.Restored)
	require.Contains(t, rep.Discarded, "mass (threshold): no such rule in this bundle")
}

// TestDamagedStateFileRestoresNothing: a truncated or altered file is
// refused whole with ErrStateFile, and the Program's state is untouched.
func TestDamagedStateFileRestoresNothing(t *testing.T) {
	p1 := compileRules(t, stateRules(2)...)
	fired(t, p1, "e1", t0, "jdoe", "/m/a.xlsx")
	var buf bytes.Buffer
	require.NoError(t, p1.WriteState(&buf))
	good := buf.Bytes()

	check := func(name string, data []byte) {
		t.Helper()
		p := compileRules(t, stateRules(2)...)
		rep, err := p.ReadState(bytes.NewReader(data))
		require.ErrorIs(t, err, ErrStateFile, name)
		require.Zero(t, rep.Restored, name)
		require.Empty(t, fired(t, p, "e2", t0.Add(time.Minute), "jdoe", "/m/a.xlsx"),
			"%s: nothing restored, so one event in the window does not reach 2", name)
	}
	for n := 0; n < len(good); n += max(1, len(good)/40) {
		check("truncated", good[:n])
	}
	for i := 0; i < len(good); i += max(1, len(good)/40) {
		bad := bytes.Clone(good)
		bad[i] ^= 0x20
		check("flipped", bad)
	}
	check("trailing", append(bytes.Clone(good), 0))

	rep, err := compileRules(t, stateRules(2)...).LoadState(filepath.Join(t.TempDir(), "none"))
	require.NoError(t, err, "a first start has no state file")
	require.Equal(t, StateReport{}, rep)
}

// TestStateOfAStatelessBundle: a bundle without stateful rules writes a
// valid, empty state file.
func TestStateOfAStatelessBundle(t *testing.T) {
	p := compileRules(t, &policies.Rule{ID: "plain", When: `event.action == "file-copied-to-removable"`})
	var buf bytes.Buffer
	require.NoError(t, p.WriteState(&buf))
	rep, err := p.ReadState(&buf)
	require.NoError(t, err)
	require.Equal(t, StateReport{}, rep)
}

// FuzzReadState: arbitrary input never panics, and restores state only
// from a file whose structure and checksum are whole.
func FuzzReadState(f *testing.F) {
	p1, err := Compile(testBundle(stateRules(3)...))
	if err != nil {
		f.Fatal(err)
	}
	for i := range 3 {
		if _, err := p1.Evaluate(context.Background(), copyEvent("e", t0.Add(time.Duration(i)*time.Hour), "u", "/m/x")); err != nil {
			f.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := p1.WriteState(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("VGRS\x01\x00\x00\x00\x00\x00"))
	f.Add([]byte{})
	p2, err := Compile(testBundle(stateRules(3)...))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := p2.ReadState(bytes.NewReader(data))
		if err != nil {
			require.ErrorIs(t, err, ErrStateFile)
			require.Equal(t, StateReport{}, rep)
		}
	})
}

// TestLiveKeepsStateOnDisk: a Live saves its rule state periodically, a new
// Live (a restart) gets it back, and a damaged file is moved aside instead
// of failing the start.
func TestLiveKeepsStateOnDisk(t *testing.T) {
	dir := t.TempDir()
	bundleDir := filepath.Join(dir, "bundle")
	require.NoError(t, os.MkdirAll(filepath.Join(bundleDir, "rules"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bundleDir, ".manifest"),
		[]byte(`{"revision": "r1", "roots": ["vigil"], "metadata": {"name": "live"}}`), 0o644))
	rule := "- id: mass\n  title: Mass copy\n  severity: high\n  when: event.action == \"file-copied-to-removable\"\n" +
		"  threshold: {count: 2, window: 1h, by: [user.name]}\n"
	require.NoError(t, os.WriteFile(filepath.Join(bundleDir, "rules", "mass.yaml"), []byte(rule), 0o644))
	load := func(p string) (*policies.Bundle, error) { return policies.Load(p) }
	statePath := filepath.Join(dir, "state", "rules.state")

	l1, err := NewLive(bundleDir, load, nil)
	require.NoError(t, err)
	rep, err := l1.LoadState(statePath)
	require.NoError(t, err)
	require.Equal(t, StateReport{}, rep, "first start")
	require.Empty(t, fired(t, l1.Program(), "e1", t0, "jdoe", "/m/a"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l1.SaveStateEvery(ctx, statePath, 10*time.Millisecond)
	}()
	require.Eventually(t, func() bool { _, err := os.Stat(statePath); return err == nil }, 10*time.Second, 10*time.Millisecond)
	cancel()
	<-done

	l2, err := NewLive(bundleDir, load, nil)
	require.NoError(t, err)
	rep, err = l2.LoadState(statePath)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Restored)
	require.Equal(t, []string{"mass"}, fired(t, l2.Program(), "e2", t0.Add(time.Minute), "jdoe", "/m/a"))

	require.NoError(t, os.WriteFile(statePath, []byte("VGRS\x01garbage"), 0o600))
	l3, err := NewLive(bundleDir, load, nil)
	require.NoError(t, err)
	rep, err = l3.LoadState(statePath)
	require.NoError(t, err, "a damaged file does not stop the start")
	require.Zero(t, rep.Restored)
	_, err = os.Stat(statePath + ".damaged")
	require.NoError(t, err, "kept for inspection")
	_, err = os.Stat(statePath)
	require.ErrorIs(t, err, os.ErrNotExist)
}
