package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/cel-go/common/types"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
	"github.com/vigil-itm/vigil/policies"
)

// library is the starter policy library, loaded once per process.
var library = sync.OnceValues(func() (*policies.Bundle, error) { return policies.LoadDir("../policies/library") })

// fuzzBundle wraps rules in a bundle whose data is the starter library's
// with the data of the differential test laid over it, so that both the
// library's conditions and diffCases compile against it.
func fuzzBundle(tb testing.TB, rules ...*policies.Rule) *policies.Bundle {
	lib, err := library()
	if err != nil {
		tb.Fatalf("load the policy library: %v", err)
	}
	return bundleOf(mergeData(lib.Data, diffData()), rules...)
}

func bundleOf(data map[string]any, rules ...*policies.Rule) *policies.Bundle {
	for i, r := range rules {
		r.Source = policies.Position{File: "rules/fuzz.yaml", Line: 1 + 20*i, Column: 3}
		if r.Severity == "" {
			r.Severity = policies.SeverityHigh
		}
		if r.Title == "" {
			r.Title = r.ID
		}
	}
	return &policies.Bundle{
		Manifest: policies.Manifest{Revision: "r1", Roots: []string{"vigil"}, Metadata: map[string]any{"name": "fuzz"}},
		Rules:    rules,
		Data:     data,
	}
}

// mergeData returns a copy of base with over laid over it, object by
// object; neither argument is modified.
func mergeData(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		if m, ok := v.(map[string]any); ok {
			v = mergeData(m, nil)
		}
		out[k] = v
	}
	for k, v := range over {
		om, ok1 := out[k].(map[string]any)
		vm, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			v = mergeData(om, vm)
		}
		out[k] = v
	}
	return out
}

// libraryConditions returns every condition of the starter policy library,
// for seeding.
func libraryConditions(tb testing.TB) []string {
	b, err := library()
	if err != nil {
		tb.Fatalf("load the policy library: %v", err)
	}
	var out []string
	for _, r := range b.Rules {
		if r.When != "" {
			out = append(out, r.When)
		}
		if r.Sequence != nil {
			for _, st := range r.Sequence.Steps {
				out = append(out, st.When)
			}
		}
		for _, ex := range r.Exceptions {
			if ex.When != "" {
				out = append(out, ex.When)
			}
		}
	}
	return out
}

// conditionEvents are the events FuzzCondition evaluates every condition
// against: one generated event per action for the first few actions of the
// stream, and the hand-made edge events. All hold valid UTF-8, as every
// decoded event does.
var conditionEvents = sync.OnceValue(func() []*event.Event {
	var out []*event.Event
	seen := map[string]bool{}
	for _, e := range eventgen.New(3, eventgen.Options{Users: 20}).Batch(300) {
		if !seen[e.Event.Action] && len(seen) < 10 {
			seen[e.Event.Action] = true
			out = append(out, e)
		}
	}
	return append(out, edgeEvents()...)
})

// FuzzCondition compiles arbitrary text as a rule condition. Compiling
// either succeeds or fails with ErrCompile; a compiled condition evaluates
// without panicking; and when the fast path accepted it, it agrees with
// the interpreter on every event, where the interpreter must not fail.
func FuzzCondition(f *testing.F) {
	for _, tc := range diffCases {
		f.Add(tc.src)
	}
	for _, src := range libraryConditions(f) {
		f.Add(src)
	}
	for _, src := range []string{
		`true`,
		`false || !true`,
		`event.action == "file-copied-to-removable" && file.extension in ["xlsx", "pdf"]`,
		`event.action in ["web-upload", "web-visit"] && domain_in(url.full, data.vigil.cloud_domains)`,
		`user.employment.status == "notice" && days_until(user.employment.end_date, timestamp) <= 14`,
		`local_hour(timestamp, tz) >= 22 || local_weekday(timestamp, "Asia/Tokyo") == 6`,
		`glob(file.path, ["**/Finance/**", "*.key"]) && !cidr_match(source.ip, data.vigil.nets)`,
		`size(email.to) > 5 && any_in(email.to, ["x@gmail.com"])`,
		`file.name.matches("^[A-Z]{2,}\\d*\\.(xlsx|csv)$")`,
		`base_domain(email.from).lowerAscii() != "acme.example"`,
		`user.risk_score >= data.vigil.risk_limit`,
		`data.vigil.strict`,
		`tz == "UTC"`,
		`labels.team == "red"`,
		`has(data.vigil.config.owner)`,
		`data.vigil.exts.exists(x, file.path.endsWith(x))`,
		`[1, 2, 3].map(x, x * 2).size() == 3`,
		`file.size / 0 == 1`,
		`"a" + "b" == "ab"`,
		`timestamp - duration("1h") < timestamp`,
		`user.name`,
		`file.size`,
		`event.action == `,
		`(((((`,
		`"\xff\u00e9"`,
		`event.action == "no-such-action"`,
		`unknown_field == 1`,
		`file.name.matches("[")`,
		`math.greatest(1, 2) == 2`,
		`sets.contains(event.category, ["file"])`,
		`[1, "a"][0] == 1`,
		`dyn(file.size) == 0`,
		`"" in [] || tz == ""`,
		`glob(file.path, []) || any_in([], event.category) || cidr_match(source.ip, [])`,
		`size("") == 0 && size(user.groups) == 0`,
		`!true == false && ("a" < "b") == true`,
		`user.active == data.vigil.strict`,
		`file.name.matches("") && matches(user.full_name, "\\p{Latin}+ \\p{Lu}")`,
		`file.extension in ["xlsx", "xlsx", "XLSX"] && !(file.extension in data.vigil.empty)`,
		`user.name in [user.name]`,
		`domain(domain(email.from)) == base_domain(base_domain(email.from)).lowerAscii()`,
		`local_hour(timestamp, "") == local_hour(timestamp, "UTC")`,
		`days_until(user.employment.end_date, event.ingested) == days_until("", timestamp)`,
	} {
		f.Add(src)
	}
	events := conditionEvents()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			t.Skip("long conditions only slow the fuzzer down")
		}
		p, err := Compile(fuzzBundle(t, &policies.Rule{ID: "fuzz", When: src}))
		if err != nil {
			if !errors.Is(err, ErrCompile) {
				t.Fatalf("compile error does not match ErrCompile: %v", err)
			}
			return
		}
		if len(p.rules) != 1 || p.rules[0].cond == nil {
			t.Fatalf("compiled %d rules", len(p.rules))
		}
		cond := p.rules[0].cond
		actions := p.rules[0].actions
		for i, e := range events {
			if len(actions) > 0 && !slices.Contains(actions, e.Event.Action) {
				// The index never shows this event to the rule, and the fast
				// path relies on that.
				continue
			}
			tz := timezoneOf(e)
			out, _, ierr := cond.prg.Eval(&activation{e: e, tz: tz, data: p.env.data})
			if cond.fast != nil {
				got := cond.fast(&evalCtx{e: e, tz: tz})
				if ierr != nil {
					t.Fatalf("event %d: fast path %v, interpreter error %v", i, got, ierr)
				}
				want, ok := out.(types.Bool)
				if !ok {
					t.Fatalf("event %d: interpreter returned %v, not a bool", i, out)
				}
				if got != bool(want) {
					t.Fatalf("event %d: fast path %v, interpreter %v\nevent: %s", i, got, want, eventString(e))
				}
			}
			if cond.guard != nil && !cond.guard(&evalCtx{e: e, tz: tz}) {
				// The guard may skip the interpreter only where it answers
				// false without an error.
				if ierr != nil || out != types.False {
					t.Fatalf("event %d: guard false, interpreter %v, %v\nevent: %s", i, out, ierr, eventString(e))
				}
			}
			if _, err := p.Evaluate(ctx, e); err != nil {
				t.Fatalf("event %d: evaluate: %v", i, err)
			}
		}
	})
}

// evalRules are a small bundle of each kind of rule: plain ones on the fast
// path and in the interpreter, an unindexed one, thresholds counting,
// summing and counting distinct values, and sequences, one suppressed.
func evalRules() []*policies.Rule {
	gt := float64(50 << 20)
	gte := float64(4)
	return []*policies.Rule{
		{
			ID:   "usb-sensitive",
			When: `event.action == "file-copied-to-removable" && (file.extension in data.vigil.exts || glob(file.path, data.vigil.patterns))`,
			Exceptions: []policies.Exception{
				{Field: "user.name", In: []any{"svc-backup"}},
				{When: `user.privileged && "admins" in user.groups`},
			},
		},
		{
			ID:   "external-mail",
			When: `event.action == "email-sent" && email.to.exists(a, !domain_in(a, ["acme.example"])) && size(email.attachments.name) > 0`,
		},
		{
			ID:   "cloud-or-corp-net",
			When: `domain_in(url.full, data.vigil.cloud_domains) || cidr_match(destination.ip, data.vigil.nets)`,
		},
		{
			ID:        "mass-copy",
			When:      `event.action in ["file-copied-to-removable", "file-copied-to-cloud-sync"]`,
			Threshold: &policies.Threshold{Count: 3, Window: policies.Duration(10 * time.Minute), By: []string{"user.name"}},
		},
		{
			ID:        "big-upload",
			When:      `event.action == "web-upload"`,
			Threshold: &policies.Threshold{Sum: &policies.FieldBound{Field: "file.size", GT: &gt}, Window: policies.Duration(time.Hour), By: []string{"user.name"}},
		},
		{
			ID:        "many-domains",
			When:      `event.action == "web-visit"`,
			Threshold: &policies.Threshold{Distinct: &policies.FieldBound{Field: "destination.domain", GTE: &gte}, Window: policies.Duration(10 * time.Minute), By: []string{"user.name", "host.name"}},
		},
		{
			ID: "mount-then-copy",
			Sequence: &policies.Sequence{By: []string{"user.name"}, Within: policies.Duration(time.Hour), Steps: []policies.Step{
				{ID: "mount", When: `event.action == "volume-mounted"`},
				{ID: "copy", When: `event.action == "file-copied-to-removable" && (local_hour(timestamp, tz) >= 18 || size(file.name) > 10)`},
			}},
			Suppress: &policies.Suppress{For: policies.Duration(time.Hour), By: []string{"user.name"}},
		},
		{
			ID:   "leaver-staging",
			When: `user.employment.status == "notice" || any_in(user.watchlists, data.vigil.watch)`,
			Sequence: &policies.Sequence{By: []string{"user.id"}, Within: policies.Duration(30 * time.Minute), Steps: []policies.Step{
				{When: `event.action == "web-download"`},
				{When: `event.action == "email-sent" && email.to.all(a, a.endsWith("@acme.example")) == false`},
			}},
		},
	}
}

// evalPrograms compiles evalRules twice, with and without the fast path,
// once per process. Both see the same events in the same order, so their
// rule state stays the same.
var evalPrograms = sync.OnceValues(func() ([2]*Program, error) {
	var out [2]*Program
	for i, opts := range [][]Option{nil, {WithoutFastPath()}} {
		p, err := Compile(bundleOf(diffData(), evalRules()...), opts...)
		if err != nil {
			return out, err
		}
		out[i] = p
	}
	return out, nil
})

// FuzzEvaluateEvent evaluates whatever event.Decode accepts. Evaluation
// never panics and never fails other than with ErrNoEvent, and the fast
// path and the interpreter reach the same decision.
func FuzzEvaluateEvent(f *testing.F) {
	if data, err := os.ReadFile("../event/testdata/examples.jsonl"); err == nil {
		for line := range bytes.Lines(data) {
			f.Add(bytes.TrimSpace(line))
		}
	}
	seen := map[string]bool{}
	for _, e := range eventgen.New(5, eventgen.Options{Users: 10}).Batch(2000) {
		if seen[e.Event.Action] {
			continue
		}
		seen[e.Event.Action] = true
		b, err := event.Encode(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, e := range edgeEvents() {
		e.Normalize()
		if b, err := event.Encode(e); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		``, `{}`, `null`,
		`{"@timestamp":"2026-11-02T10:00:00Z","event":{"id":"a","action":"logon"}}`,
		`{"@timestamp":"2026-11-02T19:00:00Z","event":{"id":"b","action":"volume-mounted"},"user":{"name":"jdoe"}}`,
		`{"@timestamp":"2026-11-02T19:05:00Z","event":{"id":"c","action":"file-copied-to-removable"},"user":{"name":"jdoe","timezone":"Europe/Paris"},"file":{"path":"/media/jdoe/USB/Finance/q3.xlsx","name":"q3.xlsx","extension":"xlsx","size":52428801}}`,
		`{"@timestamp":"2026-11-02T10:00:00Z","event":{"id":"d","action":"email-sent"},"user":{"name":"A","email":"a@acme.example","employment":{"status":"notice"}},"email":{"from":"A <a@ACME.example>","to":["Jane <jane@Gmail.com>"],"attachments":[{"name":"x.pdf","size":1}]}}`,
		`{"@timestamp":"2026-11-02T10:00:00Z","event":{"id":"e","action":"web-upload"},"user":{"name":"u"},"url":{"full":"https://user@www.Dropbox.com:8443/upload"},"file":{"size":9223372036854775807}}`,
		`{"@timestamp":"2026-11-02T10:00:00Z","event":{"id":"f","action":"connection-opened"},"source":{"ip":"::ffff:10.1.2.3"},"destination":{"ip":"fd00::1","domain":"mega.nz."}}`,
		`{"@timestamp":"2026-11-02T10:00:00Z","event":{"id":"g","action":"web-visit"},"user":{"name":"\u00e9\ud83d\ude00","watchlists":["leavers"]},"host":{"name":"h","timezone":"Mars/Base"},"destination":{"domain":"a.example"}}`,
		`{"@timestamp":"0001-01-01T00:00:00Z","event":{"id":"h","action":"logon"}}`,
		`{"@timestamp":"9999-12-31T23:59:59.999999999Z","event":{"id":"i","action":"process-ended"},"process":{"exit_code":-1}}`,
		"{\"@timestamp\":\"2026-11-02T10:00:00Z\",\"event\":{\"id\":\"j\",\"action\":\"file-created\"},\"file\":{\"path\":\"/x/\xff.key\"}}",
	} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := event.Decode(data)
		if err != nil {
			return
		}
		progs, err := evalPrograms()
		if err != nil {
			t.Fatalf("compile: %v", err)
		}
		var ds [2]Decision
		for i, p := range progs {
			d, err := p.Evaluate(ctx, e)
			if err != nil && !errors.Is(err, ErrNoEvent) {
				t.Fatalf("evaluate (fast path %v): %v", i == 0, err)
			}
			ds[i] = d
		}
		fast, interp := ds[0], ds[1]
		if fast.Alert != interp.Alert || !slices.Equal(fast.Rules, interp.Rules) || !slices.Equal(fast.Errors, interp.Errors) {
			t.Fatalf("fast path: alert %v, rules %v, errors %q\ninterpreter: alert %v, rules %v, errors %q\nevent: %s",
				fast.Alert, fast.Rules, fast.Errors, interp.Alert, interp.Rules, interp.Errors, data)
		}
	})
}
