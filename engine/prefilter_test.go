package engine

import (
	"context"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
	"github.com/vigil-itm/vigil/policies"
)

// libraryPatterns returns the regular expressions of the library's matches
// calls, as the fast path compiles them.
func libraryPatterns(t testing.TB) []string {
	t.Helper()
	re := regexp.MustCompile(`matches\(r"((?:[^"\\]|\\.)*)"\)`)
	var out []string
	for _, src := range libraryConditions(t) {
		for _, m := range re.FindAllStringSubmatch(src, -1) {
			out = append(out, m[1])
		}
	}
	require.NotEmpty(t, out, "the library has no matches() patterns any more")
	return out
}

// prefilterTexts are texts that hit and miss the patterns: library
// triggers in several cases, near misses, non-ASCII letters that fold to
// ASCII ones (U+212A KELVIN SIGN is k, U+017F LONG S is s), invalid UTF-8,
// and text longer than the prefilter's stack buffer.
func prefilterTexts() []string {
	long := strings.Repeat("x ", 400)
	out := []string{
		"", "a", "keylog", "KEYLOG", "xkeylog", "lkeylog", "Keylogger.exe --hide", "logkeys -s", "xinput test 12",
		"xinput   TEST-XI2", "Get-Keystrokes", "mimikatz.exe sekurlsa::logonpasswords", "MiMiKaTz", "procdump64.exe -ma lsass.exe out.dmp",
		"procdump -ma 1234", "reg save HKLM\\SAM sam.save", "reg.exe save hklm\\system s", "cat /etc/shadow", "tar czf x.tgz /etc/shadow",
		"ntdsutil \"ac i ntds\" ifm", "dd if=/dev/zero of=/dev/sda bs=1M", "dd if=/dev/urandom of=/tmp/x", "cipher /w:C:", "shred -u a.txt",
		"history -c", "rm ~/.bash_history", "unset HISTFILE", "export HISTFILE=/dev/null", "curl -T a.zip https://transfer.sh/a.zip",
		"rclone copy ./docs remote:", "tor", "torsocks curl x", "/opt/Tor Browser/firefox", "\u212Aeylog", "\u212AEYLOG", "mimi\u212Aatz",
		"\u017Fecretsdump", "\u017Fhred -u x", "hi\u017Ftory -c", "ke\xffylog", "\xffkeylog", "ls -la", "git push origin main",
		long + "keylog", long + "KEYLOG", long, long + "\u212Aeylog", "Résumé keylog", "ǅ", "ſ",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "K", "e", "y", "l", "o", "g", "s", " ", "/", "-", ".", "\u212A", "\u017F", "é", "x", "i", "n", "p", "u", "t", "\\", ":"}
	for range 1000 {
		var b strings.Builder
		for range rng.IntN(24) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		out = append(out, b.String())
	}
	return out
}

func TestRegexPrefilterNeverChangesAnAnswer(t *testing.T) {
	patterns := append(libraryPatterns(t),
		`(?i)abc|def`, `abc`, `a+`, `(ab)+c`, `x{2,}yz`, `^$`, `(?i)k`, `(?i)s`, `(?i)é`, `[a-z]+@corp`, `(?i)(a|b)c?d`, `\d{4}-\d{2}`,
		`(?i)ǅ`, `(?s).*secret`, `a|b*`, `(?i)(foo|bar)(baz)?`)
	texts := prefilterTexts()
	filtered := 0
	for _, p := range patterns {
		m, err := compileMatch(p)
		require.NoError(t, err, p)
		re := regexp.MustCompile(p)
		if m.pf != nil {
			filtered++
		}
		for _, s := range texts {
			require.Equal(t, re.MatchString(s), m.MatchString(s), "pattern %q, text %q", p, s)
		}
	}
	// Every pattern of the library is prefiltered, or the optimisation
	// silently stopped working.
	for _, p := range libraryPatterns(t) {
		m, err := compileMatch(p)
		require.NoError(t, err)
		require.NotNil(t, m.pf, "no prefilter for %q", p)
	}
	require.Positive(t, filtered)
}

func TestRegexPrefilterLiterals(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    []string // nil: no prefilter
	}{
		{`(?i)Keylog`, []string{"keylog"}},
		{`(?i)(^|[^l])keylog|get-keystrokes`, []string{"keylog", "get-keystrokes"}},
		{`procdump(64)?(\.exe)?\s.*lsass`, []string{"procdump"}},
		{`a*`, nil},
		{`[0-9]+`, nil},
		{`abc|[0-9]`, nil},
		{`(?i)é`, nil},
		{`x(abc)+`, []string{"abc"}},
		{`x(abc){0,3}`, []string{"x"}},
	} {
		pf := newRegexPrefilter(tc.pattern)
		if tc.want == nil {
			require.Nil(t, pf, tc.pattern)
			continue
		}
		require.NotNil(t, pf, tc.pattern)
		require.ElementsMatch(t, tc.want, pf.lits, tc.pattern)
	}
}

func TestCompiledGlobMatchesGlobMatch(t *testing.T) {
	patterns := []string{
		"*.xlsx", "**/Finance/**", "/media/**", "*.[ct]sv", "[", "*confidential*", `*customer[\-_ ]list*`, `*[\]x]y*`,
		`*a\*b*`, `\[x]*`, "[]a]*", "[^]a]*", "q?.xlsx", "/home/*/q3.xlsx", "/home/**/q3.xlsx", "**", "", "*", "*salary*",
		"*.key", "[^a]*", "*-[0-9].log", "/a/[", `*\`, "*board[-_ ]deck*",
	}
	names := []string{
		"", "/home/a/q3.xlsx", "q3.xlsx", "/home/a/Q3.XLSX", "/home/a/b/q3.xlsx", "/home/q3.xlsx", "/data/report.csv",
		"/home/a/Documents/Finance/x/y.pdf", "/media/USB/deep/dir/secret.key", `C:\Users\a\q3.xlsx`, "customer-list.xlsx",
		"customer list.xlsx", "/x/customer_list", "]y", "xy", "a*b", "ab", "[x]", "x", "q1.xlsx", "2026 salary review.pdf",
		"/m/a-1.log", "board deck.pptx", "board-deck", "/a/b", "[", "a", "b.txt", "/confidential/x", "CONFIDENTIAL.pdf",
	}
	for _, p := range patterns {
		g := compileGlob(p)
		for _, n := range names {
			require.Equal(t, globMatch(n, p), g.match(n), "pattern %q, name %q", p, n)
		}
	}
	require.Equal(t, "customer", globLiteral(`*customer[\-_ ]list*`))
	require.Equal(t, "Finance", globLiteral("**/Finance/**"))
	require.Empty(t, globLiteral("[]a]*"))
}

func TestDomainSetMatchesDomainIn(t *testing.T) {
	list := []string{"dropbox.com", "drive.google.com", "mega.nz", ".box.com", "PASTEBIN.com", " gmail.com ", "", ".", "..x"}
	ds := newDomainSet(list)
	for _, s := range []string{
		"", "dropbox.com", "www.dropbox.com", "notdropbox.com", "https://DL.Dropbox.com/x", "jane <jane@Gmail.com>", "a@gmail.com.",
		"box.com", "x.box.com", "pastebin.com", "google.com", "drive.google.com:443", "a..x", "..x", "x", ".", "mega.nz.",
	} {
		require.Equal(t, domainIn(s, list), ds.contains(s), "domain_in(%q)", s)
	}
}

// TestGuardNeverChangesAnAnswer holds the guard of every condition the
// fast path refuses to the interpreter: where the guard is false, the
// interpreter answers false without an error.
func TestGuardNeverChangesAnAnswer(t *testing.T) {
	env, err := newCELEnv(mergeData(libraryData(t), diffData()))
	require.NoError(t, err)
	events := append(diffEvents(), eventgen.New(11, eventgen.Options{Users: 100}).Batch(1000)...)
	srcs := libraryConditions(t)
	for _, tc := range diffCases {
		srcs = append(srcs, tc.src)
	}
	guarded := 0
	for _, src := range srcs {
		ast, iss := env.env.Compile(src)
		require.NoError(t, iss.Err(), src)
		if _, ok := compileFast(ast, env, ""); ok {
			continue
		}
		guard, ok := compileGuard(ast, env)
		if !ok {
			continue
		}
		guarded++
		dc := compileDiff(t, env, src)
		skipped := 0
		for i, e := range events {
			if guard(&evalCtx{e: e, tz: timezoneOf(e)}) {
				continue
			}
			skipped++
			got, err := dc.interpret(env, e)
			require.NoError(t, err, "event %d, %s", i, src)
			require.False(t, got, "event %d: guard false, interpreter true: %s\nevent: %s", i, src, eventString(e))
		}
		require.Positive(t, skipped, "the guard of %s never skips the interpreter", src)
	}
	require.GreaterOrEqual(t, guarded, 4, "the library's email conditions lost their guards")
}

// TestRegoInputValueMatchesMap holds the Rego input built from JSON (and,
// where encoding fails, from the map) to the map conversion it replaces, on the library's decisions over a generated
// stream and on events with escapes, non-ASCII and invalid UTF-8 text.
func TestRegoInputValueMatchesMap(t *testing.T) {
	p, err := Compile(mustLibrary(t))
	require.NoError(t, err)
	ctx := context.Background()
	events := append(eventgen.New(5, eventgen.Options{Users: 200}).Batch(6000), edgeEvents()...)
	events = append(events, invalidUTF8Event(), &event.Event{
		Timestamp: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC),
		Event:     event.Meta{ID: "esc", Action: "command-executed"},
		Command:   &event.Command{Line: "echo \"<a&b>\" \\ \t \u2028 \U0001F600 \x01"},
		User:      &event.User{Name: "a\"b", Groups: []string{}},
	})
	checked := 0
	for _, e := range events {
		d, err := p.Evaluate(ctx, e)
		require.NoError(t, err)
		findings := d.Findings
		if len(findings) == 0 && checked > 0 && e.Event.ID != "esc" && e.Event.ID != "edge" {
			continue
		}
		want, err := ast.InterfaceToValue(p.regoInput(e, findings))
		require.NoError(t, err)
		if e.Event.ID != "edge" {
			// Edge events include numbers JSON cannot hold; those take
			// the map conversion, below.
			_, err := p.regoInputValue(e, findings)
			require.NoError(t, err, e.Event.ID)
		}
		got := p.regoInputAST(e, findings)
		require.Zero(t, want.Compare(got), "event %s:\nwant %v\ngot  %v", e.Event.ID, want, got)
		checked++
	}
	require.Greater(t, checked, 100)
}

func BenchmarkRegexPrefilter(b *testing.B) {
	texts := prefilterTexts()
	for _, mode := range []string{"regexp", "prefiltered"} {
		b.Run("mode="+mode, func(b *testing.B) {
			var ms []func(string) bool
			for _, p := range libraryPatterns(b) {
				if mode == "regexp" {
					ms = append(ms, regexp.MustCompile(p).MatchString)
					continue
				}
				m, _ := compileMatch(p)
				ms = append(ms, m.MatchString)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s := texts[i%len(texts)]
				for _, m := range ms {
					m(s)
				}
				i++
			}
		})
	}
}

func mustLibrary(tb testing.TB) *policies.Bundle {
	tb.Helper()
	b, err := library()
	require.NoError(tb, err)
	return b
}

func libraryData(tb testing.TB) map[string]any { return mustLibrary(tb).Data }
