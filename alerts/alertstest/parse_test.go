package alertstest_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/alerts"
	"github.com/vigil-itm/vigil/alerts/alertstest"
	"github.com/vigil-itm/vigil/event"
)

func TestParseCEF(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       alertstest.CEF
		err        string
	}{
		{
			name: "plain",
			line: "CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232",
			want: alertstest.CEF{Version: "0", DeviceVendor: "Security", DeviceProduct: "threatmanager", DeviceVersion: "1.0",
				SignatureID: "100", Name: "worm successfully stopped", Severity: "10",
				Extension: map[string]string{"src": "10.0.0.1", "dst": "2.1.2.2", "spt": "1232"}, Keys: []string{"src", "dst", "spt"}},
		},
		{
			name: "escapes",
			line: `CEF:0|Vi\|gil|Pro\\d|1|sig|Name with \| pipe|5|msg=a\=b c\\d\nnext\r cs1Label=x y`,
			want: alertstest.CEF{Version: "0", DeviceVendor: "Vi|gil", DeviceProduct: `Pro\d`, DeviceVersion: "1",
				SignatureID: "sig", Name: "Name with | pipe", Severity: "5",
				Extension: map[string]string{"msg": "a=b c\\d\nnext\r", "cs1Label": "x y"}, Keys: []string{"msg", "cs1Label"}},
		},
		{
			name: "pipes need no escape in the extension",
			line: "CEF:0|V|P|1|s|n|3|msg=a|b suser=jdoe",
			want: alertstest.CEF{Version: "0", DeviceVendor: "V", DeviceProduct: "P", DeviceVersion: "1", SignatureID: "s", Name: "n", Severity: "3",
				Extension: map[string]string{"msg": "a|b", "suser": "jdoe"}, Keys: []string{"msg", "suser"}},
		},
		{
			name: "no extension",
			line: "CEF:0|V|P|1|s|n|3|",
			want: alertstest.CEF{Version: "0", DeviceVendor: "V", DeviceProduct: "P", DeviceVersion: "1", SignatureID: "s", Name: "n", Severity: "3",
				Extension: map[string]string{}, Keys: []string{}},
		},
		{name: "no prefix", line: "LEEF:2.0|V|P|1|s|^|", err: "no CEF: prefix"},
		{name: "short header", line: "CEF:0|V|P|1|s|n", err: "header ends after 5 of 7 fields"},
		{name: "bad header escape", line: `CEF:0|V|P|1|s|n\=|3|`, err: "header: bad escape"},
		{name: "unescaped equals in a value", line: "CEF:0|V|P|1|s|n|3|msg=a=b", err: "does not end a key"},
		{name: "unknown escape", line: `CEF:0|V|P|1|s|n|3|msg=a\tb`, err: `unknown escape \t`},
		{name: "text before the first key", line: "CEF:0|V|P|1|s|n|3|junk msg=x", err: "before the first key"},
		{name: "key twice", line: "CEF:0|V|P|1|s|n|3|a=1 a=2", err: `key "a" twice`},
		{name: "no pair", line: "CEF:0|V|P|1|s|n|3|junk", err: "no key=value pair"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := alertstest.ParseCEF(tc.line)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseLEEF(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       alertstest.LEEF
		err        string
	}{
		{
			name: "2.0 with a caret",
			line: "LEEF:2.0|Vigil|Vigil|1.0|usb-mass-copy|^|cat=x^usrName=jdoe=admin^sev=8",
			want: alertstest.LEEF{Version: "2.0", Vendor: "Vigil", Product: "Vigil", ProductVersion: "1.0", EventID: "usb-mass-copy", Delimiter: '^',
				Attributes: map[string]string{"cat": "x", "usrName": "jdoe=admin", "sev": "8"}, Keys: []string{"cat", "usrName", "sev"}},
		},
		{
			name: "2.0 with a hex tab",
			line: "LEEF:2.0|V|P|1|e|x09|a=1\tb=two words",
			want: alertstest.LEEF{Version: "2.0", Vendor: "V", Product: "P", ProductVersion: "1", EventID: "e", Delimiter: '\t',
				Attributes: map[string]string{"a": "1", "b": "two words"}, Keys: []string{"a", "b"}},
		},
		{
			name: "2.0 with 0x",
			line: "LEEF:2.0|V|P|1|e|0x7C|a=1",
			want: alertstest.LEEF{Version: "2.0", Vendor: "V", Product: "P", ProductVersion: "1", EventID: "e", Delimiter: '|',
				Attributes: map[string]string{"a": "1"}, Keys: []string{"a"}},
		},
		{
			name: "1.0 uses tabs",
			line: "LEEF:1.0|V|P|1|e|a=1\tb=2\t",
			want: alertstest.LEEF{Version: "1.0", Vendor: "V", Product: "P", ProductVersion: "1", EventID: "e", Delimiter: '\t',
				Attributes: map[string]string{"a": "1", "b": "2"}, Keys: []string{"a", "b"}},
		},
		{name: "no prefix", line: "CEF:0|V|P|1|s|n|3|", err: "no LEEF: prefix"},
		{name: "unknown version", line: "LEEF:3.0|V|P|1|e|^|a=1", err: `unknown version "3.0"`},
		{name: "short header", line: "LEEF:2.0|V|P|1|e", err: "header ends after 3 of 5 fields"},
		{name: "bad delimiter", line: "LEEF:2.0|V|P|1|e|xZZ|a=1", err: `delimiter "xZZ"`},
		{name: "attribute without a value", line: "LEEF:2.0|V|P|1|e|^|a=1^b", err: `attribute "b" is not key=value`},
		{name: "attribute twice", line: "LEEF:2.0|V|P|1|e|^|a=1^a=2", err: `attribute "a" twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := alertstest.ParseLEEF(tc.line)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// fuzzAlert is an alert carrying the fuzzed strings where the line formats
// put them.
func fuzzAlert(user, title, reason, path string) *alerts.Alert {
	at := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	return &alerts.Alert{
		ID: "01JDE2E0000000000000000009", Time: at, Created: at, Action: "file-copied-to-removable",
		User: user, Host: "ws-042", Severity: "high", RuleIDs: []string{"usb-sensitive-file"},
		Title: title, Reasons: []string{reason}, Status: "open",
		Event: &event.Event{Timestamp: at, File: &event.File{Path: path, Name: "f.xlsx"}},
	}
}

// plain reports whether s survives a line format unchanged: valid UTF-8,
// no control characters other than those in allowed, no rune in banned,
// at most max runes.
func plain(s, allowed, banned string, maxRunes int) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxRunes {
		return false
	}
	for _, c := range s {
		if (c < 0x20 || c == 0x7f) && !strings.ContainsRune(allowed, c) || strings.ContainsRune(banned, c) {
			return false
		}
	}
	return true
}

// FuzzCEFRoundTrip renders alerts with arbitrary strings as CEF and reads
// them back: every rendered line parses, and every value that CEF can
// carry unchanged comes back unchanged. Arbitrary input never panics the
// parser.
func FuzzCEFRoundTrip(f *testing.F) {
	f.Add("jdoe", "Copy|paste \\ = secret", "52 files\nabove 50", `C:\Users\jdoe\q3=final.xlsx`)
	f.Add("jdoe=admin", "機密", "a=b c=d", "/media/x y/z")
	f.Add("", "", "\r\n", "\x00\xff")
	f.Fuzz(func(t *testing.T, user, title, reason, path string) {
		_, _ = alertstest.ParseCEF(user + title + reason + path)
		r, err := alerts.NewRenderer(alerts.FormatCEF, alerts.RenderOptions{Version: "1.0"})
		require.NoError(t, err)
		line, err := r.Append(nil, fuzzAlert(user, title, reason, path))
		require.NoError(t, err)
		c, err := alertstest.ParseCEF(string(line))
		require.NoError(t, err, "line %q", line)
		require.Equal(t, "usb-sensitive-file", c.SignatureID)
		require.Equal(t, "8", c.Severity)
		require.Equal(t, "01JDE2E0000000000000000009", c.Extension["externalId"])
		if title != "" && plain(title, "", "", 1<<20) {
			require.Equal(t, title, c.Name)
		}
		for key, v := range map[string]string{"suser": user, "msg": reason, "filePath": path} {
			maxRunes := 4000
			if key == "msg" {
				maxRunes = 1023
			}
			if v != "" && plain(v, "\n\r", "", maxRunes) {
				require.Equal(t, v, c.Extension[key], "%s in %q", key, line)
			}
		}
	})
}

// FuzzLEEFRoundTrip does the same for LEEF 2.0.
func FuzzLEEFRoundTrip(f *testing.F) {
	f.Add("jdoe", "Copy|paste", "52 files^above 50", "/media/x=y")
	f.Add("jdoe=admin", "機密", "a\tb", "")
	f.Fuzz(func(t *testing.T, user, title, reason, path string) {
		_, _ = alertstest.ParseLEEF(user + title + reason + path)
		r, err := alerts.NewRenderer(alerts.FormatLEEF, alerts.RenderOptions{Version: "1.0"})
		require.NoError(t, err)
		line, err := r.Append(nil, fuzzAlert(user, title, reason, path))
		require.NoError(t, err)
		l, err := alertstest.ParseLEEF(string(line))
		require.NoError(t, err, "line %q", line)
		require.Equal(t, "usb-sensitive-file", l.EventID)
		require.Equal(t, byte('^'), l.Delimiter)
		require.Equal(t, "8", l.Attributes["sev"])
		for key, v := range map[string]string{"usrName": user, "title": title, "reason": reason, "filePath": path} {
			if v != "" && plain(v, "", "^", 4000) {
				require.Equal(t, v, l.Attributes[key], "%s in %q", key, line)
			}
		}
	})
}
