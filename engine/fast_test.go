package engine

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
)

// diffData is the bundle data of the differential test: lists of strings
// (with upper case, a leading dot, an invalid CIDR, a bad glob pattern and
// an empty list), a list that is not all strings, numbers as JSON decodes
// them (integral and fractional float64) and as Go code builds them
// (int64), strings and booleans, at two depths.
func diffData() map[string]any {
	return map[string]any{"vigil": map[string]any{
		"exts":          []any{"xlsx", "docx", "pdf", "csv", "zip"},
		"cloud_domains": []any{"dropbox.com", "drive.google.com", "mega.nz", "wetransfer.com", ".box.com", "PASTEBIN.com"},
		"watch":         []any{"leavers", "contractors", "admins"},
		"nets":          []any{"10.0.0.0/8", "fd00::/8", "not-a-cidr", "203.0.113.7", " 203.0.114.0/25 "},
		"patterns":      []any{"*.xlsx", "**/Finance/**", "/media/**", "*.[ct]sv", "["},
		"empty":         []any{},
		"mixed":         []any{"a", float64(1)},
		"limit":         float64(1000),
		"risk_limit":    42.5,
		"big_file":      int64(5 << 20),
		"corp_domain":   "acme.example",
		"strict":        true,
		"lenient":       false,
		"config":        map[string]any{"owner": "secops", "max_recipients": int64(3)},
	}}
}

// diffCase is one condition of the differential test. fast says whether
// the fast path must accept it.
type diffCase struct {
	src  string
	fast bool
}

// diffCases covers every construct the fast path translates, and a few it
// must leave to the interpreter.
var diffCases = []diffCase{
	// Logic and comparisons on strings, ints, doubles and bools.
	{`event.action == "file-created"`, true},
	{`event.action != "web-visit" && file.size > 1000`, true},
	{`event.action == "web-visit" || event.action == "web-upload"`, true},
	{`!(user.department == "Engineering")`, true},
	{`file.size >= 100000 && file.size <= 5000000`, true},
	{`file.size < 1024 || file.size > 5242880`, true},
	{`user.risk_score > 20.5`, true},
	{`user.risk_score <= 42.5 && user.risk_score != 0.0`, true},
	{`user.risk_score >= 1.5 && user.risk_score < 10.0`, true},
	{`user.privileged`, true},
	{`user.privileged == true && !user.contractor`, true},
	{`user.active != user.privileged`, true},
	{`data.vigil.strict && user.contractor`, true},
	{`data.vigil.lenient || event.action == "logon"`, true},
	{`data.vigil.strict == user.privileged`, true},
	{`user.department < "M"`, true},
	{`user.name >= "m" && user.name > ""`, true},
	{`process.exit_code == 0 && event.action == "process-ended"`, true},
	{`process.exit_code != 0`, true},
	{`true && user.name != ""`, true},
	// Membership in data lists, list literals and list fields.
	{`file.extension in data.vigil.exts`, true},
	{`file.extension in ["xlsx", "pdf", ""]`, true},
	{`"leavers" in user.watchlists`, true},
	{`"file" in event.category`, true},
	{`user.department.lowerAscii() in user.groups`, true},
	{`file.extension in data.vigil.empty || file.size > 1000`, true},
	{`tz in ["Europe/Paris", "UTC", "Asia/Tokyo"]`, true},
	// String functions.
	{`file.path.startsWith("/home/")`, true},
	{`file.path.endsWith(".xlsx") || (file.name != "" && !file.path.endsWith(file.name))`, true},
	{`process.command_line.contains("scp") || command.line.contains("~/")`, true},
	{`url.full.contains(data.vigil.corp_domain)`, true},
	{`command.line.matches("^(scp|rsync|rclone|aws)\\s")`, true},
	{`matches(user.email, "(?i)^[a-z]+[0-9]+@ACME\\.example$")`, true},
	{`user.full_name.matches("[^\\x00-\\x7f]")`, true},
	{`file.name.lowerAscii().endsWith(".xlsx")`, true},
	{`user.full_name.lowerAscii() == user.full_name`, true},
	{`user.name.lowerAscii() == user.name`, true},
	{`size(file.name) > 20`, true},
	{`user.full_name.size() < 13`, true},
	{`size(email.to) > 3`, true},
	{`size(data.vigil.exts) == 5 && size(user.groups) >= 3`, true},
	{`size(email.attachments.name) > 1 || "x.pdf" in email.attachments.name`, true},
	// glob with a string and a list.
	{`glob(file.path, "*.xlsx")`, true},
	{`glob(file.path, data.vigil.patterns)`, true},
	{`glob(file.path, ["**/Documents/Finance/*", "/media/**"])`, true},
	{`glob(process.executable, "**/bin/?*")`, true},
	{`glob(file.path, file.name)`, true},
	{`glob(file.name, "")`, true},
	// Domains.
	{`domain(url.full) == "www.dropbox.com"`, true},
	{`base_domain(url.full) in data.vigil.cloud_domains`, true},
	{`base_domain(destination.domain) == "google.com"`, true},
	{`domain(email.from) != domain(user.email)`, true},
	{`domain_in(url.full, data.vigil.cloud_domains)`, true},
	{`domain_in(destination.domain, ["google.com", ".live.com"])`, true},
	{`domain_in(email.to, data.vigil.cloud_domains)`, true},
	{`domain_in(email.cc, ["gmail.com", "Proton.me", "c.com"])`, true},
	{`any_in(user.groups, data.vigil.watch)`, true},
	{`any_in(event.category, ["file", "network"])`, true},
	{`any_in(data.vigil.watch, user.watchlists)`, true},
	// CIDR ranges with a string and a list.
	{`cidr_match(source.ip, "10.0.0.0/8")`, true},
	{`cidr_match(destination.ip, data.vigil.nets)`, true},
	{`!cidr_match(destination.ip, ["10.0.0.0/8", "fd00::/8", "203.0.113.0/25"])`, true},
	{`cidr_match(source.ip, destination.ip)`, true},
	// Local time and dates.
	{`local_hour(timestamp, tz) < 8 || local_hour(timestamp, tz) >= 19`, true},
	{`local_weekday(timestamp, tz) == 0 || local_weekday(timestamp, tz) == 6`, true},
	{`local_hour(timestamp, "Europe/Paris") == 2`, true},
	{`local_hour(timestamp, user.timezone) != local_hour(timestamp, host.timezone)`, true},
	{`local_hour(event.ingested, tz) == 0`, true},
	{`days_until(user.employment.end_date, timestamp) <= 30`, true},
	{`days_until(user.employment.notice_date, timestamp) < -5`, true},
	{`days_until("2026-12-31", timestamp) > 58`, true},
	// Data scalars.
	{`user.email.endsWith(data.vigil.corp_domain)`, true},
	{`data.vigil.config.owner == "secops" && event.action == "email-sent"`, true},

	// Bundle data numbers are dyn; the fast path takes a comparison with
	// one when its value has the other side's exact type.
	{`file.size > data.vigil.big_file`, true},
	{`user.risk_score <= data.vigil.risk_limit`, true},
	{`contains_any(file.name, data.vigil.exts)`, true},
	{`contains_any(email.to, ["acme", "gmail"])`, true},
	{`local_part(email.from) == local_part(user.email)`, true},

	// Outside the subset: the interpreter runs these. A mixed int/double
	// comparison with a data number is left to the interpreter.
	{`size(email.to) > data.vigil.config.max_recipients`, true},
	{`user.risk_score > data.vigil.limit`, false},
	{`file.size > 1.5`, false},
	{`file.size + 1 > 1000`, false},
	{`file.size * 2 > data.vigil.big_file`, false},
	{`event.category.exists(c, c == "file")`, false},
	{`email.to.all(a, a.endsWith("@acme.example"))`, false},
	{`(file.size > 10 ? "big" : "small") == "big"`, false},
	{`user.risk_score > data.vigil.big_file`, false},
	{`double(file.size) > 1.0`, false},
	{`file.name.upperAscii() == "X"`, false},
	{`"a" in data.vigil.mixed`, false},
	{`timestamp > timestamp("2026-01-01T00:00:00Z")`, false},
	{`file.name.matches(file.extension)`, false},
	{`size(email.attachments.size) > 0`, false},
	{`1024 in email.attachments.size`, false},
	{`"team" in labels`, false},
}

// diffCond is a condition compiled both ways.
type diffCond struct {
	prg  cel.Program
	fast boolFn
}

// compileDiff compiles src in env for the interpreter, as Compile does, and
// for the fast path, which may refuse it.
func compileDiff(t testing.TB, env *celEnv, src string) diffCond {
	t.Helper()
	ast, iss := env.env.Compile(src)
	if iss != nil && iss.Err() != nil {
		t.Fatalf("compile %s: %v", src, iss.Err())
	}
	require.True(t, ast.OutputType().IsExactType(cel.BoolType), "%s is not a bool", src)
	prg, err := env.env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(DefaultCostLimit))
	require.NoError(t, err, src)
	fast, _ := compileFast(ast, env, "")
	return diffCond{prg: prg, fast: fast}
}

// interpret evaluates the condition in cel-go, the reference semantics.
func (dc diffCond) interpret(env *celEnv, e *event.Event) (bool, error) {
	act := &activation{e: e, tz: timezoneOf(e), data: env.data}
	out, _, err := dc.prg.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("result %v is not a bool", out)
	}
	return bool(b), nil
}

// native evaluates the condition on the fast path.
func (dc diffCond) native(e *event.Event) bool {
	return dc.fast(&evalCtx{e: e, tz: timezoneOf(e)})
}

// diffEvents returns generated events, some around the 2026 spring change
// to summer time in Europe, followed by edgeEvents and an event with
// invalid UTF-8.
func diffEvents() []*event.Event {
	events := eventgen.New(7, eventgen.Options{Users: 50}).Batch(1500)
	dst := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	events = append(events, eventgen.New(8, eventgen.Options{Users: 50, Start: dst, Rate: 0.2}).Batch(500)...)
	events = append(events, edgeEvents()...)
	return append(events, invalidUTF8Event())
}

// invalidUTF8Event carries strings that are not valid UTF-8, as an
// in-process caller can build them (event.Decode replaces such bytes with
// U+FFFD). CEL reads every invalid byte as U+FFFD.
func invalidUTF8Event() *event.Event {
	return &event.Event{
		Timestamp: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC),
		Event:     event.Meta{ID: "edge", Action: "file-copied-to-removable"},
		User:      &event.User{Name: "j\xffdoe", FullName: "J\xe9r\xf4me", Department: "Engineering", Groups: []string{"engineering"}},
		File:      &event.File{Path: "/media/USB/Q3\xff.XLSX", Name: "Q3\xff.XLSX", Extension: "XLSX"},
	}
}

// edgeEvents are hand-made events at the corners of the helpers: absent
// field sets, empty strings, non-ASCII text, IPv6 and IPv4-mapped
// addresses, display-name email addresses, odd URLs, dates and zones.
func edgeEvents() []*event.Event {
	ts := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	meta := func(action string) event.Meta { return event.Meta{ID: "edge", Action: action} }
	no, yes := false, true
	zero, one := int64(0), int64(1)
	ingested := time.Date(2026, 11, 2, 23, 30, 0, 0, time.UTC)
	out := []*event.Event{
		// Nothing but the required fields: every field set is nil.
		{Timestamp: ts, Event: meta("file-created")},
		// Every field set present with zero values.
		{
			Timestamp: ts, Event: meta("process-ended"),
			User: &event.User{Employment: &event.Employment{}}, Host: &event.Host{}, File: &event.File{},
			Process: &event.Process{ExitCode: &zero}, URL: &event.URL{}, Source: &event.Endpoint{},
			Destination: &event.Destination{}, Email: &event.Email{To: []string{}}, Command: &event.Command{},
		},
		// Non-ASCII names, paths and upper case.
		{
			Timestamp: ts, Event: meta("file-copied-to-removable"),
			User: &event.User{
				Name: "zoë", FullName: "Zoë Fernández-Müller", Department: "Légal", Email: "ZOË@ACME.example",
				Groups: []string{"légal", "leavers"}, Watchlists: []string{"leavers"}, Active: &no, Privileged: true,
				Timezone: "Europe/Paris",
			},
			File: &event.File{Path: "/media/zoë/USB/Résumé — 日本語 (1).XLSX", Name: "Résumé — 日本語 (1).XLSX", Extension: "XLSX", Size: 5 << 20},
		},
		// IPv6 and IPv4-mapped addresses, invalid addresses.
		{
			Timestamp: ts, Event: meta("connection-opened"),
			Source:      &event.Endpoint{IP: "::ffff:10.1.2.3"},
			Destination: &event.Destination{IP: "fd12:3456::1", Domain: "Drive.Google.COM."},
		},
		{
			Timestamp: ts, Event: meta("connection-opened"),
			Source:      &event.Endpoint{IP: " 10.9.8.7 "},
			Destination: &event.Destination{IP: "203.0.113.7", Domain: "mega.nz:443"},
		},
		{
			Timestamp: ts, Event: meta("connection-opened"),
			Source:      &event.Endpoint{IP: "10.0.0.256"},
			Destination: &event.Destination{IP: "2001:db8::1", Domain: "[::1]"},
		},
		{
			Timestamp: ts, Event: meta("connection-opened"),
			Source:      &event.Endpoint{IP: "fe80::1%eth0"},
			Destination: &event.Destination{IP: "10.0.0.0/8", Domain: "localhost"},
		},
		{
			Timestamp: ts, Event: meta("connection-opened"),
			Source:      &event.Endpoint{IP: "10.9.9.9"},
			Destination: &event.Destination{IP: "10.0.0.0/8"},
		},
		// Email addresses with display names, trailing dots and no domain.
		{
			Timestamp: ts, Event: meta("email-sent"),
			User: &event.User{Email: "a1@acme.example", Timezone: "America/New_York"},
			Email: &event.Email{
				From:        "A <b@C.com>",
				To:          []string{"Jane <jane@Gmail.com>", "x@sub.DROPBOX.com.", "", "@", "a@b@c.com", "<>"},
				CC:          []string{"Bob <bob@PROTON.ME>"},
				Attachments: []event.Attachment{{Name: "x.pdf", Size: 1024}, {}},
			},
		},
		{
			Timestamp: ts, Event: meta("email-sent"),
			User:  &event.User{Name: "JDoe3", Email: "jdoe3@acme.example", Groups: []string{"all-staff"}},
			Email: &event.Email{From: "  jdoe3@ACME.example  ", To: []string{"p@proton.me", "q@proton.me", "r@proton.me", "s@proton.me"}},
		},
		// URLs with user info, ports, IPv6 hosts, no scheme, bad escapes.
		{Timestamp: ts, Event: meta("web-upload"), URL: &event.URL{Full: "https://user@www.Dropbox.com:8443/upload?x=1"}},
		{Timestamp: ts, Event: meta("web-visit"), URL: &event.URL{Full: "HTTP://[::1]:80/acme.example"}},
		{Timestamp: ts, Event: meta("web-visit"), URL: &event.URL{Full: "mega.nz/file/abc#key"}},
		{Timestamp: ts, Event: meta("web-visit"), URL: &event.URL{Full: "https://%zz/"}},
		{Timestamp: ts, Event: meta("web-visit"), URL: &event.URL{Full: "https://a.b.pastebin.com/raw"}},
		// Paths for glob: Windows separators, trailing slash, root, brackets.
		{Timestamp: ts, Event: meta("file-created"), File: &event.File{Path: `C:\Users\a\Documents\Finance\q3.xlsx`, Name: "q3.xlsx"}},
		{Timestamp: ts, Event: meta("file-created"), File: &event.File{Path: "/home/a/Documents/Finance/", Name: "Finance"}},
		{Timestamp: ts, Event: meta("file-created"), File: &event.File{Path: "/", Name: "/"}},
		{Timestamp: ts, Event: meta("file-created"), File: &event.File{Path: "/tmp/[x].csv", Name: "[x].csv", Extension: "csv"}},
		{Timestamp: ts, Event: meta("process-started"), Process: &event.Process{Executable: "/usr/local/bin/x", CommandLine: "scp -r a b:"}},
		// Dates: RFC 3339, padded, invalid; time zones: invalid, host only.
		{
			Timestamp: ts, Event: meta("logon"),
			User: &event.User{Timezone: "Mars/Olympus_Mons", Employment: &event.Employment{EndDate: "2026-11-30T12:00:00Z", NoticeDate: " 2026-10-01 "}},
			Host: &event.Host{Timezone: "Asia/Tokyo"},
		},
		{
			Timestamp: ts, Event: event.Meta{ID: "edge", Action: "logon", Ingested: &ingested},
			User: &event.User{Employment: &event.Employment{EndDate: "30/11/2026", NoticeDate: "2026-11-02"}},
			Host: &event.Host{Timezone: "Australia/Sydney"},
		},
		// Commands, exit codes and scores that JSON cannot carry.
		{Timestamp: ts, Event: meta("command-executed"), Command: &event.Command{Line: "rclone copy ~/Documents gdrive:"}},
		{Timestamp: ts, Event: meta("process-ended"), Process: &event.Process{ExitCode: &one}, User: &event.User{Active: &yes, RiskScore: 42.5}},
		{Timestamp: ts, Event: meta("process-ended"), User: &event.User{RiskScore: math.Inf(1)}},
		{Timestamp: ts, Event: meta("process-ended"), User: &event.User{RiskScore: math.NaN()}},
		{Timestamp: ts, Event: meta("process-ended"), User: &event.User{RiskScore: -0.0001}},
	}
	// Daylight saving time changes in Paris and New York, either side.
	for _, at := range []string{
		"2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z", "2026-10-25T00:59:59Z", "2026-10-25T01:00:00Z",
		"2026-03-08T06:59:59Z", "2026-03-08T07:00:00Z", "2026-11-01T05:59:59Z", "2026-11-01T06:00:00Z",
	} {
		ts, _ := time.Parse(time.RFC3339, at)
		for _, tz := range []string{"Europe/Paris", "America/New_York"} {
			out = append(out, &event.Event{Timestamp: ts, Event: meta("logon"), User: &event.User{Timezone: tz}, Host: &event.Host{Timezone: "UTC"}})
		}
	}
	return out
}

// TestFastPathMatchesInterpreter holds the native fast path to the answers
// of cel-go's interpreter, condition by condition and event by event. To
// keep the comparison honest, every accepted condition must also be true
// for some events and false for others.
func TestFastPathMatchesInterpreter(t *testing.T) {
	env, err := newCELEnv(diffData())
	require.NoError(t, err)
	events := diffEvents()
	seen := map[string]bool{}
	for _, tc := range diffCases {
		require.False(t, seen[tc.src], "duplicate case %s", tc.src)
		seen[tc.src] = true
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			dc := compileDiff(t, env, tc.src)
			if !tc.fast {
				require.Nil(t, dc.fast, "the fast path must refuse %s", tc.src)
				// The interpreter alone must still answer for every event.
				for i, e := range events {
					if _, err := dc.interpret(env, e); err != nil {
						t.Fatalf("event %d: interpreter: %v\nevent: %s", i, err, eventString(e))
					}
				}
				return
			}
			require.NotNil(t, dc.fast, "the fast path must accept %s", tc.src)
			var trues int
			for i, e := range events {
				want, err := dc.interpret(env, e)
				if err != nil {
					t.Fatalf("event %d: interpreter: %v\nevent: %s", i, err, eventString(e))
				}
				got := dc.native(e)
				if got != want {
					t.Fatalf("event %d: fast path %v, interpreter %v\nevent (invalid UTF-8 shown as U+FFFD): %s", i, got, want, eventString(e))
				}
				if got {
					trues++
				}
			}
			if trues == 0 || trues == len(events) {
				t.Errorf("the condition is %v for every event, so it compares constants", trues > 0)
			}
		})
	}
}

// eventString renders e for failure messages.
func eventString(e *event.Event) string {
	b, err := event.Encode(e)
	if err != nil {
		return fmt.Sprintf("%+v (%v)", *e, err)
	}
	return string(b)
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		name, pattern string
		want          bool
	}{
		{"/home/a/q3.xlsx", "*.xlsx", true},
		{"q3.xlsx", "*.xlsx", true},
		{"/home/a/q3.xlsx", "*.docx", false},
		{"/home/a/Q3.XLSX", "*.xlsx", false},
		{"/home/a/q3.xlsx", "/home/*/q3.xlsx", true},
		{"/home/a/b/q3.xlsx", "/home/*/q3.xlsx", false},
		{"/home/a/b/q3.xlsx", "/home/**/q3.xlsx", true},
		{"/home/q3.xlsx", "/home/**/q3.xlsx", true},
		{"/home/a/b/c", "/home/**", true},
		{"/etc/passwd", "/home/**", false},
		{"/home/a/Documents/Finance/x/y.pdf", "**/Finance/**", true},
		{"/home/a/Documents/Finance", "**/Finance/**", true},
		{"/home/a/q3.xlsx", "**", true},
		{"q3.xlsx", "q?.xlsx", true},
		{"q10.xlsx", "q?.xlsx", false},
		{"/data/report.csv", "*.[ct]sv", true},
		{"/data/report.tsv", "*.[ct]sv", true},
		{"/data/report.psv", "*.[ct]sv", false},
		{"b.txt", "[^a]*", true},
		{"a.txt", "[^a]*", false},
		{"/m/a-1.log", "*-[0-9].log", true},
		// A pattern without "/" matches the base name.
		{"/media/USB/deep/dir/secret.key", "*.key", true},
		{`C:\Users\a\q3.xlsx`, "*.xlsx", true},
		// A malformed pattern matches nothing.
		{"[", "[", false},
		{"/a/b", "/a/[", false},
		// The empty pattern matches only the empty name.
		{"", "", true},
		{"/x/y.txt", "", false},
		{"", "*.xlsx", false},
	} {
		require.Equal(t, tc.want, globMatch(tc.name, tc.pattern), "globMatch(%q, %q)", tc.name, tc.pattern)
	}
}

func TestDomainOf(t *testing.T) {
	for in, want := range map[string]string{
		"Jane <jane@Gmail.com>":                  "gmail.com",
		"A <b@C.com>":                            "c.com",
		"b@C.com.":                               "c.com",
		"  jdoe@ACME.example  ":                  "acme.example",
		"a@b@c.com":                              "c.com",
		"https://www.Dropbox.com/x":              "www.dropbox.com",
		"https://user@www.dropbox.com:8443/x?y":  "www.dropbox.com",
		"HTTP://[::1]:80/":                       "::1",
		"ftp://files.example.org./pub":           "files.example.org",
		"mega.nz/file/abc":                       "mega.nz",
		"mega.nz:443":                            "mega.nz",
		"Example.COM.":                           "example.com",
		"sub.example.com":                        "sub.example.com",
		"":                                       "",
		"<>":                                     "",
		"@":                                      "",
		"https://drive.google.com/u/0?x=a@b.com": "drive.google.com",
	} {
		require.Equal(t, want, domainOf(in), "domainOf(%q)", in)
	}
}

func TestBaseDomain(t *testing.T) {
	for in, want := range map[string]string{
		"a.b.dropbox.com":            "dropbox.com",
		"dropbox.com":                "dropbox.com",
		"x.co.uk":                    "x.co.uk",
		"www.bbc.co.uk":              "bbc.co.uk",
		"co.uk":                      "co.uk",
		"jane@mail.Gmail.com":        "gmail.com",
		"https://drive.google.com/x": "google.com",
		"Jane <j@a.b.acme.example>":  "acme.example",
		"localhost":                  "localhost",
		"":                           "",
	} {
		require.Equal(t, want, baseDomain(in), "baseDomain(%q)", in)
	}
}

func TestDomainIn(t *testing.T) {
	cloud := []string{"dropbox.com", " .Mega.NZ ", "", "."}
	for _, tc := range []struct {
		in   string
		list []string
		want bool
	}{
		{"x@sub.dropbox.com", cloud, true},
		{"https://www.Dropbox.com/upload", cloud, true},
		{"dropbox.com", cloud, true},
		{"https://notdropbox.com/", cloud, false},
		{"dropbox.com.evil.example", cloud, false},
		{"A <b@MEGA.nz>", cloud, true},
		{"mega.nz:443", cloud, true},
		{"", cloud, false},
		{"dropbox.com", nil, false},
		{"dropbox.com", []string{""}, false},
		{"example.com", []string{"com"}, true},
	} {
		require.Equal(t, tc.want, domainIn(tc.in, tc.list), "domainIn(%q, %q)", tc.in, tc.list)
	}
}

func TestCIDRMatch(t *testing.T) {
	nets := []string{"10.0.0.0/8", "2001:db8::/32", "garbage", "192.168.1.7", " 172.16.0.0/12 "}
	for _, tc := range []struct {
		ip   string
		list []string
		want bool
	}{
		{"10.1.2.3", nets, true},
		{" 10.1.2.3 ", nets, true},
		{"::ffff:10.1.2.3", nets, true},
		{"11.1.2.3", nets, false},
		{"192.168.1.7", nets, true},
		{"192.168.1.8", nets, false},
		{"172.31.255.255", nets, true},
		{"2001:db8::1", nets, true},
		{"2001:db9::1", nets, false},
		{"10.0.0.256", nets, false},
		{"", nets, false},
		{"10.1.2.3", nil, false},
		{"10.1.2.3", []string{"10.1.2.3/8"}, true},
		{"10.1.2.3", []string{"10.0.0.0/33"}, false},
		{"10.1.2.3", []string{""}, false},
		{"::1", []string{"::1/128"}, true},
	} {
		require.Equal(t, tc.want, cidrMatch(tc.ip, tc.list), "cidrMatch(%q, %q)", tc.ip, tc.list)
		// The second call answers from the prefix cache.
		require.Equal(t, tc.want, cidrMatch(tc.ip, tc.list), "cidrMatch(%q, %q), cached", tc.ip, tc.list)
	}
}

func TestDaysUntil(t *testing.T) {
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		date string
		want int64
	}{
		{"2026-11-30", 27},
		{" 2026-11-30 ", 27},
		{"2026-11-30T12:00:00Z", 28},
		{"2026-11-30T12:00:00+02:00", 28},
		{"2026-11-03", 0},
		{"2026-11-04", 1},
		{"2026-10-01", -32},
		{"", 1 << 31},
		{"30/11/2026", 1 << 31},
		{"never", 1 << 31},
	} {
		require.Equal(t, tc.want, daysUntil(tc.date, at), "daysUntil(%q)", tc.date)
	}
}

func TestLocalHour(t *testing.T) {
	for _, tc := range []struct {
		at, tz        string
		hour, weekday int64
	}{
		{"2026-11-02T10:00:00Z", "", 10, 1},
		{"2026-11-02T10:00:00Z", "UTC", 10, 1},
		{"2026-11-02T10:00:00Z", "No/Such_Zone", 10, 1},
		{"2026-11-02T10:00:00Z", "Europe/Paris", 11, 1},
		// Paris moves to summer time at 01:00 UTC on 29 March 2026.
		{"2026-03-29T00:59:59Z", "Europe/Paris", 1, 0},
		{"2026-03-29T01:00:00Z", "Europe/Paris", 3, 0},
		// And back at 01:00 UTC on 25 October 2026: 02:xx twice.
		{"2026-10-25T00:59:59Z", "Europe/Paris", 2, 0},
		{"2026-10-25T01:00:00Z", "Europe/Paris", 2, 0},
		// New York moves to summer time at 07:00 UTC on 8 March 2026.
		{"2026-03-08T06:59:59Z", "America/New_York", 1, 0},
		{"2026-03-08T07:00:00Z", "America/New_York", 3, 0},
		// And back at 06:00 UTC on 1 November 2026: 01:xx twice.
		{"2026-11-01T05:59:59Z", "America/New_York", 1, 0},
		{"2026-11-01T06:00:00Z", "America/New_York", 1, 0},
		// Late Sunday in New York is Monday in UTC.
		{"2026-11-02T03:00:00Z", "America/New_York", 22, 0},
		{"2026-11-01T20:00:00Z", "Asia/Tokyo", 5, 1},
	} {
		at, err := time.Parse(time.RFC3339, tc.at)
		require.NoError(t, err)
		require.Equal(t, tc.hour, localHour(at, tc.tz), "localHour(%s, %q)", tc.at, tc.tz)
		require.Equal(t, tc.weekday, localWeekday(at, tc.tz), "localWeekday(%s, %q)", tc.at, tc.tz)
	}
}
