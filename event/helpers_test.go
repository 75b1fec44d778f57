package event

import (
	"bufio"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// validEvent returns a valid event with every field set populated, so that
// tests can break one field at a time.
func validEvent() *Event {
	ingested := time.Date(2026, 11, 28, 10, 0, 1, 0, time.UTC)
	active := true
	code := int64(-9)
	zero := int64(0)
	return &Event{
		Timestamp: time.Date(2026, 11, 28, 10, 0, 0, 123_000_000, time.UTC),
		Message:   "copied q3.xlsx to KINGSTON",
		Tags:      []string{"usb"},
		Labels:    map[string]string{"site": "paris"},
		Event: Meta{
			ID: "01JDQ7ZK3V8N4G2M5R6T7W8X9Y", Kind: "event", Category: []string{"file"}, Type: []string{"creation"},
			Action: ActionFileCopiedToRemovable, Module: "removable", Outcome: "success", Sequence: 42,
			Ingested: &ingested, OCSF: &OCSF{ClassUID: 1001, ActivityID: 1},
		},
		Host: &Host{ID: "h1", Name: "ws-042", IP: []string{"10.0.0.42"}, OS: &OS{Family: "linux", Name: "Ubuntu", Version: "24.04"}, Timezone: "Europe/Paris"},
		User: &User{
			ID: "1000", Name: "jdoe", Domain: "CORP", Email: "jdoe@acme.example", FullName: "Jane Doe",
			Department: "Finance", Title: "Analyst", Manager: "bsmith", Groups: []string{"finance"}, Roles: []string{"analyst"},
			Watchlists: []string{"leavers"}, Timezone: "Europe/Paris",
			Employment: &Employment{Status: "notice", Type: "full-time", StartDate: "2020-01-06", NoticeDate: "2026-11-10", EndDate: "2026-12-10"},
			Privileged: true, Contractor: false, Active: &active, RiskScore: 72.5, EffectiveID: "0",
		},
		Process: &Process{
			PID: 4242, Name: "cp", Executable: "/usr/bin/cp", CommandLine: "cp q3.xlsx /media/jdoe/KINGSTON/",
			Args: []string{"cp", "q3.xlsx", "/media/jdoe/KINGSTON/"}, WorkingDirectory: "/home/jdoe",
			Hash:   &Hash{SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", MD5: "098f6bcd4621d373cade4e832627b4f6"},
			Parent: &ProcessParent{PID: 4100, Name: "bash", Executable: "/usr/bin/bash", CommandLine: "-bash"}, ExitCode: &code,
		},
		File: &File{
			Path: "/media/jdoe/KINGSTON/q3.xlsx", Name: "q3.xlsx", Extension: "xlsx", Directory: "/media/jdoe/KINGSTON",
			Size: 48213, MimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Owner: "jdoe",
			Hash:       &Hash{SHA256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", MD5: "5d41402abc4b2a76b9719d911017c592"},
			SourcePath: "/home/jdoe/q3.xlsx", TargetPath: "/media/jdoe/KINGSTON/q3.xlsx",
		},
		Volume:      &Volume{Removable: true, BusType: "usb", MountPoint: "/media/jdoe/KINGSTON", DeviceName: "/dev/sdb1", Label: "KINGSTON", VendorName: "Kingston", ProductName: "DataTraveler", SerialNumber: "E0D55EA573DC", FileSystemType: "vfat", Size: 32 << 30},
		Device:      &Device{ID: "usb-1", BusType: "usb", Class: "mass_storage", VendorID: "0951", ProductID: "1666", VendorName: "Kingston", ProductName: "DataTraveler", SerialNumber: "E0D55EA573DC", Removable: true, Size: 32 << 30},
		URL:         &URL{Original: "https://www.dropbox.com/upload", Full: "https://www.dropbox.com/upload", Scheme: "https", Domain: "www.dropbox.com", Port: 443, Path: "/upload", Query: "a=1", Category: "cloud-storage"},
		Source:      &Endpoint{IP: "10.0.0.42", Port: 51000, Domain: "ws-042", Bytes: 100},
		Destination: &Destination{IP: "162.125.66.18", Port: 443, Domain: "www.dropbox.com", Bytes: 48213, CloudProvider: "dropbox", Category: "cloud-storage"},
		Network:     &Network{Transport: "tcp", Protocol: "https", Direction: "egress", Bytes: 48313},
		Email: &Email{
			From: "jdoe@acme.example", To: []string{"jane@gmail.com"}, CC: []string{"a@acme.example"}, BCC: []string{"b@acme.example"},
			Subject: "q3", MessageID: "<1@acme.example>", Size: 50000,
			Attachments:        []Attachment{{Name: "q3.xlsx", Size: 48213, SHA256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", MimeType: "application/zip"}},
			ExternalRecipients: 1, Client: "outlook",
		},
		Print:     &Print{Printer: "PRN-1", JobID: "7", Pages: 12, Copies: 1, DocumentTitle: "q3.xlsx", Size: 1 << 20, Color: true},
		Clipboard: &Clipboard{Operation: "copy", Format: "text", ContentLength: 120, ContentSHA256: "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9", Content: "secret", SourceApp: "Excel", Files: []string{"/home/jdoe/q3.xlsx"}},
		Keys:      &Keys{Combo: "ctrl+c"},
		Window:    &Window{App: "Excel", Title: "q3.xlsx", Class: "excel", PID: 3310, URL: "https://acme.sharepoint.com/"},
		Session:   &Session{ID: "3", Type: "ssh", TTY: "pts/3", RemoteAddress: "10.0.0.9"},
		Command:   &Command{Line: "ls", Cwd: "/home/jdoe", ExitCode: &zero, Shell: "bash"},
		Agent:     &Agent{ID: "a1", Version: "1.4.2", Health: "healthy", Sensor: "removable", Error: "none", Dropped: 3, BundleName: "vigil-default", BundleRevision: "3f2a"},
	}
}

// exampleLines returns the lines of testdata/examples.jsonl.
func exampleLines(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/examples.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out)
	return out
}

// errorStrings returns the messages of every FieldError in err.
func errorStrings(err error) []string {
	var out []string
	for _, fe := range FieldErrors(err) {
		out = append(out, fe.Error())
	}
	return out
}
