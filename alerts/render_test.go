package alerts

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
)

func render(t testing.TB, f Format, opts RenderOptions, a *Alert) string {
	t.Helper()
	r, err := NewRenderer(f, opts)
	require.NoError(t, err)
	b, err := r.Append(nil, a)
	require.NoError(t, err)
	return string(b)
}

func TestRenderGolden(t *testing.T) {
	opts := RenderOptions{Version: "1.0.0"}
	minimal := &Alert{ID: "01JD5Z7Q8R9S0T1V2W3X4Y5Z6D", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Severity: "bogus", RiskScore: 33}
	cases := []struct {
		name   string
		format Format
		opts   RenderOptions
		alert  *Alert
	}{
		{"tricky.cef", FormatCEF, opts, trickyAlert()},
		{"tricky.leef", FormatLEEF, opts, trickyAlert()},
		{"tricky-tab.leef", FormatLEEF, RenderOptions{Version: "1.0.0", LEEFDelimiter: '\t'}, trickyAlert()},
		{"tricky.json", FormatJSON, opts, trickyAlert()},
		{"tricky.ocsf.json", FormatOCSF, opts, trickyAlert()},
		{"minimal.cef", FormatCEF, opts, minimal},
		{"minimal.leef", FormatLEEF, opts, minimal},
		{"minimal.ocsf.json", FormatOCSF, opts, minimal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := render(t, c.format, c.opts, c.alert)
			require.NotContains(t, got, "\n", "a rendered alert is one line")
			if c.format == FormatJSON || c.format == FormatOCSF {
				require.True(t, json.Valid([]byte(got)))
				var pretty map[string]any
				require.NoError(t, json.Unmarshal([]byte(got), &pretty))
			}
			checkGolden(t, c.name, []byte(got+"\n"))
		})
	}
}

func TestCEFFields(t *testing.T) {
	a := trickyAlert()
	h, ext, err := parseCEF(render(t, FormatCEF, RenderOptions{Version: "1.0.0"}, a))
	require.NoError(t, err)
	require.Equal(t, []string{"0", "Vigil", "Vigil", "1.0.0", "usb-mass-copy", a.Title, "8"}, h)
	require.Equal(t, "jdoe=admin", ext["suser"])
	require.Equal(t, "52 files in 10m\nabove limit 50; path C:\\Users\\jdoe\\q3=final.xlsx", ext["msg"])
	require.Equal(t, a.Event.File.Path, ext["filePath"])
	require.Equal(t, "1795860000123", ext["rt"])
	require.Equal(t, "riskScore", ext["cfp1Label"])
	require.Equal(t, "72.5", ext["cfp1"])
	require.Equal(t, "usb-mass-copy,departing-user", ext["cs3"])
	require.Equal(t, "10.0.0.42", ext["src"])
}

func TestCEFSeverity(t *testing.T) {
	for sev, want := range map[string]int{"info": 1, "low": 3, "medium": 5, "high": 8, "critical": 10} {
		require.Equal(t, want, cefSeverity(&Alert{Severity: sev}), sev)
	}
	require.Equal(t, 0, cefSeverity(&Alert{RiskScore: -5}))
	require.Equal(t, 4, cefSeverity(&Alert{RiskScore: 44}))
	require.Equal(t, 10, cefSeverity(&Alert{RiskScore: 500}))
}

func TestCEFEscaping(t *testing.T) {
	cases := []struct{ in, header, value string }{
		{`a|b`, `a\|b`, `a|b`},
		{`a\b`, `a\\b`, `a\\b`},
		{`a=b`, `a=b`, `a\=b`},
		{"a\nb\rc", "a b c", `a\nb\rc`},
		{"tab\there", "tab here", "tab here"},
		{"機密 – é", "機密 – é", "機密 – é"},
		{"bad\xffutf8", "bad\uFFFDutf8", "bad\uFFFDutf8"},
	}
	for _, c := range cases {
		require.Equal(t, c.header, string(appendCEFHeader(nil, c.in)), "header %q", c.in)
		require.Equal(t, c.value, string(appendCEFValue(nil, c.in)), "value %q", c.in)
	}
}

func TestLEEFFields(t *testing.T) {
	a := trickyAlert()
	for _, d := range []byte{'^', '\t', ';'} {
		line := render(t, FormatLEEF, RenderOptions{Version: "1.0.0", LEEFDelimiter: d}, a)
		h, attrs, _, err := parseLEEF(line)
		require.NoError(t, err, line)
		require.Equal(t, "usb-mass-copy", h[3])
		require.Equal(t, "jdoe=admin", attrs["usrName"])
		require.Equal(t, "8", attrs["sev"])
		require.Equal(t, "2026-11-28T10:00:00.123+0000", attrs["devTime"])
		require.Equal(t, a.Title, attrs["title"], "delimiter %q", d)
		want := strings.ReplaceAll("52 files in 10m above limit 50; path C:\\Users\\jdoe\\q3=final.xlsx", string(d), " ")
		require.Equal(t, want, attrs["reason"], "delimiter %q", d)
	}
}

func TestLEEFDelimiter(t *testing.T) {
	good := map[string]byte{"^": '^', "x09": '\t', "0x09": '\t', "X7C": 0, ";": ';', "\t": '\t'}
	for in, want := range good {
		d, err := ParseLEEFDelimiter(in)
		if want == 0 {
			require.Error(t, err, in)
			continue
		}
		require.NoError(t, err, in)
		require.Equal(t, want, d, in)
	}
	for _, in := range []string{"", "ab", "a", "=", " ", "|", "x", "xZZ", "é"} {
		_, err := ParseLEEFDelimiter(in)
		require.Error(t, err, "%q", in)
	}
	_, err := NewRenderer(FormatLEEF, RenderOptions{LEEFDelimiter: '='})
	require.Error(t, err)
	_, err = NewRenderer("xml", RenderOptions{})
	require.ErrorContains(t, err, `unknown format "xml"`)
}

func TestOCSFFinding(t *testing.T) {
	var f map[string]any
	require.NoError(t, json.Unmarshal([]byte(render(t, FormatOCSF, RenderOptions{}, trickyAlert())), &f))
	require.EqualValues(t, 2004, f["class_uid"])
	require.EqualValues(t, 200401, f["type_uid"])
	require.EqualValues(t, 4, f["severity_id"])
	info := f["finding_info"].(map[string]any)
	rel := info["related_events"].([]any)[0].(map[string]any)
	require.EqualValues(t, 100101, rel["type_uid"])
	require.Equal(t, "File System Activity: Create", rel["type_name"])
	data := f["evidences"].([]any)[0].(map[string]any)["data"].(map[string]any)
	require.EqualValues(t, 1001, data["class_uid"])
}

// TestOCSFEventClasses renders one event per OCSF class of the action
// vocabulary and compares it with its golden file.
func TestOCSFEventClasses(t *testing.T) {
	events := ocsfClassEvents()
	require.GreaterOrEqual(t, len(events), 8, "one event per OCSF class")
	for name, e := range events {
		t.Run(name, func(t *testing.T) {
			got, err := appendJSON(nil, NewOCSFEvent(e, "1.0.0"))
			require.NoError(t, err)
			checkGolden(t, name, append(got, '\n'))
		})
	}
}

// ocsfClassEvents returns one event per OCSF class of the action
// vocabulary (the first action of each class), by the name of its golden
// file.
func ocsfClassEvents() map[string]*event.Event {
	ts := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	base := func(action string) *event.Event {
		return &event.Event{Timestamp: ts, Event: event.Meta{ID: "01JD5Z7Q8R9S0T1V2W3X4Y5Z6E", Action: action, Module: "test", Outcome: "success"},
			Host: &event.Host{Name: "ws-042", OS: &event.OS{Family: "windows", Version: "11"}}, User: &event.User{Name: "jdoe", Domain: "CORP"}}
	}
	events := map[string]*event.Event{}
	for _, info := range event.Actions() {
		cls := info.OCSF.ClassUID
		name := "ocsf-event-" + strings.ReplaceAll(strings.ToLower(info.OCSF.ClassName()), " ", "-") + ".json"
		if _, done := events[name]; done {
			continue
		}
		e := base(info.Name)
		switch cls {
		case 1001:
			e.File = &event.File{Path: `C:\Users\jdoe\q3.xlsx`, Size: 10, Hash: &event.Hash{MD5: "d41d8cd98f00b204e9800998ecf8427e"}}
		case 1007:
			e.Process = &event.Process{PID: 7, Name: "powershell.exe", Executable: `C:\Windows\powershell.exe`, CommandLine: "powershell -enc …"}
		case 4001, 4002:
			e.URL = &event.URL{Full: "https://drive.example.com/upload?x=1", Domain: "drive.example.com", Scheme: "https", Path: "/upload", Category: "cloud-storage"}
			e.Destination = &event.Destination{Domain: "drive.example.com", IP: "192.0.2.7", Port: 443, CloudProvider: "gdrive"}
		case 4009:
			e.Email = &event.Email{From: "jdoe@corp.example", To: []string{"me@mail.example"}, Subject: "q3", MessageID: "<1@corp>", Size: 99}
		case 1010:
			e.Device = &event.Device{BusType: "usb", VendorName: "Kingston", SerialNumber: "ABC"}
		}
		events[name] = e
	}
	return events
}

// FuzzCEFEscaping renders arbitrary strings into every CEF position and
// parses them back with the independent test parser.
func FuzzCEFEscaping(f *testing.F) {
	for _, s := range []string{"", `a|b\c=d`, "x\ny\rz", "機密 – é", `\`, `=`, ` k=v `, "a\\\n", "\xff"} {
		f.Add(s, s)
	}
	r, _ := NewRenderer(FormatCEF, RenderOptions{})
	f.Fuzz(func(t *testing.T, title, value string) {
		a := &Alert{ID: "x", Title: title, User: value, Reasons: []string{value}, RuleIDs: []string{title}, Host: "h"}
		b, err := r.Append(nil, a)
		require.NoError(t, err)
		require.True(t, utf8.Valid(b))
		require.NotContains(t, string(b), "\n")
		h, ext, err := parseCEF(string(b))
		require.NoError(t, err, "%q", b)
		wantHeader := cleanCEFHeader(truncateRunes(title, 1<<30))
		if title == "" {
			wantHeader = "vigil-alert"
		}
		require.Equal(t, wantHeader, h[4])
		require.Equal(t, wantHeader, h[5])
		if v := cleanCEFValue(truncateRunes(value, cefStringMax)); v != "" {
			require.Equal(t, v, ext["suser"])
		} else {
			require.NotContains(t, ext, "suser")
		}
		require.Equal(t, "h", ext["shost"])
	})
}

// cleanCEFHeader and cleanCEFValue are what a CEF round trip preserves.
func cleanCEFHeader(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

func cleanCEFValue(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n' && r != '\r') || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// FuzzLEEFCleaning renders arbitrary strings with an arbitrary delimiter
// and parses them back.
func FuzzLEEFCleaning(f *testing.F) {
	for _, s := range []string{"", "a^b", "a\tb", "k=v=w", "機密|x", "\xff\n"} {
		f.Add(s, byte('^'))
		f.Add(s, byte('\t'))
	}
	f.Fuzz(func(t *testing.T, value string, d byte) {
		r, err := NewRenderer(FormatLEEF, RenderOptions{LEEFDelimiter: d})
		if err != nil {
			require.Error(t, checkLEEFDelimiter(d))
			return
		}
		a := &Alert{ID: "x", Title: value, User: value, RuleIDs: []string{value}}
		b, err := r.Append(nil, a)
		require.NoError(t, err)
		require.True(t, utf8.Valid(b))
		h, attrs, _, err := parseLEEF(string(b))
		require.NoError(t, err, "%q", b)
		clean := func(s string, sep rune) string {
			return strings.Map(func(r rune) rune {
				if r == sep || r < 0x20 || r == 0x7f {
					return ' '
				}
				return r
			}, strings.ToValidUTF8(s, "\uFFFD"))
		}
		wantID := clean(value, '|')
		if value == "" {
			wantID = "vigil-alert"
		}
		require.Equal(t, wantID, h[3])
		if d == 0 {
			d = '^' // the default
		}
		if v := clean(truncateRunes(value, cefStringMax), rune(d)); v != "" {
			require.Equal(t, v, attrs["usrName"])
			require.Equal(t, v, attrs["title"])
		}
		require.Equal(t, "x", attrs["alertId"])
	})
}
