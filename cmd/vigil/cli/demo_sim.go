package cli

import (
	"image"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/evidence"
)

// demoSim is the demo endpoint. From a story's events it works out what
// the screen showed at any moment and what the keyboard, clipboard and
// terminal sensors saw, so that the demo fills the evidence buffers the
// way the real sensors and the screen recorder do.
type demoSim struct {
	p       demoPersona
	acts    []demoAct
	toasts  []demoToast
	mounts  []demoMount
	locks   []demoLock
	shares  [][2]string
	keys    []evidence.Keystroke
	clips   []evidence.ClipboardEntry
	terms   []evidence.TerminalRecord
	dirs    map[string][]string
	term    []string
	termRun bool
}

// demoAct is one thing the person did on screen, from from to to.
type demoAct struct {
	from, to time.Time
	scene    func(t time.Time) demoScene
}

type demoToast struct {
	at   time.Time
	text string
}

type demoMount struct {
	at          time.Time
	label, path string
	mounted     bool
}

type demoLock struct {
	at     time.Time
	locked bool
}

// Where things are on the demo screen, for the mouse pointer.
var (
	ptAddress = image.Pt(520, 120)
	ptDialog  = image.Pt(700, 380)
	ptSend    = image.Pt(190, 640)
	ptSheet   = image.Pt(420, 190)
)

func ptRow(i int) image.Point      { return image.Pt(560, 190+32*i) }
func ptSide(i int) image.Point     { return image.Pt(180, 112+34*i) }
func ptCard(i int) image.Point     { return image.Pt(640, 300+72*i) }
func ptCell(i int) image.Point     { return image.Pt(700, 190+30*i) }
func fileSize(n int64) string      { return strconv.FormatInt(max(n/1024, 1), 10) + " KB" }
func firstName(full string) string { f, _, _ := strings.Cut(full, " "); return f }

// newDemoSim plays the events (in time order) on the demo endpoint of p.
func newDemoSim(p demoPersona, events []*event.Event) *demoSim {
	s := &demoSim{p: p, dirs: map[string][]string{}}
	home := "/home/" + p.User
	s.dirs[home] = []string{"Desktop/", "Documents/", "Downloads/", "Pictures/"}
	s.dirs[home+"/Downloads"] = []string{"invoice-4411.pdf", "team-offsite.jpg", "vpn-setup.pdf"}
	s.dirs[home+"/Documents"] = []string{"notes.txt", "objectives.odt"}
	for _, e := range events {
		if e.File != nil && e.File.SourcePath != "" && !strings.HasPrefix(e.File.SourcePath, home) {
			dir := path.Dir(e.File.SourcePath)
			if !slices.ContainsFunc(s.shares, func(sh [2]string) bool { return sh[1] == dir }) {
				s.shares = append(s.shares, [2]string{path.Base(dir), dir})
				s.dirs[dir] = []string{"archive/", "README.txt"}
			}
			s.dirs[dir] = append(s.dirs[dir], path.Base(e.File.SourcePath))
		}
	}
	for _, e := range events {
		s.play(e)
	}
	return s
}

// rows lists a directory for the file manager.
func (s *demoSim) rows(dir string, t time.Time) [][]string {
	var out [][]string
	for _, n := range s.dirs[dir] {
		if name, ok := strings.CutSuffix(n, "/"); ok {
			out = append(out, []string{name, "", "Yesterday"})
			continue
		}
		out = append(out, []string{n, fileSize(int64(20000 + 977*len(n))), t.Local().Add(-26 * time.Hour).Format("2 Jan 15:04")})
	}
	return out
}

func rowOf(rows [][]string, name string) int {
	return slices.IndexFunc(rows, func(r []string) bool { return len(r) > 0 && r[0] == name })
}

// typed is the part of text typed by t when typing runs from from to to.
func typed(text string, from, to, t time.Time) string {
	switch {
	case !t.After(from):
		return ""
	case !t.Before(to):
		return text
	}
	rs := []rune(text)
	return string(rs[:int(float64(len(rs))*t.Sub(from).Seconds()/to.Sub(from).Seconds())])
}

// progress is how far (0 to 100, in steps of 10) a task running from
// from to to is at t.
func progress(from, to, t time.Time) int {
	switch {
	case !t.After(from):
		return 0
	case !t.Before(to):
		return 100
	}
	return int(10*t.Sub(from).Seconds()/to.Sub(from).Seconds()) * 10
}

func (s *demoSim) act(from, to time.Time, scene func(t time.Time) demoScene) {
	s.acts = append(s.acts, demoAct{from: from, to: to, scene: scene})
}

func (s *demoSim) key(at time.Time, app, window, text string) {
	s.keys = append(s.keys, evidence.Keystroke{Time: at, App: app, Window: window, Text: text})
}

// play adds what one event looked like on the endpoint.
func (s *demoSim) play(e *event.Event) {
	te := e.Timestamp
	sec := func(n float64) time.Time { return te.Add(time.Duration(n * float64(time.Second))) }
	switch e.Event.Action {
	case "logon", "screen-unlock":
		s.locks = append(s.locks, demoLock{at: te})
		s.toasts = append(s.toasts, demoToast{at: te, text: "Welcome back, " + firstName(s.p.FullName)})
		s.act(te, sec(3), func(time.Time) demoScene { return demoScene{} })
	case "logoff", "screen-lock":
		s.locks = append(s.locks, demoLock{at: te, locked: true})
	case "device-connected":
		if d := e.Device; d != nil {
			s.toasts = append(s.toasts, demoToast{at: te, text: "USB drive connected: " + strings.TrimSpace(d.VendorName+" "+d.ProductName)})
		}
	case "device-disconnected":
		s.toasts = append(s.toasts, demoToast{at: te, text: "USB drive removed"})
	case "volume-mounted", "volume-unmounted":
		if v := e.Volume; v != nil && v.MountPoint != "" {
			label := v.Label
			if label == "" {
				label = path.Base(v.MountPoint)
			}
			on := e.Event.Action == "volume-mounted"
			s.mounts = append(s.mounts, demoMount{at: te, label: label, path: v.MountPoint, mounted: on})
			text := label + " can be safely removed"
			if on {
				text = label + " mounted at " + v.MountPoint
			}
			s.toasts = append(s.toasts, demoToast{at: te, text: text})
		}
	case "web-visit", "web-download":
		s.playBrowse(e)
	case "file-created", "file-renamed":
		s.playFileCopy(e, false)
	case "file-copied-to-removable", "file-copied-to-cloud-sync":
		if e.Process != nil && slices.Contains([]string{"cp", "rsync", "mv", "robocopy", "xcopy"}, e.Process.Name) && e.File != nil && e.File.SourcePath != "" {
			s.playCommand(te, "cp -v "+e.File.SourcePath+" "+path.Dir(e.File.Path)+"/",
				[]string{"'" + e.File.SourcePath + "' -> '" + e.File.Path + "'"})
			s.dirs[path.Dir(e.File.Path)] = append(s.dirs[path.Dir(e.File.Path)], path.Base(e.File.Path))
			return
		}
		s.playFileCopy(e, true)
	case "command-executed":
		if e.Command != nil && e.Command.Line != "" {
			var out []string
			if strings.HasPrefix(e.Command.Line, "rclone ") {
				out = []string{"Transferred:   47.083 KiB / 47.083 KiB, 100%, 23.5 KiB/s, ETA 0s",
					"Transferred:            1 / 1, 100%", "Elapsed time:         2.1s"}
			}
			s.playCommand(te, e.Command.Line, out)
		}
	case "clipboard-copy", "clipboard-cut":
		s.playSheetCopy(e)
	case "clipboard-paste":
		s.playPaste(e)
	case "web-upload":
		s.playUpload(e)
	case "email-sent":
		s.playMail(e)
	case "print-job":
		s.playPrint(e)
	}
}

// playFileCopy is a copy in the file manager: select the file, then copy
// and paste it (a download from a share) or drag it onto a drive.
func (s *demoSim) playFileCopy(e *event.Event, drag bool) {
	f := e.File
	if f == nil || f.Path == "" {
		return
	}
	te := e.Timestamp
	sec := func(n float64) time.Time { return te.Add(time.Duration(n * float64(time.Second))) }
	name, dst := path.Base(f.Path), path.Dir(f.Path)
	src := f.SourcePath
	before := s.rows(dst, te)
	s.dirs[dst] = append(s.dirs[dst], name)
	if src == "" {
		after := s.rows(dst, te)
		s.act(te.Add(-6*time.Second), te.Add(5*time.Second), func(t time.Time) demoScene {
			sc := demoScene{App: "files", Title: path.Base(dst) + " - Files", Location: dst, Rows: before, Sel: -1, Cursor: ptRow(len(before))}
			if !t.Before(te) {
				sc.Rows, sc.Sel = after, rowOf(after, name)
			}
			return sc
		})
		return
	}
	srcDir, srcName := path.Dir(src), path.Base(src)
	srcRows := s.rows(srcDir, te)
	from := path.Base(srcDir) + " - Files"
	if !drag {
		s.key(sec(-9), "nautilus", from, "<ctrl+c>")
		s.clips = append(s.clips, evidence.ClipboardEntry{Time: sec(-9), Operation: "copy", Selection: "CLIPBOARD", Window: from,
			App: "nautilus", Format: "files", Length: int64(len(src)), Files: []string{src}})
		s.key(sec(-3), "nautilus", path.Base(dst)+" - Files", "<ctrl+v>")
		s.clips = append(s.clips, evidence.ClipboardEntry{Time: sec(-3), Operation: "paste", Selection: "CLIPBOARD",
			Window: path.Base(dst) + " - Files", App: "nautilus", Format: "files", Length: int64(len(src)), Files: []string{src}})
	}
	beforeRows, afterRows := before, s.rows(dst, te)
	label := path.Base(dst)
	for _, m := range s.mounts {
		if strings.HasPrefix(dst, m.path) {
			label = m.label
		}
	}
	s.act(sec(-16), sec(8), func(t time.Time) demoScene {
		sc := demoScene{App: "files", Title: path.Base(srcDir) + " - Files", Location: srcDir, Rows: srcRows, Sel: -1, Cursor: ptRow(len(srcRows) + 1)}
		switch d := t.Sub(te); {
		case drag && d < -8*time.Second:
			if d >= -12*time.Second {
				sc.Sel, sc.Cursor = rowOf(srcRows, srcName), ptRow(rowOf(srcRows, srcName))
			}
			if d >= -10*time.Second {
				sc.Cursor = ptSide(4 + len(s.shares))
			}
		case drag && d < 0:
			sc.Sel, sc.Cursor = rowOf(srcRows, srcName), ptDialog
			sc.Dialog = &demoDialog{Title: "Copying files", Text: "Copying " + name + " to " + label, Progress: progress(sec(-8), te, t)}
		case d < -8*time.Second:
			if d >= -13*time.Second {
				sc.Sel, sc.Cursor = rowOf(srcRows, srcName), ptRow(rowOf(srcRows, srcName))
			}
		case d < -3*time.Second:
			sc.Title, sc.Location, sc.Rows, sc.Cursor = path.Base(dst)+" - Files", dst, beforeRows, ptRow(len(beforeRows)+1)
		case d < 0:
			sc.Title, sc.Location, sc.Rows, sc.Cursor = path.Base(dst)+" - Files", dst, beforeRows, ptDialog
			sc.Dialog = &demoDialog{Title: "Copying files", Text: "Copying " + name + " to " + path.Base(dst), Progress: progress(sec(-3), te, t)}
		default:
			sc.Title, sc.Location, sc.Rows = path.Base(dst)+" - Files", dst, afterRows
			sc.Sel, sc.Cursor = rowOf(afterRows, name), ptRow(rowOf(afterRows, name))
		}
		return sc
	})
}

// prompt is the shell prompt of the story's terminal, plain and coloured.
func (s *demoSim) prompt() (plain, ansi string) {
	who := s.p.User + "@" + s.p.Host
	return who + ":~$ ", "\x1b[1;32m" + who + "\x1b[0m:\x1b[1;34m~\x1b[0m$ "
}

// playCommand types a command line in the terminal, ending at te, and
// shows its output.
func (s *demoSim) playCommand(te time.Time, line string, output []string) {
	typing := min(max(time.Duration(len(line))*150*time.Millisecond, 2*time.Second), 12*time.Second)
	from := te.Add(-typing - time.Second)
	plain, ansi := s.prompt()
	const session = "pts-1"
	if !s.termRun {
		s.termRun = true
		s.terms = append(s.terms,
			evidence.TerminalRecord{Session: session, Time: from.Add(-2 * time.Second), Kind: evidence.TerminalStart, Width: 100, Height: 26,
				Shell: "/bin/bash", User: s.p.User, TTY: "pts/1"},
			evidence.TerminalRecord{Session: session, Time: from.Add(-1500 * time.Millisecond), Kind: evidence.TerminalOutput, Data: ansi})
		s.term = []string{plain}
	}
	title := s.p.User + "@" + s.p.Host + ": ~"
	s.key(from, "gnome-terminal", title, line+"<Return>")
	rs := []rune(line)
	for i := 0; i < len(rs); i += 4 {
		at := from.Add(time.Duration(float64(typing) * float64(i) / float64(len(rs))))
		s.terms = append(s.terms, evidence.TerminalRecord{Session: session, Time: at, Kind: evidence.TerminalInput, Data: string(rs[i:min(i+4, len(rs))])})
	}
	s.terms = append(s.terms, evidence.TerminalRecord{Session: session, Time: te.Add(-200 * time.Millisecond), Kind: evidence.TerminalInput, Data: "\r"})
	out := "\r\n"
	for _, o := range output {
		out += o + "\r\n"
	}
	s.terms = append(s.terms, evidence.TerminalRecord{Session: session, Time: te.Add(300 * time.Millisecond), Kind: evidence.TerminalOutput, Data: out + ansi})
	before := slices.Clone(s.term[:len(s.term)-1])
	after := append(append(append(slices.Clone(before), plain+line), output...), plain)
	s.term = after
	s.act(from.Add(-2*time.Second), te.Add(6*time.Second), func(t time.Time) demoScene {
		sc := demoScene{App: "terminal", Title: title}
		if t.Before(te) {
			sc.Lines = append(slices.Clone(before), plain+typed(line, from, from.Add(typing), t))
		} else {
			sc.Lines = after
		}
		return sc
	})
}

// siteName is what a site calls itself: its name without www. and the
// top-level domain, capitalised.
func siteName(domain string) string {
	parts := strings.Split(strings.TrimPrefix(domain, "www."), ".")
	n := parts[0]
	if len(parts) > 2 {
		n = parts[len(parts)-2]
	}
	if n == "" {
		return domain
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

func (s *demoSim) playBrowse(e *event.Event) {
	if e.URL == nil {
		return
	}
	te := e.Timestamp
	sec := func(n float64) time.Time { return te.Add(time.Duration(n * float64(time.Second))) }
	addr := strings.TrimPrefix(strings.TrimPrefix(e.URL.Full, "https://"), "http://")
	if addr == "" {
		addr = e.URL.Domain + e.URL.Path
	}
	s.key(sec(-12), "firefox", "New Tab - Mozilla Firefox", addr+"<Return>")
	site := siteName(e.URL.Domain)
	jobs := strings.Contains(e.URL.Path, "job") || slices.Contains([]string{"Indeed", "Glassdoor", "Stepstone", "Monster", "Xing"}, site)
	download := e.Event.Action == "web-download" && e.File != nil
	var rows [][]string
	lines := []string{"Welcome to " + site}
	if jobs {
		lines = []string{"Jobs you may be interested in"}
		rows = [][]string{{s.p.Job[0], s.p.Job[1]}, {"Senior Analyst - Vehement Capital", "Remote - contract - 1 week ago"},
			{"Team Lead - Oceanic Airlines", "Sydney - full time - 3 days ago"}, {"Manager - Cyberdyne Systems", "Hybrid - full time - today"}}
	}
	if download {
		s.dirs[path.Dir(e.File.Path)] = append(s.dirs[path.Dir(e.File.Path)], path.Base(e.File.Path))
	}
	s.act(sec(-14), sec(26), func(t time.Time) demoScene {
		sc := demoScene{App: "browser", Title: "New Tab - Mozilla Firefox", Heading: "New Tab", Location: typed(addr, sec(-12), sec(-4), t),
			Sel: -1, Cursor: ptAddress}
		switch d := t.Sub(te); {
		case d < -2*time.Second:
		case d < 0:
			sc.Location, sc.Heading, sc.Progress = addr, "Loading...", 50
		default:
			sc.Location, sc.Heading, sc.Lines, sc.Rows = addr, site, lines, rows
			sc.Title = site + " - Mozilla Firefox"
			if len(rows) > 0 {
				sc.Sel = min(int(d/(6*time.Second)), len(rows)-1)
				sc.Cursor = ptCard(sc.Sel)
			}
			if download {
				sc.Dialog = &demoDialog{Title: "Downloads", Text: "Saving " + e.File.Name + " to Downloads", Progress: progress(te, sec(4), t)}
			}
		}
		return sc
	})
}

// sheetText is the persona's table as copied text, tab-separated.
func (s *demoSim) sheetText() string {
	var b strings.Builder
	for _, r := range append([][]string{s.p.SheetHeader}, s.p.SheetRows...) {
		b.WriteString(strings.Join(r, "\t"))
		b.WriteString("\n")
	}
	return b.String()
}

func (s *demoSim) playSheetCopy(e *event.Event) {
	te := e.Timestamp
	sec := func(n float64) time.Time { return te.Add(time.Duration(n * float64(time.Second))) }
	title := "Book1 - LibreOffice Calc"
	app := "libreoffice calc"
	if e.Window != nil && e.Window.Title != "" {
		title, app = e.Window.Title, e.Window.App
	}
	var length int64
	if e.Clipboard != nil {
		length = e.Clipboard.ContentLength
	}
	op := strings.TrimPrefix(e.Event.Action, "clipboard-")
	s.key(te, app, title, "<ctrl+"+op[:1]+">")
	s.clips = append(s.clips, evidence.ClipboardEntry{Time: te, Operation: op, Selection: "CLIPBOARD", Window: title, App: app,
		Format: "text", Length: length, Text: s.sheetText()})
	n := len(s.p.SheetRows)
	s.act(sec(-12), sec(4), func(t time.Time) demoScene {
		sc := demoScene{App: "sheet", Title: title, Location: "A1:D" + strconv.Itoa(n+1), Header: s.p.SheetHeader, Rows: s.p.SheetRows, Cursor: ptSheet}
		if d := t.Sub(te); d >= -10*time.Second {
			sc.Sel = min(n+1, int(float64(n+1)*(d+10*time.Second).Seconds()/8))
			sc.Cursor = ptCell(sc.Sel)
		}
		return sc
	})
}

func (s *demoSim) playPaste(e *event.Event) {
	te := e.Timestamp
	sec := func(n float64) time.Time { return te.Add(time.Duration(n * float64(time.Second))) }
	title, app, addr := "Mozilla Firefox", "firefox", ""
	if w := e.Window; w != nil {
		title, app = w.Title, w.App
		addr = strings.TrimPrefix(w.URL, "https://")
	}
	var length int64
	if e.Clipboard != nil {
		length = e.Clipboard.ContentLength
	}
	heading, _, _ := strings.Cut(title, " - ")
	s.key(sec(-15), app, "New Tab - Mozilla Firefox", addr+"<Return>")
	s.key(te, app, title, "<ctrl+v>")
	s.clips = append(s.clips, evidence.ClipboardEntry{Time: te, Operation: "paste", Selection: "CLIPBOARD", Window: title, App: app,
		Format: "text", Length: length})
	var pasted []string
	for _, r := range s.p.SheetRows[:5] {
		pasted = append(pasted, strings.Join(r, "   "))
	}
	s.act(sec(-16), sec(10), func(t time.Time) demoScene {
		sc := demoScene{App: "browser", Title: "New Tab - Mozilla Firefox", Heading: "New Tab", Location: typed(addr, sec(-15), sec(-9), t), Sel: -1, Cursor: ptAddress}
		if d := t.Sub(te); d >= -8*time.Second {
			sc.Title, sc.Heading, sc.Location, sc.Cursor = title, heading, addr, ptDialog
			sc.Lines = []string{"Paste a table and ask anything about it."}
			if d >= 0 {
				sc.Lines = append(sc.Lines, pasted...)
			}
		}
		return sc
	})
}

func (s *demoSim) playUpload(e *event.Event) {
	if e.URL == nil && e.Destination == nil {
		return
	}
	te := e.Timestamp
	sec := func(n float64) time.Time { return te.Add(time.Duration(n * float64(time.Second))) }
	domain := ""
	switch {
	case e.URL != nil && e.URL.Domain != "":
		domain = e.URL.Domain
	case e.Destination != nil:
		domain = e.Destination.Domain
	}
	site := siteName(domain)
	name, size := "file", int64(0)
	if e.File != nil {
		name, size = e.File.Name, e.File.Size
		if name == "" {
			name = path.Base(e.File.Path)
		}
	}
	s.key(sec(-22), "firefox", "New Tab - Mozilla Firefox", domain+"<Return>")
	s.act(sec(-23), sec(8), func(t time.Time) demoScene {
		sc := demoScene{App: "browser", Title: "New Tab - Mozilla Firefox", Heading: "New Tab", Location: typed(domain, sec(-22), sec(-17), t), Sel: -1, Cursor: ptAddress}
		d := t.Sub(te)
		if d >= -16*time.Second {
			sc.Title, sc.Heading, sc.Location, sc.Lines = site+" - Mozilla Firefox", site, domain+"/home", []string{"Upload files or drag them here"}
			sc.Cursor = ptDialog
		}
		switch {
		case d < -16*time.Second:
		case d < -9*time.Second:
			sc.Dialog = &demoDialog{Title: "File Upload", Text: "~/Downloads/" + name, Progress: -1}
		case d < 0:
			sc.Lines = []string{"Uploading " + name + " (" + fileSize(size) + ")"}
			sc.Progress = max(progress(sec(-9), te, t), 1)
		default:
			sc.Lines = []string{"Upload complete"}
			sc.Rows = [][]string{{name, fileSize(size) + " - uploaded just now"}}
			sc.Sel = 0
		}
		return sc
	})
}

func (s *demoSim) playMail(e *event.Event) {
	m := e.Email
	if m == nil {
		return
	}
	te := e.Timestamp
	sec := func(n float64) time.Time { return te.Add(time.Duration(n * float64(time.Second))) }
	to := strings.Join(m.To, ", ")
	title := "Write: " + m.Subject + " - Thunderbird"
	body := []string{"Hi,", "", "here are the files we talked about.", "", firstName(s.p.FullName)}
	var atts []string
	for _, a := range m.Attachments {
		atts = append(atts, a.Name+" ("+fileSize(a.Size)+")")
	}
	s.key(sec(-40), "thunderbird", title, to+"<Tab>")
	s.key(sec(-31), "thunderbird", title, m.Subject+"<Tab>")
	s.key(sec(-19), "thunderbird", title, strings.Join(body, "<Return>"))
	s.key(sec(-1), "thunderbird", title, "<ctrl+Return>")
	s.toasts = append(s.toasts, demoToast{at: te, text: "Message sent to " + to})
	s.act(sec(-42), sec(4), func(t time.Time) demoScene {
		d := t.Sub(te)
		if d >= 0 {
			return demoScene{}
		}
		sc := demoScene{App: "mail", Title: title, Cursor: image.Pt(700, 160)}
		sc.Rows = [][]string{{"From", m.From}, {"To", typed(to, sec(-40), sec(-33), t)}, {"Subject", typed(m.Subject, sec(-31), sec(-28), t)}}
		if d >= -20*time.Second && len(atts) > 0 {
			sc.Rows = append(sc.Rows, []string{"Attach", strings.Join(atts, ", ")})
		}
		switch {
		case d >= -26*time.Second && d < -20*time.Second && len(m.Attachments) > 0:
			sc.Dialog = &demoDialog{Title: "Attach File(s)", Text: "~/Downloads/" + m.Attachments[0].Name, Progress: -1}
			sc.Cursor = ptDialog
		case d >= -19*time.Second:
			text := typed(strings.Join(body, "\n"), sec(-19), sec(-4), t)
			sc.Lines = strings.Split(text, "\n")
			if d >= -3*time.Second {
				sc.Cursor = ptSend
			}
		}
		return sc
	})
}

func (s *demoSim) playPrint(e *event.Event) {
	pr := e.Print
	if pr == nil {
		return
	}
	te := e.Timestamp
	sec := func(n float64) time.Time { return te.Add(time.Duration(n * float64(time.Second))) }
	title := pr.DocumentTitle + " - Document Viewer"
	s.key(sec(-10), "evince", title, "<ctrl+p>")
	s.key(sec(-1), "evince", title, "<Return>")
	s.act(sec(-14), sec(7), func(t time.Time) demoScene {
		sc := demoScene{App: "viewer", Title: title, Heading: pr.DocumentTitle, Cursor: image.Pt(900, 400)}
		switch d := t.Sub(te); {
		case d < -9*time.Second:
		case d < 0:
			sc.Dialog = &demoDialog{Title: "Print", Text: "Printer: " + pr.Printer + "   Pages: 1-" + strconv.FormatInt(pr.Pages, 10), Progress: -1}
			sc.Cursor = ptDialog
		case d < 6*time.Second:
			sc.Dialog = &demoDialog{Title: "Printing", Text: "Sending " + pr.DocumentTitle + " to " + pr.Printer, Progress: progress(te, sec(5), t)}
			sc.Cursor = ptDialog
		}
		return sc
	})
}

// sceneAt is what the screen showed at t.
func (s *demoSim) sceneAt(t time.Time) demoScene {
	var sc demoScene
	for _, a := range s.acts {
		if a.from.After(t) {
			continue
		}
		at := t
		if at.After(a.to) {
			at = a.to
		}
		sc = a.scene(at)
		if at.Equal(a.to) {
			sc.Dialog = nil
		}
	}
	sc.Clock = t.Local().Format("Mon 2 Jan 15:04")
	sc.User = s.p.FullName
	for _, l := range s.locks {
		if !l.at.After(t) {
			sc.Locked = l.locked
		}
	}
	for _, o := range s.toasts {
		if !t.Before(o.at) && t.Before(o.at.Add(6*time.Second)) {
			sc.Toast = o.text
		}
	}
	if sc.App == "files" {
		home := "/home/" + s.p.User
		places := [][2]string{{"Home", home}, {"Documents", home + "/Documents"}, {"Downloads", home + "/Downloads"}}
		places = append(places, s.shares...)
		mounted := map[string]string{}
		var order []string
		for _, m := range s.mounts {
			if m.at.After(t) {
				break
			}
			if m.mounted {
				if _, ok := mounted[m.path]; !ok {
					order = append(order, m.path)
				}
				mounted[m.path] = m.label
			} else {
				delete(mounted, m.path)
			}
		}
		for _, p := range order {
			if l, ok := mounted[p]; ok {
				places = append(places, [2]string{l, p})
			}
		}
		sc.SideSel, sc.Sidebar = -1, nil
		best := 0
		for i, pl := range places {
			sc.Sidebar = append(sc.Sidebar, pl[0])
			if (sc.Location == pl[1] || strings.HasPrefix(sc.Location, pl[1]+"/")) && len(pl[1]) > best {
				sc.SideSel, best = i, len(pl[1])
			}
		}
	}
	return sc
}
