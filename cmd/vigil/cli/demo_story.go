package cli

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// demoPersona is the person of a demo story and their workstation. Runs
// of vigil demo take turns through demoPersonas, so that a second run
// tells a second story.
type demoPersona struct {
	User, FullName, Email, Department, JobTitle, Manager string
	Host                                                 string
	// NoticeDays is how many days before the end of their employment the
	// story takes place (the person has handed in their notice).
	NoticeDays int
	// HomeMail is the person's private mailbox.
	HomeMail string
	// Share is the sensitive share the story's files come from; File is
	// the file taken, Other a second one copied to the stick.
	Share, File, Other string
	// Sheet is the table the file holds.
	SheetHeader []string
	SheetRows   [][]string
	// Job is the job advert the person reads.
	Job [2]string
	// Doc is the document printed at the end.
	Doc string
}

var demoPersonas = []demoPersona{
	{
		User: "jdoe", FullName: "Jane Doe", Email: "jane.doe@acme.example", Department: "Finance", JobTitle: "Payroll specialist",
		Manager: "mlopez", Host: "ws-042", NoticeDays: 12, HomeMail: "jane.doe.home@gmail.com",
		Share: "/srv/hr/payroll", File: "payroll-%Y-%m.xlsx", Other: "salary-review-%Y.xlsx",
		SheetHeader: []string{"Employee", "Department", "Monthly gross", "Bank"},
		SheetRows: demoTable([]string{"A. Novak", "B. Ruiz", "C. Okafor", "D. Lindqvist", "E. Haddad", "F. Moreau", "G. Tanaka", "H. Schmidt", "I. Rossi", "J. Kowal", "K. Osei", "L. Brennan"},
			[]string{"Sales", "R&D", "Support", "Finance", "Legal", "Operations"}, "EUR %d,%03d", "DE** **** %04d"),
		Job: [2]string{"Payroll Lead - Globex Corporation", "Remote - full time - posted 2 days ago"}, Doc: "Q3 board pack.pdf",
	},
	{
		User: "mchen", FullName: "Marcus Chen", Email: "marcus.chen@acme.example", Department: "Sales", JobTitle: "Account executive",
		Manager: "skaur", Host: "lt-117", NoticeDays: 20, HomeMail: "marcus.chen.84@outlook.com",
		Share: "/srv/finance/sales", File: "customer-list-emea-%Y.xlsx", Other: "pricing-model-%Y.xlsx",
		SheetHeader: []string{"Customer", "Region", "Annual value", "Contact"},
		SheetRows: demoTable([]string{"Initech", "Umbrella plc", "Soylent AG", "Hooli BV", "Vandelay Ind.", "Stark SA", "Wayne Ltd", "Cyberdyne", "Tyrell GmbH", "Wonka SRL", "Acme Rail", "Gringotts"},
			[]string{"DACH", "Benelux", "Nordics", "UK", "Iberia", "France"}, "EUR %d,%03d", "ext. %04d"),
		Job: [2]string{"Senior Account Executive - Initrode", "Berlin - hybrid - posted today"}, Doc: "Pricing model - confidential.pdf",
	},
	{
		User: "akowalski", FullName: "Anna Kowalski", Email: "anna.kowalski@acme.example", Department: "Legal", JobTitle: "Counsel",
		Manager: "rnair", Host: "ws-208", NoticeDays: 8, HomeMail: "anna.kowalski@yahoo.com",
		Share: "/srv/legal/transactions", File: "merger-term-sheet-%Y.xlsx", Other: "due-diligence-findings-%Y.xlsx",
		SheetHeader: []string{"Item", "Owner", "Value", "Status"},
		SheetRows: demoTable([]string{"Share price", "Break fee", "Earn-out", "Escrow", "Key staff", "IP transfer", "Leases", "Pensions", "Debt", "Tax", "Closing", "Signing"},
			[]string{"CFO", "Counsel", "Board", "M&A", "Tax", "HR"}, "EUR %d,%03d k", "open #%04d"),
		Job: [2]string{"Corporate Counsel - Massive Dynamic", "London - full time - posted this week"}, Doc: "Board pack - project Falcon.pdf",
	},
}

// demoTable makes the rows of a persona's spreadsheet.
func demoTable(names, groups []string, valueFmt, refFmt string) [][]string {
	rows := make([][]string, len(names))
	for i, n := range names {
		v := 2800 + (i*7919)%4300
		rows[i] = []string{n, groups[i%len(groups)], fmt.Sprintf(valueFmt, v/1000, v%1000), fmt.Sprintf(refFmt, (i*2713+421)%10000)}
	}
	return rows
}

// dated fills %Y and %m of a file name pattern.
func dated(pattern string, t time.Time) string {
	return strings.NewReplacer("%Y", t.Format("2006"), "%m", t.Format("01")).Replace(pattern)
}

// demoStory is the built-in insider story of p: the afternoon before the
// last days at the company, ending at end. It sends a sensitive file to a
// USB stick, a personal cloud drive, personal storage in the browser and
// a private mailbox, pastes a table into an outside web page, clears the
// shell history and prints a confidential document. Every event carries
// the person's directory context, as an enriched endpoint event would.
func demoStory(p demoPersona, end time.Time) []*event.Event {
	home := "/home/" + p.User
	file := dated(p.File, end)
	other := dated(p.Other, end)
	ext := strings.TrimPrefix(path.Ext(file), ".")
	const size, otherSize = 48213, 31877
	endDate := end.AddDate(0, 0, p.NoticeDays).Format(time.DateOnly)
	user := func() *event.User {
		return &event.User{ID: "u-" + p.User, Name: p.User, Email: p.Email, FullName: p.FullName, Department: p.Department,
			Title: p.JobTitle, Manager: p.Manager, Groups: []string{strings.ToLower(p.Department)},
			Employment: &event.Employment{Status: "notice", EndDate: endDate}}
	}
	stick := &event.Volume{Removable: true, BusType: "usb", MountPoint: "/media/" + p.User + "/KINGSTON", Label: "KINGSTON",
		VendorName: "Kingston", ProductName: "DataTraveler 3.0", SerialNumber: "60A44C413D2AF1B0", FileSystemType: "vfat"}
	device := &event.Device{BusType: "usb", VendorName: "Kingston", ProductName: "DataTraveler 3.0", SerialNumber: "60A44C413D2AF1B0", Removable: true}
	firefox := &event.Process{PID: 3120, Name: "firefox", Executable: "/usr/lib/firefox/firefox"}
	files := &event.Process{PID: 2214, Name: "nautilus", Executable: "/usr/bin/nautilus"}
	exit0 := int64(0)
	var evs []*event.Event
	add := func(at time.Duration, action, module string, fill func(e *event.Event)) {
		t := end.Add(at)
		e := &event.Event{Timestamp: t, Event: event.Meta{ID: event.NewID(t), Kind: "event", Action: action, Module: module}, User: user()}
		fill(e)
		evs = append(evs, e)
	}
	add(-50*time.Minute, "logon", "session", func(e *event.Event) {
		e.Session = &event.Session{ID: "2", Type: "x11", TTY: "tty2"}
	})
	add(-46*time.Minute, "web-visit", "browser", func(e *event.Event) {
		e.URL = &event.URL{Full: "https://www.linkedin.com/jobs/view/3917204118/", Scheme: "https", Domain: "www.linkedin.com", Path: "/jobs/view/3917204118/"}
		e.Process = firefox
	})
	add(-38*time.Minute, "file-created", "file", func(e *event.Event) {
		e.File = &event.File{Path: home + "/Downloads/" + file, Name: file, Extension: ext, Directory: home + "/Downloads", Size: size,
			SourcePath: p.Share + "/" + file}
		e.Process = files
	})
	add(-35*time.Minute, "clipboard-copy", "clipboard", func(e *event.Event) {
		e.Clipboard = &event.Clipboard{Operation: "copy", Format: "text", ContentLength: 24310, SourceApp: "libreoffice calc"}
		e.Window = &event.Window{App: "libreoffice calc", Title: file + " - LibreOffice Calc"}
	})
	add(-34*time.Minute, "clipboard-paste", "clipboard", func(e *event.Event) {
		e.Clipboard = &event.Clipboard{Operation: "paste", Format: "text", ContentLength: 24310, SourceApp: "libreoffice calc"}
		e.Window = &event.Window{App: "firefox", Title: "Summarise a table - QuickAI - Mozilla Firefox", URL: "https://quickai.example.net/chat"}
	})
	add(-26*time.Minute, "device-connected", "removable", func(e *event.Event) { e.Device = device })
	add(-26*time.Minute+4*time.Second, "volume-mounted", "removable", func(e *event.Event) { e.Volume = stick })
	add(-24*time.Minute, "file-copied-to-removable", "removable", func(e *event.Event) {
		e.File = &event.File{Path: stick.MountPoint + "/" + file, Name: file, Extension: ext, Size: size, SourcePath: home + "/Downloads/" + file}
		e.Volume, e.Process = stick, files
	})
	add(-23*time.Minute, "file-copied-to-removable", "removable", func(e *event.Event) {
		e.File = &event.File{Path: stick.MountPoint + "/" + other, Name: other, Extension: ext, Size: otherSize, SourcePath: p.Share + "/" + other}
		e.Volume, e.Process = stick, files
	})
	add(-21*time.Minute-3*time.Second, "volume-unmounted", "removable", func(e *event.Event) { e.Volume = stick })
	add(-21*time.Minute, "device-disconnected", "removable", func(e *event.Event) { e.Device = device })
	add(-16*time.Minute, "command-executed", "terminal", func(e *event.Event) {
		e.Command = &event.Command{Line: "rclone copy ~/Downloads/" + file + " personal-drive:backup/", Cwd: home, Shell: "/bin/bash", ExitCode: &exit0}
		e.Session = &event.Session{ID: "pts-1", TTY: "pts/1"}
		e.Process = &event.Process{PID: 4410, Name: "bash", Executable: "/usr/bin/bash"}
	})
	add(-12*time.Minute, "web-upload", "browser", func(e *event.Event) {
		e.URL = &event.URL{Full: "https://www.dropbox.com/upload", Scheme: "https", Domain: "www.dropbox.com", Path: "/upload"}
		e.Destination = &event.Destination{Domain: "www.dropbox.com", Port: 443, Bytes: size + 1200, CloudProvider: "dropbox"}
		e.File = &event.File{Path: home + "/Downloads/" + file, Name: file, Extension: ext, Size: size}
		e.Process = firefox
	})
	add(-7*time.Minute, "email-sent", "email", func(e *event.Event) {
		e.Email = &event.Email{From: p.Email, To: []string{p.HomeMail}, Subject: "for home", Size: size + 5400,
			Attachments:        []event.Attachment{{Name: file, Size: size, MimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
			ExternalRecipients: 1, Client: "thunderbird"}
	})
	add(-3*time.Minute, "command-executed", "terminal", func(e *event.Event) {
		e.Command = &event.Command{Line: "history -c", Cwd: home, Shell: "/bin/bash", ExitCode: &exit0}
		e.Session = &event.Session{ID: "pts-1", TTY: "pts/1"}
		e.Process = &event.Process{PID: 4410, Name: "bash", Executable: "/usr/bin/bash"}
	})
	add(-90*time.Second, "print-job", "print", func(e *event.Event) {
		e.Print = &event.Print{Printer: "hp-3rd-floor", JobID: "77", Pages: 12, Copies: 1, DocumentTitle: p.Doc}
	})
	add(0, "screen-lock", "session", func(e *event.Event) { e.Session = &event.Session{ID: "2", Type: "x11"} })
	return evs
}
