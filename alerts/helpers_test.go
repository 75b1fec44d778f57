package alerts

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// checkGolden compares got with testdata/name, or rewrites it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "%s is stale: run go test ./alerts -update", path)
}

// trickyAlert is an alert whose strings need every kind of escaping: CEF
// and LEEF separators, backslashes, equals signs, line breaks and
// multi-byte UTF-8.
func trickyAlert() *Alert {
	t := time.Date(2026, 11, 28, 10, 0, 0, 123000000, time.UTC)
	return &Alert{
		ID: "01JD5Z7Q8R9S0T1V2W3X4Y5Z6A", DecisionID: "01JD5Z7Q8R9S0T1V2W3X4Y5Z6B", Time: t, Created: t.Add(2 * time.Second),
		EventID: "01JD5Z7Q8R9S0T1V2W3X4Y5Z6C", Action: "file-copied-to-removable",
		User: "jdoe=admin", Host: "ws-042", Severity: "high", RiskScore: 72.5,
		RuleIDs: []string{"usb-mass-copy", "departing-user"}, BundleName: "vigil-library", BundleRevision: "v1.2.0",
		Status: "open", Title: `Copy|paste to USB \ "Données" – 機密 = secret`,
		Tags:    []string{"exfiltration", "removable", "attack.T1052"},
		Reasons: []string{"52 files in 10m\nabove limit 50", `path C:\Users\jdoe\q3=final.xlsx`},
		Findings: []Finding{
			{Rule: "usb-mass-copy", RuleVersion: 3, Title: `Copy|paste to USB \ "Données" – 機密 = secret`, Severity: "high", Tags: []string{"exfiltration", "removable"}, Message: "52 files"},
			{Rule: "departing-user", RuleVersion: 1, Title: "Departing user", Severity: "medium", Tags: []string{"attack.T1052"}},
		},
		Event: &event.Event{
			Timestamp: t,
			Event:     event.Meta{ID: "01JD5Z7Q8R9S0T1V2W3X4Y5Z6C", Kind: "event", Category: []string{"file"}, Type: []string{"creation"}, Action: "file-copied-to-removable", Module: "removable", Outcome: "success", OCSF: &event.OCSF{ClassUID: 1001, ActivityID: 1}},
			Host:      &event.Host{ID: "h-1", Name: "ws-042", IP: []string{"10.0.0.42"}, OS: &event.OS{Family: "linux", Name: "Debian", Version: "12"}},
			User:      &event.User{ID: "1000", Name: "jdoe=admin", Domain: "CORP"},
			Process:   &event.Process{PID: 4242, Name: "cp", Executable: "/usr/bin/cp", CommandLine: "cp -r /home/jdoe/q3 /media/jdoe/KINGSTON"},
			File:      &event.File{Path: `/media/jdoe/KINGSTON/q3|final=1\機密.xlsx`, Name: `q3|final=1\機密.xlsx`, Extension: "xlsx", Size: 48213, Hash: &event.Hash{SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},
			Volume:    &event.Volume{Removable: true, BusType: "usb", MountPoint: "/media/jdoe/KINGSTON", VendorName: "Kingston"},
		},
	}
}

// parseCEF splits a CEF line into its seven header fields and its
// extension, undoing the escaping. It is written from the specification,
// independently of the renderer, to check it.
func parseCEF(line string) (header []string, ext map[string]string, err error) {
	const prefix = "CEF:"
	if !strings.HasPrefix(line, prefix) {
		return nil, nil, errors.New("no CEF: prefix")
	}
	rest := line[len(prefix):]
	var cur strings.Builder
	i := 0
	for len(header) < 7 {
		if i >= len(rest) {
			return nil, nil, fmt.Errorf("header has %d fields, want 7", len(header))
		}
		c := rest[i]
		switch {
		case c == '\\' && i+1 < len(rest) && (rest[i+1] == '\\' || rest[i+1] == '|'):
			cur.WriteByte(rest[i+1])
			i += 2
		case c == '\\':
			return nil, nil, fmt.Errorf("bad escape at %d", i)
		case c == '|':
			header = append(header, cur.String())
			cur.Reset()
			i++
		default:
			cur.WriteByte(c)
			i++
		}
	}
	ext, err = parseCEFExtension(rest[i:])
	return header, ext, err
}

// parseCEFExtension reads key=value pairs: a key is the word before an
// unescaped '='; its value runs to the space before the next key.
func parseCEFExtension(s string) (map[string]string, error) {
	ext := map[string]string{}
	type eq struct{ keyStart, eq int }
	var eqs []eq
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '=':
			k := strings.LastIndexByte(s[:i], ' ') + 1
			if k == i {
				return nil, fmt.Errorf("empty key at %d", i)
			}
			eqs = append(eqs, eq{k, i})
		}
	}
	for n, e := range eqs {
		end := len(s)
		if n+1 < len(eqs) {
			end = eqs[n+1].keyStart - 1
			if end < e.eq+1 {
				return nil, fmt.Errorf("value of %q overlaps the next key", s[e.keyStart:e.eq])
			}
		}
		if n == 0 && e.keyStart != 0 {
			return nil, errors.New("text before the first key")
		}
		v, err := unescapeCEFValue(s[e.eq+1 : end])
		if err != nil {
			return nil, err
		}
		ext[s[e.keyStart:e.eq]] = v
	}
	return ext, nil
}

func unescapeCEFValue(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", errors.New("trailing backslash")
		}
		i++
		switch s[i] {
		case '\\', '=':
			b.WriteByte(s[i])
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			return "", fmt.Errorf("bad escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

// parseLEEF splits a LEEF 2.0 line into its header fields (vendor,
// product, version, event id, delimiter) and attributes.
func parseLEEF(line string) (header []string, attrs map[string]string, order []string, err error) {
	rest, ok := strings.CutPrefix(line, "LEEF:2.0|")
	if !ok {
		return nil, nil, nil, errors.New("no LEEF:2.0| prefix")
	}
	parts := strings.SplitN(rest, "|", 6)
	if len(parts) != 6 {
		return nil, nil, nil, fmt.Errorf("header has %d fields", len(parts))
	}
	header = parts[:5]
	d := header[4]
	if len(d) > 1 {
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(d), "x"), 16, 8)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("bad delimiter %q", d)
		}
		d = string(rune(n))
	}
	attrs = map[string]string{}
	if parts[5] == "" {
		return header, attrs, nil, nil
	}
	for _, kv := range strings.Split(parts[5], d) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, nil, nil, fmt.Errorf("attribute %q has no '='", kv)
		}
		attrs[k] = v
		order = append(order, k)
	}
	return header, attrs, order, nil
}

// readFrames splits an octet-counted stream into messages.
func readFrames(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		if sp <= 0 {
			return nil, errors.New("no MSG-LEN")
		}
		n, err := strconv.Atoi(string(b[:sp]))
		if err != nil || n < 0 || string(b[:sp]) != strconv.Itoa(n) {
			return nil, fmt.Errorf("bad MSG-LEN %q", b[:sp])
		}
		b = b[sp+1:]
		if n > len(b) {
			return nil, fmt.Errorf("frame of %d bytes, %d left", n, len(b))
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out, nil
}
