package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func testBundle(rules ...*policies.Rule) *policies.Bundle {
	for i, r := range rules {
		if r.Source.File == "" {
			r.Source = policies.Position{File: "rules/test.yaml", Line: 1 + 10*i, Column: 3}
		}
		if r.Severity == "" {
			r.Severity = policies.SeverityHigh
		}
		if r.Title == "" {
			r.Title = r.ID
		}
	}
	return &policies.Bundle{
		Manifest: policies.Manifest{Revision: "r1", Roots: []string{"vigil"}, Metadata: map[string]any{"name": "test"}},
		Rules:    rules,
		Data: map[string]any{"vigil": map[string]any{
			"exts":    []any{"xlsx", "pdf"},
			"allowed": []any{"svc"},
			"cloud":   []any{"dropbox.com", "mega.nz"},
			"limit":   float64(1000),
		}},
	}
}

func copyEvent(id string, ts time.Time, user, path string) *event.Event {
	return &event.Event{
		Timestamp: ts,
		Event:     event.Meta{ID: id, Action: "file-copied-to-removable"},
		User:      &event.User{Name: user},
		Host:      &event.Host{Name: "ws-1"},
		File:      &event.File{Path: path, Extension: extOf(path), Size: 5000},
	}
}

func extOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '.' {
			return p[i+1:]
		}
	}
	return ""
}

func TestPlainRuleFiresAndExplains(t *testing.T) {
	p, err := Compile(testBundle(&policies.Rule{
		ID:         "usb-sensitive",
		When:       `event.action == "file-copied-to-removable" && file.extension in data.vigil.exts`,
		Exceptions: []policies.Exception{{Field: "user.name", In: "data.vigil.allowed"}},
		Evidence:   &policies.EvidenceSpec{Screenshot: true},
	}))
	require.NoError(t, err)
	require.Empty(t, p.Warnings())

	d, err := p.Evaluate(context.Background(), copyEvent("e1", t0, "jdoe", "/media/x/q3.xlsx"))
	require.NoError(t, err)
	require.True(t, d.Alert)
	require.NotEmpty(t, d.DecisionID)
	require.Equal(t, "high", d.Severity)
	require.Equal(t, "default", d.DecidedBy)
	require.Equal(t, BundleRef{Name: "test", Revision: "r1"}, d.Bundle)
	require.Len(t, d.Findings, 1)
	require.Equal(t, "usb-sensitive", d.Findings[0].Rule)
	require.Equal(t, "rules/test.yaml:1:3", d.Findings[0].Source)
	require.True(t, d.Evidence.Screenshot)
	require.Equal(t, []RuleRef{{ID: "usb-sensitive"}}, d.Rules)

	d, err = p.Evaluate(context.Background(), copyEvent("e2", t0, "jdoe", "/media/x/beach.jpg"))
	require.NoError(t, err)
	require.False(t, d.Alert)
	require.Empty(t, d.DecisionID)

	d, err = p.Evaluate(context.Background(), copyEvent("e3", t0, "svc", "/media/x/q3.xlsx"))
	require.NoError(t, err)
	require.False(t, d.Alert, "excepted user")
}

func TestThresholdExplainsWindow(t *testing.T) {
	p, err := Compile(testBundle(&policies.Rule{
		ID:        "mass",
		When:      `event.action == "file-copied-to-removable"`,
		Threshold: &policies.Threshold{Count: 3, Window: policies.Duration(10 * time.Minute), By: []string{"user.name"}},
	}))
	require.NoError(t, err)
	var fired []Decision
	for i := range 7 {
		d, err := p.Evaluate(context.Background(), copyEvent(fmt.Sprint(i), t0.Add(time.Duration(i)*time.Minute), "jdoe", "/m/a.txt"))
		require.NoError(t, err)
		if d.Alert {
			fired = append(fired, d)
		}
	}
	require.Len(t, fired, 2, "count 3 fires at the 3rd and 6th event")
	w := fired[0].Findings[0].Window
	require.NotNil(t, w)
	require.Equal(t, "count", w.Aggregate)
	require.InDelta(t, 3, w.Value, 0)
	require.InDelta(t, 3, w.Limit, 0)
	require.Equal(t, "10m", w.Window)
	require.Equal(t, map[string]string{"user.name": "jdoe"}, fired[0].Findings[0].Key)
}

func TestSequenceAndSuppress(t *testing.T) {
	p, err := Compile(testBundle(&policies.Rule{
		ID: "seq",
		Sequence: &policies.Sequence{By: []string{"user.name"}, Within: policies.Duration(30 * time.Minute), Steps: []policies.Step{
			{ID: "dl", When: `event.action == "web-download"`},
			{ID: "usb", When: `event.action == "file-copied-to-removable"`},
		}},
		Suppress: &policies.Suppress{For: policies.Duration(time.Hour), By: []string{"user.name"}},
	}))
	require.NoError(t, err)
	dl := &event.Event{Timestamp: t0, Event: event.Meta{ID: "d", Action: "web-download"}, User: &event.User{Name: "jdoe"}}
	d, err := p.Evaluate(context.Background(), dl)
	require.NoError(t, err)
	require.False(t, d.Alert)
	d, err = p.Evaluate(context.Background(), copyEvent("c", t0.Add(10*time.Minute), "jdoe", "/m/a"))
	require.NoError(t, err)
	require.True(t, d.Alert)
	require.Len(t, d.Findings[0].Sequence.Steps, 2)
	require.Equal(t, "dl", d.Findings[0].Sequence.Steps[0].ID)
	require.Equal(t, t0, d.Findings[0].Sequence.Steps[0].At)

	// Again within the hour: suppressed.
	dl.Timestamp = t0.Add(15 * time.Minute)
	_, err = p.Evaluate(context.Background(), dl)
	require.NoError(t, err)
	d, err = p.Evaluate(context.Background(), copyEvent("c2", t0.Add(20*time.Minute), "jdoe", "/m/a"))
	require.NoError(t, err)
	require.False(t, d.Alert)
	require.Equal(t, uint64(1), p.Stats()[0].Suppressed)
}

func TestCompileErrorsArePositioned(t *testing.T) {
	b := testBundle(
		&policies.Rule{ID: "typo", When: `event.action == "file-created" && fiel.path == "x"`,
			FieldPos: map[string]policies.Position{"when": {File: "rules/a.yaml", Line: 4, Column: 9}}},
		&policies.Rule{ID: "notbool", When: `file.size`},
		&policies.Rule{ID: "badaction", When: `event.action == "fil-created"`},
		&policies.Rule{ID: "badby", When: `event.action == "file-created"`,
			Threshold: &policies.Threshold{Count: 2, Window: policies.Duration(time.Minute), By: []string{"user.nmae"}}},
		&policies.Rule{ID: "badexc", When: `event.action == "file-created"`,
			Exceptions: []policies.Exception{{Field: "user.name", In: "data.vigil.nope"}}},
	)
	_, err := Compile(b)
	require.Error(t, err)
	require.ErrorIs(t, err, ErrCompile)
	var ce *CompileError
	require.True(t, errors.As(err, &ce))
	require.Len(t, ce.Diagnostics, 5)
	msg := err.Error()
	require.Contains(t, msg, `rules/a.yaml:4:9: rule "typo": when: `)
	require.Contains(t, msg, `unknown name "fiel.path" (did you mean "file.path"?) (at condition 1:35)`)
	require.Contains(t, msg, `rule "notbool": when: condition must be a bool, is int`)
	require.Contains(t, msg, `event.action "fil-created" is not in the action vocabulary (did you mean "file-created"?)`)
	require.Contains(t, msg, `threshold.by.0: unknown event field "user.nmae" (did you mean "user.name"?)`)
	require.Contains(t, msg, `exceptions.0: reference "data.vigil.nope": no member "nope" in bundle data`)
}

func TestUnindexedRuleWarns(t *testing.T) {
	p, err := Compile(testBundle(&policies.Rule{ID: "any-big", When: `file.size > 10`}))
	require.NoError(t, err)
	require.Len(t, p.Warnings(), 1)
	require.Contains(t, p.Warnings()[0].String(), "cannot be indexed by event.action")
	d, err := p.Evaluate(context.Background(), copyEvent("e", t0, "u", "/a"))
	require.NoError(t, err)
	require.True(t, d.Alert)
}

func TestIndexing(t *testing.T) {
	for _, tc := range []struct {
		when string
		want []string
		ok   bool
	}{
		{`event.action == "logon"`, []string{"logon"}, true},
		{`"logon" == event.action && user.name == "x"`, []string{"logon"}, true},
		{`event.action in ["logon", "logoff"] && true`, []string{"logoff", "logon"}, true},
		{`event.action == "logon" || event.action == "logoff"`, []string{"logoff", "logon"}, true},
		{`event.action == "logon" || user.name == "x"`, nil, false},
		{`user.name == "x"`, nil, false},
		{`!(event.action == "logon")`, nil, false},
	} {
		ce, err := newCELEnv(nil)
		require.NoError(t, err)
		ast, iss := ce.env.Compile(tc.when)
		require.NoError(t, iss.Err())
		got, ok := indexActions(ast)
		require.Equal(t, tc.ok, ok, tc.when)
		if ok {
			require.Equal(t, tc.want, dedupe(got), tc.when)
		}
	}
}

func TestRuntimeCostLimitIsAnErrorNotACrash(t *testing.T) {
	p, err := Compile(testBundle(&policies.Rule{
		ID:   "expensive",
		When: `event.action == "email-sent" && email.to.all(a, email.to.all(b, email.to.all(c, a + b + c != "")))`,
	}), WithCostLimit(10_000), WithMaxEstimatedCost(^uint64(0)))
	require.NoError(t, err)
	to := make([]string, 200)
	for i := range to {
		to[i] = fmt.Sprintf("user%d@example.com", i)
	}
	e := &event.Event{Timestamp: t0, Event: event.Meta{ID: "m", Action: "email-sent"}, Email: &event.Email{To: to}}
	d, err := p.Evaluate(context.Background(), e)
	require.NoError(t, err)
	require.False(t, d.Alert)
	require.Len(t, d.Errors, 1)
	require.Contains(t, d.Errors[0], "rule expensive: when:")
	require.Contains(t, d.Errors[0], "cost limit")
	require.Equal(t, uint64(1), p.Stats()[0].Errors)
}

func TestEstimatedCostLimit(t *testing.T) {
	_, err := Compile(testBundle(&policies.Rule{
		ID:   "expensive",
		When: `event.action == "email-sent" && email.to.all(a, email.to.all(b, email.to.all(c, a + b + c != "")))`,
	}))
	require.Error(t, err)
	require.Contains(t, err.Error(), "exceeds the limit")
}

func TestConcurrentEvaluate(t *testing.T) {
	p, err := Compile(testBundle(&policies.Rule{
		ID:        "mass",
		When:      `event.action == "file-copied-to-removable" && file.extension in data.vigil.exts`,
		Threshold: &policies.Threshold{Count: 10, Window: policies.Duration(time.Hour), By: []string{"user.name"}},
	}))
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	alerts := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				d, err := p.Evaluate(context.Background(), copyEvent("e", t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("u%d", g), "/m/a.pdf"))
				if err != nil {
					t.Error(err)
					return
				}
				if d.Alert {
					mu.Lock()
					alerts++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 80, alerts, "8 users × 100 events / 10")
}

func TestStateSurvivesReloadForUnchangedRules(t *testing.T) {
	mk := func(count int64) *policies.Bundle {
		return testBundle(&policies.Rule{
			ID:        "mass",
			When:      `event.action == "file-copied-to-removable"`,
			Threshold: &policies.Threshold{Count: count, Window: policies.Duration(time.Hour), By: []string{"user.name"}},
		})
	}
	p1, err := Compile(mk(3))
	require.NoError(t, err)
	for i := range 2 {
		_, err := p1.Evaluate(context.Background(), copyEvent("e", t0.Add(time.Duration(i)*time.Second), "u", "/a"))
		require.NoError(t, err)
	}
	p2, err := Compile(mk(3), WithPrevious(p1))
	require.NoError(t, err)
	d, err := p2.Evaluate(context.Background(), copyEvent("e", t0.Add(3*time.Second), "u", "/a"))
	require.NoError(t, err)
	require.True(t, d.Alert, "third event fires with state carried over")

	p3, err := Compile(mk(4), WithPrevious(p2))
	require.NoError(t, err)
	d, err = p3.Evaluate(context.Background(), copyEvent("e", t0.Add(4*time.Second), "u", "/a"))
	require.NoError(t, err)
	require.False(t, d.Alert, "changed rule starts with fresh state")
}

func TestMaskedInput(t *testing.T) {
	p, err := Compile(testBundle(&policies.Rule{ID: "clip", When: `event.action == "clipboard-copy"`}))
	require.NoError(t, err)
	e := &event.Event{Timestamp: t0, Event: event.Meta{ID: "c", Action: "clipboard-copy"},
		Clipboard: &event.Clipboard{Content: "hunter2", ContentLength: 7}}
	d, err := p.Evaluate(context.Background(), e)
	require.NoError(t, err)
	require.Equal(t, "**masked**", d.Input.Event.Clipboard.Content)
	require.Equal(t, int64(7), d.Input.Event.Clipboard.ContentLength)
	require.Equal(t, "hunter2", e.Clipboard.Content, "the event itself is untouched")
}

func TestBadEvent(t *testing.T) {
	p, err := Compile(testBundle())
	require.NoError(t, err)
	_, err = p.Evaluate(context.Background(), nil)
	require.ErrorIs(t, err, ErrNoEvent)
	_, err = p.Evaluate(context.Background(), &event.Event{Timestamp: t0})
	require.ErrorIs(t, err, ErrNoEvent)
}
