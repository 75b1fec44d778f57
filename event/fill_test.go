package event

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNormalizeFillsFromAction(t *testing.T) {
	e := &Event{Timestamp: time.Unix(0, 1), Event: Meta{ID: "x", Action: ActionWebUpload}}
	e.Normalize()
	require.Equal(t, "event", e.Event.Kind)
	require.Equal(t, []string{"network", "web"}, e.Event.Category)
	require.Equal(t, []string{"access"}, e.Event.Type)
	require.Equal(t, &OCSF{ClassUID: 4002, ActivityID: 6}, e.Event.OCSF)
	require.NoError(t, e.Validate())

	// The filled lists belong to the event, not to the action table.
	e.Event.Category[0] = "changed"
	a, _ := LookupAction(ActionWebUpload)
	require.Equal(t, "network", a.Category[0])
}

func TestNormalizeKeepsWhatIsSet(t *testing.T) {
	e := &Event{Event: Meta{
		Action: ActionFileCreated, Kind: "alert", Category: []string{"malware"}, Type: []string{"info"},
		OCSF: &OCSF{ClassUID: 2004, ActivityID: 1},
	}}
	e.Normalize()
	require.Equal(t, Meta{
		Action: ActionFileCreated, Kind: "alert", Category: []string{"malware"}, Type: []string{"info"},
		OCSF: &OCSF{ClassUID: 2004, ActivityID: 1},
	}, e.Event)
}

func TestNormalizeUnknownActionFillsNothingFromTable(t *testing.T) {
	e := &Event{Event: Meta{Action: "nope"}}
	e.Normalize()
	require.Nil(t, e.Event.Category)
	require.Nil(t, e.Event.OCSF)
	require.Equal(t, "event", e.Event.Kind)
}

func TestNormalizeFilePaths(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		windows bool
		want    File
	}{
		{"linux", "/media/jdoe/KINGSTON/q3.xlsx", false,
			File{Name: "q3.xlsx", Extension: "xlsx", Directory: "/media/jdoe/KINGSTON"}},
		{"root", "/q3.xlsx", false, File{Name: "q3.xlsx", Extension: "xlsx", Directory: "/"}},
		{"relative", "q3.xlsx", false, File{Name: "q3.xlsx", Extension: "xlsx"}},
		{"several dots", "/tmp/export.tar.gz", false, File{Name: "export.tar.gz", Extension: "gz", Directory: "/tmp"}},
		{"upper-case extension", "/tmp/SCAN.PDF", false, File{Name: "SCAN.PDF", Extension: "pdf", Directory: "/tmp"}},
		{"dot file", "/home/jdoe/.bash_history", false, File{Name: ".bash_history", Directory: "/home/jdoe"}},
		{"trailing dot", "/tmp/odd.", false, File{Name: "odd.", Directory: "/tmp"}},
		{"no extension", "/usr/bin/cp", false, File{Name: "cp", Directory: "/usr/bin"}},
		{"backslash in a linux name", `/tmp/a\b.txt`, false, File{Name: `a\b.txt`, Extension: "txt", Directory: "/tmp"}},
		{"windows host", `C:\Users\jdoe\Documents\Q3 Forecast.XLSX`, true,
			File{Name: "Q3 Forecast.XLSX", Extension: "xlsx", Directory: `C:\Users\jdoe\Documents`}},
		{"windows path on unknown host", `E:\q3.xlsx`, false, File{Name: "q3.xlsx", Extension: "xlsx", Directory: `E:\`}},
		{"windows forward slashes", `C:/Users/jdoe/a.txt`, false, File{Name: "a.txt", Extension: "txt", Directory: `C:/Users/jdoe`}},
		{"UNC path", `\\fileserver\finance\q3.xlsx`, false, File{Name: "q3.xlsx", Extension: "xlsx", Directory: `\\fileserver\finance`}},
		{"mixed separators on windows", `C:\Users\jdoe/Downloads\x.zip`, true, File{Name: "x.zip", Extension: "zip", Directory: `C:\Users\jdoe/Downloads`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Event{File: &File{Path: tt.path}}
			if tt.windows {
				e.Host = &Host{OS: &OS{Family: "Windows"}}
			}
			e.Normalize()
			tt.want.Path = tt.path
			require.Equal(t, tt.want, *e.File)
		})
	}
}

func TestNormalizeKeepsFileFields(t *testing.T) {
	e := &Event{File: &File{Path: "/a/b.txt", Name: "given", Extension: "md", Directory: "/elsewhere"}}
	e.Normalize()
	require.Equal(t, File{Path: "/a/b.txt", Name: "given", Extension: "md", Directory: "/elsewhere"}, *e.File)
	e = &Event{File: &File{Name: "c.TXT"}}
	e.Normalize()
	require.Equal(t, File{Name: "c.TXT"}, *e.File, "without a path nothing is derived")
}

func TestNormalizeLowersHashes(t *testing.T) {
	upper := "2C26B46B68FFC68FF99B453C1D30413413422D706483BFA0F98A5E886266E7AE"
	lower := "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	e := &Event{
		File:      &File{Hash: &Hash{SHA256: upper, MD5: "098F6BCD4621D373CADE4E832627B4F6"}},
		Process:   &Process{Hash: &Hash{SHA256: upper}},
		Email:     &Email{Attachments: []Attachment{{SHA256: upper}, {SHA256: "not hex"}}},
		Clipboard: &Clipboard{ContentSHA256: upper},
	}
	e.Normalize()
	require.Equal(t, lower, e.File.Hash.SHA256)
	require.Equal(t, "098f6bcd4621d373cade4e832627b4f6", e.File.Hash.MD5)
	require.Equal(t, lower, e.Process.Hash.SHA256)
	require.Equal(t, lower, e.Email.Attachments[0].SHA256)
	require.Equal(t, "not hex", e.Email.Attachments[1].SHA256, "non-hex values are left for Validate")
	require.Equal(t, lower, e.Clipboard.ContentSHA256)
}

func TestNormalizeURL(t *testing.T) {
	tests := []struct {
		name string
		in   URL
		want URL
	}{
		{"full", URL{Full: "HTTPS://WWW.Dropbox.com:8443/upload/x?id=7&a=b"},
			URL{Full: "HTTPS://WWW.Dropbox.com:8443/upload/x?id=7&a=b", Scheme: "https", Domain: "www.dropbox.com", Port: 8443, Path: "/upload/x", Query: "id=7&a=b"}},
		{"original only", URL{Original: "https://pastebin.com/raw/abc"},
			URL{Original: "https://pastebin.com/raw/abc", Scheme: "https", Domain: "pastebin.com", Path: "/raw/abc"}},
		{"kept fields", URL{Full: "https://a.example/x", Domain: "given.example"},
			URL{Full: "https://a.example/x", Scheme: "https", Domain: "given.example", Path: "/x"}},
		{"not a URL", URL{Original: "dropbox"}, URL{Original: "dropbox"}},
		{"unparsable", URL{Full: "http://[::1"}, URL{Full: "http://[::1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.in
			e := &Event{URL: &u}
			e.Normalize()
			require.Equal(t, tt.want, u)
		})
	}
}

func TestNormalizeConvertsTimesToUTC(t *testing.T) {
	zone := time.FixedZone("X", 5*3600)
	ts := time.Date(2026, 11, 28, 15, 0, 0, 0, zone)
	ing := ts.Add(time.Second)
	e := &Event{Timestamp: ts, Event: Meta{Ingested: &ing}}
	e.Normalize()
	require.Equal(t, time.UTC, e.Timestamp.Location())
	require.True(t, e.Timestamp.Equal(ts))
	require.Equal(t, time.UTC, e.Event.Ingested.Location())
	require.Equal(t, ts.Location(), zone, "the caller's time is not modified")

	now := time.Now()
	e = &Event{Timestamp: now}
	e.Normalize()
	require.Equal(t, now.UTC().Round(0), e.Timestamp, "the monotonic reading is dropped")
}

func TestNormalizeIsIdempotent(t *testing.T) {
	for i, line := range exampleLines(t) {
		e, err := Decode(line)
		require.NoError(t, err)
		e.Normalize()
		once, err := Encode(e)
		require.NoError(t, err)
		e.Normalize()
		twice, err := Encode(e)
		require.NoError(t, err)
		require.Equal(t, string(once), string(twice), "example %d", i+1)
	}
	var nilEvent *Event
	require.NotPanics(t, nilEvent.Normalize)
}
