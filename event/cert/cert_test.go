package cert

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/event"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collect streams dir and returns the events in order and the stats.
func collect(t *testing.T, dir string, opts Options) ([]*event.Event, Stats) {
	t.Helper()
	var out []*event.Event
	st, err := Stream(dir, opts, func(e *event.Event) error {
		out = append(out, e)
		return nil
	}, nil)
	require.NoError(t, err)
	return out, st
}

func byID(events []*event.Event) map[string]*event.Event {
	m := make(map[string]*event.Event, len(events))
	for _, e := range events {
		m[e.Event.ID] = e
	}
	return m
}

// absent marks a field that must not be set.
type absentT struct{}

var absent absentT

// checkFields compares fields of e, by ECS path, with the wanted values.
func checkFields(t *testing.T, e *event.Event, want map[string]any) {
	t.Helper()
	for path, w := range want {
		get, err := event.NewAccessor(path)
		require.NoError(t, err)
		got, ok := get(e)
		if w == absent {
			require.False(t, ok, "%s: %s should be absent, is %v", e.Event.ID, path, got)
			continue
		}
		require.True(t, ok, "%s: %s is absent, want %v", e.Event.ID, path, w)
		require.Equal(t, w, got, "%s: %s", e.Event.ID, path)
	}
}

func TestMapping(t *testing.T) {
	old, _ := collect(t, "testdata/old", Options{})
	newer, _ := collect(t, "testdata/new", Options{})
	events := map[string]map[string]*event.Event{"old": byID(old), "new": byID(newer)}
	jan4 := func(h, m, s int) time.Time { return time.Date(2010, 1, 4, h, m, s, 0, time.UTC) }
	jan5 := func(h, m, s int) time.Time { return time.Date(2010, 1, 5, h, m, s, 0, time.UTC) }
	tests := []struct {
		name, layout, id string
		want             map[string]any
	}{
		{"logon", "old", "cert-logon-LGN1-OLD00001-A", map[string]any{
			"@timestamp": jan4(7, 12, 0), "event.action": "logon", "event.module": "cert",
			"event.kind": "event", "event.category": []string{"authentication", "session"},
			"user.name": "USR0001", "user.id": "USR0001", "user.domain": "DTAA", "host.name": "PC-0101",
			"host.timezone": "UTC", "session.id": "LGN1-OLD00001-A",
			"user.full_name": "Avery Quill", "user.email": "Avery.Quill@dtaa.com",
			"user.department": "2 - Operations", "user.title": "Director", "user.manager": absent,
			"user.employment.status": absent,
		}},
		{"logoff pairs with its logon", "old", "cert-logon-LGN1-OLD00006-A", map[string]any{
			"event.action": "logoff", "session.id": "LGN1-OLD00001-A", "event.type": []string{"end"},
		}},
		{"domain prefix of early releases", "old", "cert-logon-LGN1-OLD00007-A", map[string]any{
			"user.name": "USR0003", "user.domain": "DTAA", "user.full_name": "Casey Thorn",
		}},
		{"logoff without a logon has no session", "new", "cert-logon-LGN2-NEW00003-A", map[string]any{
			"event.action": "logoff", "session.id": "LGN2-NEW00002-A", "@timestamp": jan5(7, 50, 5),
		}},
		{"device connect", "old", "cert-device-DEV1-OLD00001-B", map[string]any{
			"event.action": "device-connected", "device.removable": true, "device.bus_type": "usb",
			"host.name": "PC-0102", "user.department": "3 - Engineering", "user.manager": "USR0001",
		}},
		{"device disconnect, later layout", "new", "cert-device-DEV2-NEW00002-B", map[string]any{
			"event.action": "device-disconnected", "device.removable": true, "@timestamp": jan5(7, 29, 0),
		}},
		{"old file row is a copy to removable media", "old", "cert-file-FIL1-OLD00001-C", map[string]any{
			"event.action": "file-copied-to-removable", "file.path": `R:\Plans\roadmap.DOCX`,
			"file.name": "roadmap.DOCX", "file.extension": "docx", "file.directory": `R:\Plans`,
			"volume.removable": true, "volume.bus_type": "usb",
			"labels.cert_content_length": "33", "file.source_path": absent,
		}},
		{"escaped quotes in content", "old", "cert-file-FIL1-OLD00003-C", map[string]any{
			"labels.cert_content_length": "13", "file.directory": `R:\`,
		}},
		{"file write", "new", "cert-file-FIL2-NEW00002-C", map[string]any{
			"event.action": "file-modified", "file.name": "notes.txt", "volume.removable": absent,
		}},
		{"file copy to removable", "new", "cert-file-FIL2-NEW00003-C", map[string]any{
			"event.action": "file-copied-to-removable", "file.extension": "pdf", "volume.removable": true,
			"labels.cert_content_length": "10",
		}},
		{"file copy from removable", "new", "cert-file-FIL2-NEW00004-C", map[string]any{
			"event.action": "file-created", "file.source_path": `R:\docs\old\budget.xls`, "volume.removable": true,
		}},
		{"file delete on removable media", "new", "cert-file-FIL2-NEW00005-C", map[string]any{
			"event.action": "file-deleted", "volume.removable": true, "labels.cert_content_length": "0",
		}},
		{"file write to removable", "new", "cert-file-FIL2-NEW00006-C", map[string]any{
			"event.action": "file-copied-to-removable",
		}},
		{"old email: every row a send, attachments a count", "old", "cert-email-EML1-OLD00001-D", map[string]any{
			"event.action": "email-sent", "email.from": "Avery.Quill@dtaa.com",
			"email.to": []string{"Blake.Rowan@dtaa.com", "partner@example.org"},
			"email.cc": []string{"Casey.Thorn@dtaa.com"}, "email.bcc": absent,
			"email.size": int64(24510), "email.external_recipients": int64(1),
			"email.attachments.name": []string{"", ""}, "labels.cert_content_length": "13",
		}},
		{"internal domain in upper case", "old", "cert-email-EML1-OLD00003-D", map[string]any{
			"email.bcc": []string{"audit@DTAA.com"}, "email.external_recipients": int64(1),
			"email.attachments.name": absent,
		}},
		{"attachments with and without sizes", "new", "cert-email-EML2-NEW00001-D", map[string]any{
			"email.attachments.name": []string{"report.pdf", "notes.txt"},
			"email.attachments.size": []int64{20480, 0}, "email.external_recipients": int64(1),
			"labels.cert_content_length": "20",
		}},
		{"subdomains internal, repeated recipients counted once", "new", "cert-email-EML2-NEW00003-D", map[string]any{
			"email.to":                  []string{"a@sub.dtaa.com", "b@partner.example", "B@Partner.example"},
			"email.external_recipients": int64(1),
		}},
		{"old http row is a visit; scheme added", "old", "cert-http-WEB1-OLD00002-E", map[string]any{
			"event.action": "web-visit", "url.original": "www.dropbox.com/home",
			"url.full": "http://www.dropbox.com/home", "url.domain": "www.dropbox.com", "url.path": "/home",
			"destination.domain": "www.dropbox.com", "destination.cloud_provider": absent,
		}},
		{"download", "new", "cert-http-WEB2-NEW00002-E", map[string]any{
			"event.action": "web-download", "url.domain": "files.example.com", "url.path": "/tools/setup.exe",
		}},
		{"upload to cloud storage", "new", "cert-http-WEB2-NEW00003-E", map[string]any{
			"event.action": "web-upload", "url.query": "x=1", "destination.domain": "www.dropbox.com",
			"destination.cloud_provider": "dropbox", "destination.category": "cloud-storage",
			"url.category": "cloud-storage", "event.ocsf.activity_id": int64(6),
		}},
		{"upload elsewhere", "new", "cert-http-WEB2-NEW00004-E", map[string]any{
			"event.action": "web-upload", "destination.domain": "upload.example.org",
			"destination.cloud_provider": absent,
		}},
		{"activity matches without regard to case", "new", "cert-http-WEB2-NEW00005-E", map[string]any{
			"event.action": "web-upload", "destination.cloud_provider": "google-drive",
		}},
		{"leaver before the end date", "old", "cert-device-DEV1-OLD00004-B", map[string]any{
			"user.employment.status": "active", "user.employment.end_date": "2010-03-01",
		}},
		{"leaver after the end date keeps the last record", "old", "cert-http-WEB1-OLD00004-E", map[string]any{
			"user.employment.status": "terminated", "user.employment.end_date": "2010-03-01",
			"user.full_name": "Casey Thorn", "user.department": "1 - Field Sales", "user.title": "Salesman",
		}},
		{"title changes with the snapshot", "old", "cert-http-WEB1-OLD00001-E", map[string]any{
			"user.title": "Engineer",
		}},
		{"later layout: department preferred, projects ignored", "new", "cert-logon-LGN2-NEW00002-A", map[string]any{
			"user.department": "4 - Storage", "user.employment.status": "active",
			"user.employment.end_date": "2010-02-01",
		}},
		{"later layout: leaver", "new", "cert-logon-LGN2-NEW00004-A", map[string]any{
			"user.employment.status": "terminated", "user.manager": "USR0001",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := events[tt.layout][tt.id]
			require.True(t, ok, "no event %s in the %s layout", tt.id, tt.layout)
			checkFields(t, e, tt.want)
		})
	}

	t.Run("every event is normalised and valid", func(t *testing.T) {
		for _, e := range slices.Concat(old, newer) {
			require.NoError(t, e.Validate())
			data, err := event.Encode(e)
			require.NoError(t, err)
			again, err := event.Decode(data)
			require.NoError(t, err)
			again.Normalize()
			require.Equal(t, e, again, "normalised already, and round-trips")
			require.Equal(t, "cert", e.Event.Module)
			require.True(t, strings.HasPrefix(e.Event.ID, "cert-"))
			require.NotEmpty(t, e.Host.Name)
		}
	})
	t.Run("content is never kept", func(t *testing.T) {
		for _, e := range slices.Concat(old, newer) {
			data, err := event.Encode(e)
			require.NoError(t, err)
			for _, word := range []string{"quarterly", "headline", "resume", "design, v2", "thanks"} {
				require.NotContains(t, string(data), word)
			}
		}
	})
}

func TestStats(t *testing.T) {
	tests := []struct {
		dir  string
		want Stats
	}{
		{"testdata/old", Stats{
			Rows: map[string]int64{
				"logon.csv": 9, "device.csv": 4, "file.csv": 3, "email.csv": 3, "http.csv": 4,
				"LDAP/2010-01.csv": 3, "LDAP/2010-02.csv": 3, "LDAP/2010-03.csv": 5,
			},
			Events: 16,
			Skipped: map[string]int64{
				"bad date": 2, "wrong column count": 2, "unknown activity": 1, "missing field": 3, "bad value": 1,
			},
			Users: 4,
		}},
		{"testdata/new", Stats{
			Rows: map[string]int64{
				"logon.csv": 5, "device.csv": 3, "file.csv": 9, "email.csv": 4, "http.csv": 6,
				"LDAP/2010-01.csv": 2, "LDAP/2010-02.csv": 1,
			},
			Events: 18,
			Skipped: map[string]int64{
				"bad date": 1, "unknown activity": 3, "unmapped activity": 2, "bad value": 1,
				"wrong column count": 1, "bad quoting": 1,
			},
			Users: 2,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			events, st := collect(t, tt.dir, Options{})
			require.Equal(t, tt.want, st)
			require.Len(t, events, int(st.Events))
		})
	}
}

func TestSkippedRows(t *testing.T) {
	const header = "id,date,user,pc,url,activity,content\n"
	tests := []struct {
		name, row, reason string
	}{
		{"bad date", "{A},2010-01-04 10:00:00,U1,PC-1,http://a.example/,WWW Visit,x", "bad date"},
		{"impossible date", "{A},02/29/2010 10:00:00,U1,PC-1,http://a.example/,WWW Visit,x", "bad date"},
		{"hour out of range", "{A},01/04/2010 24:00:00,U1,PC-1,http://a.example/,WWW Visit,x", "bad date"},
		{"too few columns", "{A},01/04/2010 10:00:00,U1,PC-1,http://a.example/,WWW Visit", "wrong column count"},
		{"too many columns", "{A},01/04/2010 10:00:00,U1,PC-1,http://a.example/,WWW Visit,x,y", "wrong column count"},
		{"unknown activity", "{A},01/04/2010 10:00:00,U1,PC-1,http://a.example/,WWW Post,x", "unknown activity"},
		{"no user", "{A},01/04/2010 10:00:00,,PC-1,http://a.example/,WWW Visit,x", "missing field"},
		{"no pc", "{A},01/04/2010 10:00:00,U1, ,http://a.example/,WWW Visit,x", "missing field"},
		{"no url", "{A},01/04/2010 10:00:00,U1,PC-1,,WWW Visit,x", "missing field"},
		{"open quote at the end", "{A},01/04/2010 10:00:00,U1,PC-1,http://a.example/,WWW Visit,\"x", "bad quoting"},
		{"row too long", "{A},01/04/2010 10:00:00,U1,PC-1,http://a.example/" + strings.Repeat("a", maxRecordBytes) + ",WWW Visit,x", "row too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			data := header + "{OK},01/04/2010 09:00:00,U1,PC-1,http://a.example/,WWW Visit,x\n" + tt.row + "\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, "http.csv"), []byte(data), 0o600))
			events, st := collect(t, dir, Options{})
			require.Len(t, events, 1)
			require.Equal(t, map[string]int64{tt.reason: 1}, st.Skipped)
			require.Equal(t, map[string]int64{"http.csv": 2}, st.Rows)
		})
	}
}

func TestTimeOrder(t *testing.T) {
	t.Run("fixtures", func(t *testing.T) {
		events, _ := collect(t, "testdata/new", Options{})
		ids := make([]string, len(events))
		for i, e := range events {
			ids[i] = e.Event.ID
		}
		require.Equal(t, []string{
			"cert-logon-LGN2-NEW00001-A", // 07:00:00, ties with the http row: logon first
			"cert-http-WEB2-NEW00001-E",
			"cert-email-EML2-NEW00001-D",
			"cert-email-EML2-NEW00003-D",
			"cert-logon-LGN2-NEW00002-A",
			"cert-device-DEV2-NEW00001-B",
			"cert-http-WEB2-NEW00002-E",
			"cert-file-FIL2-NEW00002-C",
			"cert-file-FIL2-NEW00003-C",
			"cert-http-WEB2-NEW00003-E",
			"cert-http-WEB2-NEW00004-E",
			"cert-http-WEB2-NEW00005-E",
			"cert-file-FIL2-NEW00004-C",
			"cert-file-FIL2-NEW00005-C",
			"cert-file-FIL2-NEW00006-C",
			"cert-device-DEV2-NEW00002-B",
			"cert-logon-LGN2-NEW00003-A",
			"cert-logon-LGN2-NEW00004-A",
		}, ids)
	})

	t.Run("generated files merge like a stable sort", func(t *testing.T) {
		dir := t.TempDir()
		genDataset(t, dir, genOptions{rows: map[kind]int{
			kindLogon: 3000, kindDevice: 1000, kindFile: 4000, kindEmail: 2000, kindHTTP: 5000,
		}, content: 10, seed: 3})
		merged, st := collect(t, dir, Options{})
		require.Equal(t, int64(len(merged)), st.Events)

		// Read every file on its own and sort all events by time, ties
		// broken by file order then row order.
		var want []*event.Event
		for k := range numKinds {
			one := t.TempDir()
			require.NoError(t, os.Link(filepath.Join(dir, kinds[k].file), filepath.Join(one, kinds[k].file)))
			events, _ := collect(t, one, Options{})
			want = append(want, events...)
		}
		sort.SliceStable(want, func(i, j int) bool { return want[i].Timestamp.Before(want[j].Timestamp) })
		require.Len(t, merged, len(want))
		for i := range want {
			require.Equal(t, want[i].Event.ID, merged[i].Event.ID, "event %d", i)
		}
	})

	t.Run("a row dated before what was emitted is skipped", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "logon.csv", "id,date,user,pc,activity\n"+
			"{1},01/04/2010 09:00:00,U1,PC-1,Logon\n"+
			"{2},01/04/2010 08:00:00,U1,PC-1,Logoff\n"+ // before 09:00, already emitted
			"{3},01/04/2010 10:00:00,U1,PC-1,Logoff\n")
		write(t, dir, "http.csv", "id,date,user,pc,url\n"+
			"{4},01/04/2010 08:30:00,U1,PC-1,http://a.example/\n"+
			"{5},01/04/2010 09:30:00,U1,PC-1,http://a.example/\n")
		events, st := collect(t, dir, Options{})
		var ids []string
		for _, e := range events {
			ids = append(ids, e.Event.ID)
		}
		require.Equal(t, []string{"cert-http-4", "cert-logon-1", "cert-http-5", "cert-logon-3"}, ids)
		require.Equal(t, map[string]int64{"out of order": 1}, st.Skipped)
	})
}

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
}

const ldapHeader = "employee_name,user_id,email,role,business_unit,functional_unit,department,team,supervisor\n"

func TestLeavingDate(t *testing.T) {
	// present lists, per snapshot month of 2010 (1 to 6), whether U1 is in it.
	tests := []struct {
		name    string
		months  []int // snapshots that exist
		present []int // snapshots U1 is in
		at      string
		status  string // "" for no employment
		end     string
	}{
		{"never leaves", []int{1, 2, 3}, []int{1, 2, 3}, "02/10/2010 10:00:00", "", ""},
		{"before leaving", []int{1, 2, 3}, []int{1, 2}, "02/28/2010 23:59:59", "active", "2010-03-01"},
		{"on the end date", []int{1, 2, 3}, []int{1, 2}, "03/01/2010 00:00:00", "terminated", "2010-03-01"},
		{"long after", []int{1, 2, 3}, []int{1, 2}, "12/25/2010 08:00:00", "terminated", "2010-03-01"},
		{"before the first snapshot", []int{1, 2, 3}, []int{1, 2}, "12/25/2009 08:00:00", "active", "2010-03-01"},
		{"missing month: first snapshot missing from", []int{1, 2, 5}, []int{1, 2}, "03/15/2010 08:00:00", "active", "2010-05-01"},
		{"missing month: after", []int{1, 2, 5}, []int{1, 2}, "05/02/2010 08:00:00", "terminated", "2010-05-01"},
		{"joiner who stays", []int{1, 2, 3}, []int{2, 3}, "01/10/2010 08:00:00", "", ""},
		{"joiner who leaves", []int{1, 2, 3, 4}, []int{2, 3}, "01/10/2010 08:00:00", "active", "2010-04-01"},
		{"rehired: first stint", []int{1, 2, 3, 4, 5}, []int{1, 2, 4, 5}, "02/10/2010 08:00:00", "active", "2010-03-01"},
		{"rehired: gap", []int{1, 2, 3, 4, 5}, []int{1, 2, 4, 5}, "03/10/2010 08:00:00", "terminated", "2010-03-01"},
		{"rehired: back", []int{1, 2, 3, 4, 5}, []int{1, 2, 4, 5}, "04/10/2010 08:00:00", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, m := range tt.months {
				data := ldapHeader + "Other Person,U2,u2@dtaa.com,Boss,1,1 - A,,,\n"
				if slices.Contains(tt.present, m) {
					data += "Una One,U1,u1@dtaa.com,Clerk,1,1 - A,2 - B,,Other Person\n"
				}
				write(t, dir, "LDAP/2010-0"+string(rune('0'+m))+".csv", data)
			}
			write(t, dir, "logon.csv", "id,date,user,pc,activity\n{1},"+tt.at+",U1,PC-1,Logon\n")
			events, st := collect(t, dir, Options{})
			require.Len(t, events, 1)
			require.Equal(t, 2, st.Users)
			u := events[0].User
			require.Equal(t, "Una One", u.FullName)
			require.Equal(t, "U2", u.Manager)
			if tt.status == "" {
				require.Nil(t, u.Employment)
				return
			}
			require.Equal(t, &event.Employment{Status: tt.status, EndDate: tt.end}, u.Employment)
		})
	}

	t.Run("end date at local midnight", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "LDAP/2010-01.csv", ldapHeader+"Una One,U1,u1@dtaa.com,Clerk,1,1 - A,,,\n")
		write(t, dir, "LDAP/2010-02.csv", ldapHeader)
		write(t, dir, "logon.csv", "id,date,user,pc,activity\n"+
			"{1},01/31/2010 23:30:00,U1,PC-1,Logon\n"+
			"{2},02/01/2010 00:30:00,U1,PC-1,Logoff\n")
		loc := time.FixedZone("UTC-5", -5*3600)
		events, _ := collect(t, dir, Options{Location: loc})
		require.Len(t, events, 2)
		require.Equal(t, time.Date(2010, 2, 1, 4, 30, 0, 0, time.UTC), events[0].Timestamp)
		require.Equal(t, "UTC-5", events[0].Host.Timezone)
		require.Equal(t, "active", events[0].User.Employment.Status)
		require.Equal(t, "terminated", events[1].User.Employment.Status)
		require.Equal(t, "2010-02-01", events[1].User.Employment.EndDate)
	})

	t.Run("manager by name, ambiguous or unknown names kept", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "LDAP/2010-01.csv", ldapHeader+
			"Sam Same,S1,,Boss,1,,,,\n"+
			"Sam Same,S2,,Boss,1,,,,\n"+
			"Una One,U1,,Clerk,1,,,,Sam Same\n"+
			"Two Too,U2,,Clerk,1,,,,Nobody Known\n"+
			"Three Tee,U3,,Clerk,1,,,,Una One\n")
		write(t, dir, "logon.csv", "id,date,user,pc,activity\n"+
			"{1},01/04/2010 08:00:00,U1,PC-1,Logon\n"+
			"{2},01/04/2010 08:00:00,U2,PC-1,Logon\n"+
			"{3},01/04/2010 08:00:00,U3,PC-1,Logon\n"+
			"{4},01/04/2010 08:00:00,U9,PC-1,Logon\n")
		events, _ := collect(t, dir, Options{})
		require.Len(t, events, 4)
		require.Equal(t, "Sam Same", events[0].User.Manager)
		require.Equal(t, "Nobody Known", events[1].User.Manager)
		require.Equal(t, "U1", events[2].User.Manager)
		require.Equal(t, &event.User{ID: "U9", Name: "U9", Domain: "DTAA"}, events[3].User, "unknown users keep their name only")
	})
}

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "email.csv", "id,date,user,pc,to,cc,bcc,from,size,attachments,content\n"+
		"{1},01/04/2010 08:00:00,U1,PC-1,a@dtaa.com;b@corp.example;c@other.example,,,u1@corp.example,10,,x\n")
	tests := []struct {
		name     string
		opts     Options
		domain   string
		external int64
	}{
		{"defaults", Options{}, "DTAA", 2},
		{"own domains", Options{Domain: "CORP", InternalDomains: []string{"@Corp.Example", " dtaa.com "}}, "CORP", 1},
		{"empty list means the default", Options{InternalDomains: []string{""}}, "DTAA", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, _ := collect(t, dir, tt.opts)
			require.Len(t, events, 1)
			require.Equal(t, tt.domain, events[0].User.Domain)
			require.Equal(t, tt.external, events[0].Email.ExternalRecipients)
		})
	}
}

func TestDatasetErrors(t *testing.T) {
	t.Run("no directory", func(t *testing.T) {
		_, err := Stream(filepath.Join(t.TempDir(), "nope"), Options{}, func(*event.Event) error { return nil }, nil)
		require.ErrorIs(t, err, os.ErrNotExist)
	})
	t.Run("no dataset files", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "psychometric.csv", "employee_name,user_id,O,C,E,A,N\n")
		_, err := Stream(dir, Options{}, func(*event.Event) error { return nil }, nil)
		require.ErrorContains(t, err, "no dataset files")
	})
	t.Run("header without a needed column", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "logon.csv", "id,when,user,pc,activity\n{1},01/04/2010 08:00:00,U1,PC-1,Logon\n")
		called := false
		_, err := Stream(dir, Options{}, func(*event.Event) error { called = true; return nil }, nil)
		require.ErrorContains(t, err, `logon.csv: the header has no column date`)
		require.False(t, called)
	})
	t.Run("LDAP without user_id", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "logon.csv", "id,date,user,pc,activity\n")
		write(t, dir, "LDAP/2010-01.csv", "employee_name,email\n")
		_, err := Stream(dir, Options{}, func(*event.Event) error { return nil }, nil)
		require.ErrorContains(t, err, "no user_id column")
	})
	t.Run("empty files and headers only", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "logon.csv", "")
		write(t, dir, "http.csv", "id,date,user,pc,url\n")
		write(t, dir, "LDAP/2010-01.csv", "")
		events, st := collect(t, dir, Options{})
		require.Empty(t, events)
		require.Equal(t, Stats{Rows: map[string]int64{"http.csv": 0}, Skipped: map[string]int64{}}, st)
	})
	t.Run("file names match without regard to case; ids fall back to the row number", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "Logon.CSV", "ID,Date,User,PC,Activity\n,01/04/2010 08:00:00,U1,PC-1,Logon\n{a b/c},01/04/2010 08:01:00,U1,PC-1,Logoff\n")
		events, st := collect(t, dir, Options{})
		require.Len(t, events, 2)
		require.Equal(t, "cert-logon-row-1", events[0].Event.ID)
		require.Equal(t, "cert-logon-a_b_c", events[1].Event.ID)
		require.Equal(t, int64(2), st.Rows["Logon.CSV"])
	})
}

func TestFnErrorStops(t *testing.T) {
	dir := t.TempDir()
	genDataset(t, dir, genOptions{rows: map[kind]int{kindLogon: 5000, kindHTTP: 5000, kindFile: 5000}, seed: 1})
	stop := errors.New("stop here")
	for _, after := range []int{1, 100, 2000} {
		n := 0
		st, err := Stream(dir, Options{}, func(*event.Event) error {
			n++
			if n == after {
				return stop
			}
			return nil
		}, nil)
		require.ErrorIs(t, err, stop)
		require.Equal(t, after, n, "fn is not called again")
		require.Equal(t, int64(after-1), st.Events)
	}
	// goleak (TestMain) checks that no reader goroutine is left behind.
}

func TestFnPanicLeavesNothingRunning(t *testing.T) {
	dir := t.TempDir()
	genDataset(t, dir, genOptions{rows: map[kind]int{kindLogon: 3000, kindHTTP: 3000}, seed: 2})
	require.Panics(t, func() {
		_, _ = Stream(dir, Options{}, func(*event.Event) error { panic("boom") }, nil)
	})
}

func TestProgress(t *testing.T) {
	dir := t.TempDir()
	genDataset(t, dir, genOptions{rows: map[kind]int{kindHTTP: 20000, kindFile: 10000}, content: 100, seed: 4})
	write(t, dir, "LDAP/2010-01.csv", ldapHeader+"Una One,USR0001,,Clerk,1,,,,\n")
	var size int64
	for _, name := range []string{"http.csv", "file.csv", "LDAP/2010-01.csv"} {
		info, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		size += info.Size()
	}
	require.Greater(t, size, int64(4*progressEvery))

	type call struct{ read, total int64 }
	var calls []call
	_, err := Stream(dir, Options{}, func(*event.Event) error { return nil }, func(read, total int64) {
		calls = append(calls, call{read, total})
	})
	require.NoError(t, err)
	require.Greater(t, len(calls), 4, "called now and then")
	require.Equal(t, call{0, size}, calls[0])
	require.Equal(t, call{size, size}, calls[len(calls)-1])
	for i := 1; i < len(calls); i++ {
		require.GreaterOrEqual(t, calls[i].read, calls[i-1].read)
		require.Equal(t, size, calls[i].total)
	}
}

func TestReadErrorStops(t *testing.T) {
	boom := errors.New("disk on fire")
	var web, logons strings.Builder
	web.WriteString("id,date,user,pc,url\n")
	logons.WriteString("id,date,user,pc,activity\n")
	for i := range 1000 {
		ts := time.Date(2010, 1, 4, 8, 0, i, 0, time.UTC).Format("01/02/2006 15:04:05")
		fmt.Fprintf(&web, "{W%d},%s,U1,PC-1,http://a.example/\n", i, ts)
		fmt.Fprintf(&logons, "{L%d},%s,U1,PC-1,Logon\n", i, ts)
	}
	cfg := newConfig(Options{})
	dir := &directory{users: map[string][]entry{}}
	open := func(name string, k kind, r io.Reader) *source {
		cr := newCSVReader(r, nil)
		require.True(t, cr.next())
		return &source{
			name: name,
			m:    newMapper(k, newLayout(headerIndex(cr), cr.nfields), cfg, dir, cr),
			out:  make(chan []*event.Event, queueLen),
		}
	}
	// The logon file fails after a quarter of its rows.
	broken := logons.String()[:logons.Len()/4]
	srcs := []*source{
		open("logon.csv", kindLogon, io.MultiReader(strings.NewReader(broken), iotest.ErrReader(boom))),
		open("http.csv", kindHTTP, strings.NewReader(web.String())),
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range srcs {
		wg.Go(func() { s.run(done) })
	}
	st := Stats{Skipped: map[string]int64{}}
	var last time.Time
	err := merge(srcs, &st, func(e *event.Event) error {
		last = e.Timestamp
		return nil
	}, func() {})
	close(done)
	wg.Wait()
	require.ErrorIs(t, err, boom)
	require.ErrorContains(t, err, "cert: read logon.csv: disk on fire")
	require.Less(t, st.Events, int64(1000), "the import stops when the file fails, not at the end")
	require.True(t, last.Before(time.Date(2010, 1, 4, 8, 8, 0, 0, time.UTC)))
}
