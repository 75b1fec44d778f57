package eventgen

import (
	"strconv"
	"strings"

	"github.com/vigil-itm/vigil/event"
)

// Vocabularies of realistic values.
var (
	docStems = []string{
		"Q3-forecast", "Q4-budget", "board-deck", "customer-list", "salary-review-2026", "roadmap-2027",
		"pricing-model", "contract-globex", "org-chart", "incident-report", "design-spec", "meeting-notes",
		"invoice-88213", "payroll-nov", "pipeline-export", "source-snapshot", "architecture", "offer-letter",
		"security-assessment", "competitor-analysis", "travel-expenses", "headcount-plan", "patent-draft",
	}
	docSuffixes = []string{"", "", "", "-v2", "-v3", "_final", "_FINAL_v2", " (1)", "-draft", "-copy"}
	docExts     = []string{"xlsx", "xlsx", "docx", "docx", "pdf", "pdf", "pptx", "csv", "zip", "txt", "png", "sql", "pst", "key", "json", "py", "go"}
	docFolders  = []string{"Documents", "Documents/Projects", "Documents/Finance", "Downloads", "Desktop", "Projects/payments", "Projects/platform"}

	corpSites = []string{
		"intranet.acme.example", "jira.acme.example", "wiki.acme.example", "git.acme.example",
		"hr.acme.example", "crm.acme.example", "acme.sharepoint.com", "acme.slack.com",
	}
	webSites = []struct{ domain, category, provider string }{
		{"github.com", "development", ""}, {"stackoverflow.com", "development", ""},
		{"docs.google.com", "productivity", "google"}, {"www.google.com", "search", ""},
		{"www.bing.com", "search", ""}, {"www.linkedin.com", "social", ""}, {"x.com", "social", ""},
		{"www.bbc.co.uk", "news", ""}, {"news.ycombinator.com", "news", ""}, {"www.reuters.com", "news", ""},
		{"mail.google.com", "webmail", "google"}, {"outlook.live.com", "webmail", "microsoft"},
		{"www.dropbox.com", "cloud-storage", "dropbox"}, {"drive.google.com", "cloud-storage", "google-drive"},
		{"onedrive.live.com", "cloud-storage", "onedrive"}, {"www.icloud.com", "cloud-storage", "icloud"},
		{"app.box.com", "cloud-storage", "box"}, {"mega.nz", "file-sharing", "mega"},
		{"wetransfer.com", "file-sharing", "wetransfer"}, {"pastebin.com", "paste", ""},
		{"gist.github.com", "paste", ""}, {"translate.google.com", "productivity", ""},
		{"www.amazon.com", "shopping", ""}, {"www.indeed.com", "job-search", ""},
	}
	uploadSites = []struct{ domain, category, provider, path string }{
		{"www.dropbox.com", "cloud-storage", "dropbox", "/upload"},
		{"drive.google.com", "cloud-storage", "google-drive", "/upload/drive/v3/files"},
		{"onedrive.live.com", "cloud-storage", "onedrive", "/upload"},
		{"wetransfer.com", "file-sharing", "wetransfer", "/api/v4/transfers"},
		{"mega.nz", "file-sharing", "mega", "/upload"},
		{"pastebin.com", "paste", "", "/api/api_post.php"},
		{"mail.google.com", "webmail", "google", "/mail/u/0/"},
		{"acme.sharepoint.com", "business", "microsoft", "/sites/finance/_api/web/files/add"},
		{"github.com", "development", "", "/acme/platform/upload/main"},
	}
	cloudSync = []struct{ provider, folderWin, folderUnix string }{
		{"dropbox", `Dropbox`, "Dropbox"},
		{"google-drive", `Google Drive\My Drive`, "Google Drive/My Drive"},
		{"onedrive", `OneDrive - Personal`, "OneDrive - Personal"},
		{"box", `Box`, "Box"},
		{"icloud", `iCloudDrive`, "Library/Mobile Documents/com~apple~CloudDocs"},
	}
	externalDomains = []string{"globex.example", "initech.example", "umbrella.example", "hooli.example"}
	personalDomains = []string{"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "proton.me", "icloud.com", "gmx.de"}
	emailSubjects   = []string{
		"Re: Q3 numbers", "Fwd: contract draft", "Meeting notes", "Updated pricing", "Quick question",
		"Re: Re: invoice 88213", "Offer details", "Weekly status", "Customer escalation", "FYI",
		"Documents you asked for", "Personal", "Board pack - confidential", "Re: lunch?",
	}
	printers = []string{
		"PRN-FL3-HP-M607", "PRN-FL5-Canon-C5840", `\\printsrv01\Finance-Color`, `\\printsrv01\Legal-BW`,
		"HP_OfficeJet_Pro_9015", "Brother_HL_L2350DW",
	}
	commands = []string{
		"ls -la", "cd ~/projects/payments", "git status", "git pull --rebase", "make test", "vim config.yaml",
		"kubectl get pods -n prod", "ssh bastion.acme.example", "docker compose up -d", "python3 report.py --month 11",
		"scp -r ~/projects/payments backup@203.0.113.7:/tmp/", "tar czf /tmp/export.tgz ~/Documents",
		"zip -r /media/$USER/USB/src.zip ~/src", "curl -T dump.sql https://transfer.sh/dump.sql",
		"git clone git@github.com:acme/platform.git", "psql -h db.acme.example -c 'copy customers to stdout' > customers.csv",
		"history -c", "rm -f ~/.bash_history", "aws s3 cp export.tgz s3://personal-backup-bucket/",
		"rclone copy ~/Documents gdrive:backup", "sudo systemctl restart nginx", "grep -ri password ~/projects",
	}
	apps = []struct{ name, winExe, macApp, linuxBin, class string }{
		{"Google Chrome", `C:\Program Files\Google\Chrome\Application\chrome.exe`, "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome", "/usr/bin/google-chrome", "browser"},
		{"Firefox", `C:\Program Files\Mozilla Firefox\firefox.exe`, "/Applications/Firefox.app/Contents/MacOS/firefox", "/usr/bin/firefox", "browser"},
		{"Microsoft Excel", `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`, "/Applications/Microsoft Excel.app/Contents/MacOS/Microsoft Excel", "/usr/bin/libreoffice", "office"},
		{"Microsoft Word", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "/Applications/Microsoft Word.app/Contents/MacOS/Microsoft Word", "/usr/bin/libreoffice", "office"},
		{"Outlook", `C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, "/Applications/Microsoft Outlook.app/Contents/MacOS/Microsoft Outlook", "/usr/bin/thunderbird", "mail"},
		{"Slack", `C:\Users\Public\AppData\Local\slack\slack.exe`, "/Applications/Slack.app/Contents/MacOS/Slack", "/usr/bin/slack", "chat"},
		{"Visual Studio Code", `C:\Program Files\Microsoft VS Code\Code.exe`, "/Applications/Visual Studio Code.app/Contents/MacOS/Electron", "/usr/bin/code", "editor"},
		{"Terminal", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "/System/Applications/Utilities/Terminal.app/Contents/MacOS/Terminal", "/usr/bin/gnome-terminal", "terminal"},
		{"Zoom", `C:\Users\Public\AppData\Roaming\Zoom\bin\Zoom.exe`, "/Applications/zoom.us.app/Contents/MacOS/zoom.us", "/usr/bin/zoom", "meeting"},
		{"KeePassXC", `C:\Program Files\KeePassXC\KeePassXC.exe`, "/Applications/KeePassXC.app/Contents/MacOS/KeePassXC", "/usr/bin/keepassxc", "utility"},
	}
	mimeTypes = map[string]string{
		"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
		"pdf":  "application/pdf", "csv": "text/csv", "zip": "application/zip", "txt": "text/plain",
		"png": "image/png", "sql": "application/sql", "pst": "application/vnd.ms-outlook",
		"key": "application/vnd.apple.keynote", "json": "application/json", "py": "text/x-python", "go": "text/x-go",
	}
	sensorNames = []string{"clipboard", "screen", "print", "removable", "file", "network", "terminal", "email"}
	sensorErrs  = []string{
		"X11 connection lost", "fanotify: permission denied", "cups: connection refused",
		"ETW session stopped", "inotify watch limit reached", "endpoint security client: not entitled",
	}
)

// fill adds the field sets of e's action.
func (g *Generator) fill(e *event.Event, u *user, h *host) {
	switch e.Event.Action {
	case event.ActionLogon, event.ActionLogoff:
		g.session(e, u, h)
	case event.ActionScreenLock, event.ActionScreenUnlock:
		e.Event.Module = "session"
		e.Session = &event.Session{ID: strconv.Itoa(int(h.seq % 97)), Type: "console"}
	case event.ActionDeviceConnected, event.ActionDeviceDisconnected:
		g.device(e, u)
	case event.ActionVolumeMounted, event.ActionVolumeUnmounted:
		g.volume(e, u, h)
	case event.ActionFileCreated, event.ActionFileModified, event.ActionFileDeleted, event.ActionFileRenamed:
		g.fileActivity(e, u, h)
	case event.ActionFileCopiedToRemovable:
		g.removableCopy(e, u, h)
	case event.ActionFileCopiedToCloudSync:
		g.cloudSyncCopy(e, u, h)
	case event.ActionConnectionOpened:
		g.connection(e, h)
	case event.ActionWebVisit, event.ActionWebDownload, event.ActionWebUpload:
		g.web(e, u, h)
	case event.ActionEmailSent:
		g.email(e, u, h)
	case event.ActionPrintJob:
		g.print(e, h)
	case event.ActionClipboardCopy, event.ActionClipboardCut, event.ActionClipboardPaste:
		g.clipboard(e, u, h)
	case event.ActionProcessStarted, event.ActionProcessEnded:
		g.processActivity(e, u, h)
	case event.ActionWindowFocused:
		g.window(e, h)
	case event.ActionCommandExecuted:
		g.command(e, u, h)
	case event.ActionAgentStarted, event.ActionAgentStopped, event.ActionSensorFailed,
		event.ActionEventsDropped, event.ActionPolicyActivated:
		g.agent(e, h)
	}
}

func (g *Generator) session(e *event.Event, u *user, h *host) {
	e.Event.Module = "session"
	s := &event.Session{ID: strconv.Itoa(int(h.seq % 97)), Type: "console"}
	if g.chance(0.15) {
		s.Type = g.pick([]string{"ssh", "rdp"})
		s.RemoteAddress = "10." + strconv.Itoa(g.rng.IntN(256)) + "." + strconv.Itoa(g.rng.IntN(256)) + "." + strconv.Itoa(1+g.rng.IntN(254))
		if s.Type == "ssh" {
			s.TTY = "pts/" + strconv.Itoa(g.rng.IntN(12))
		}
	}
	e.Session = s
	if e.Event.Action == event.ActionLogon && g.chance(0.06) {
		e.Event.Outcome = "failure"
		e.Message = "authentication failure for " + u.name
	}
}

func (g *Generator) stick(u *user) usbStick {
	if u.usb != nil && g.chance(0.8) {
		return *u.usb
	}
	m := usbModels[g.rng.IntN(len(usbModels))]
	m.serial = strings.ToUpper(g.hexString(8 + 2*g.rng.IntN(7)))
	m.label = g.pick(usbLabels)
	return m
}

func (g *Generator) device(e *event.Event, u *user) {
	e.Event.Module = "removable"
	if g.chance(0.2) {
		// Not storage: a phone, which can still carry files off.
		e.Device = &event.Device{
			ID: "usb-" + g.hexString(6), BusType: "usb", Class: "phone",
			VendorID: "05ac", ProductID: "12a8", VendorName: "Apple Inc.", ProductName: "iPhone",
			SerialNumber: g.hexString(24),
		}
		return
	}
	s := g.stick(u)
	e.Device = &event.Device{
		ID: "usb-" + s.vendorID + ":" + s.productID + "-" + strings.ToLower(s.serial), BusType: "usb", Class: "mass_storage",
		VendorID: s.vendorID, ProductID: s.productID, VendorName: s.vendor, ProductName: s.product,
		SerialNumber: s.serial, Removable: true, Size: s.size,
	}
}

func (g *Generator) mountPoint(u *user, h *host, label string) string {
	switch h.osFamily {
	case "windows":
		return string(rune('D'+g.rng.IntN(4))) + `:\`
	case "macos":
		return "/Volumes/" + label
	}
	return "/media/" + u.name + "/" + label
}

func (g *Generator) volumeOf(u *user, h *host) *event.Volume {
	s := g.stick(u)
	return &event.Volume{
		Removable: true, BusType: "usb", MountPoint: g.mountPoint(u, h, s.label),
		DeviceName: "/dev/sd" + string(rune('b'+g.rng.IntN(3))) + "1", Label: s.label,
		VendorName: s.vendor, ProductName: s.product, SerialNumber: s.serial,
		FileSystemType: s.fs, Size: s.size,
	}
}

func (g *Generator) volume(e *event.Event, u *user, h *host) {
	e.Event.Module = "removable"
	e.Volume = g.volumeOf(u, h)
	if h.osFamily == "windows" {
		e.Volume.DeviceName = `\\?\Volume{` + g.hexString(8) + "-" + g.hexString(4) + "}"
	}
}

// home returns the user's home directory on h.
func home(u *user, h *host) string {
	switch h.osFamily {
	case "windows":
		return `C:\Users\` + u.name
	case "macos":
		return "/Users/" + u.name
	}
	return "/home/" + u.name
}

func join(h *host, parts ...string) string {
	sep := "/"
	if h.osFamily == "windows" {
		sep = `\`
		for i := range parts {
			parts[i] = strings.ReplaceAll(parts[i], "/", `\`)
		}
	}
	return strings.Join(parts, sep)
}

func (g *Generator) docName() string {
	return g.pick(docStems) + g.pick(docSuffixes) + "." + g.pick(docExts)
}

func (g *Generator) fileSize() int64 {
	return g.logNormal(90_000, 1.8, 0, 20<<30)
}

func (g *Generator) fileHash() *event.Hash {
	return &event.Hash{SHA256: g.hexString(64)}
}

func (g *Generator) proc(h *host, app int) *event.Process {
	a := apps[app]
	exe := a.linuxBin
	switch h.osFamily {
	case "windows":
		exe = a.winExe
	case "macos":
		exe = a.macApp
	}
	h.pid += int64(1 + g.rng.IntN(40))
	name := exe[max(strings.LastIndexAny(exe, `/\`)+1, 0):]
	return &event.Process{PID: h.pid, Name: name, Executable: exe, CommandLine: quoteArg(exe)}
}

func quoteArg(s string) string {
	if strings.ContainsAny(s, " '\"") {
		return `"` + s + `"`
	}
	return s
}

func (g *Generator) fileActivity(e *event.Event, u *user, h *host) {
	e.Event.Module = "file"
	path := join(h, home(u, h), g.pick(docFolders), g.docName())
	e.File = &event.File{Path: path}
	if e.Event.Action != event.ActionFileDeleted {
		e.File.Size = g.fileSize()
		if g.chance(0.5) {
			e.File.Hash = g.fileHash()
		}
	}
	if e.Event.Action == event.ActionFileRenamed {
		e.File.SourcePath = join(h, home(u, h), "Downloads", g.docName())
	}
	e.Process = g.proc(h, g.rng.IntN(len(apps)))
}

func (g *Generator) removableCopy(e *event.Event, u *user, h *host) {
	e.Event.Module = "removable"
	e.Volume = g.volumeOf(u, h)
	name := g.docName()
	src := join(h, home(u, h), g.pick(docFolders), name)
	var dst string
	if h.osFamily == "windows" {
		dst = e.Volume.MountPoint + name
	} else {
		dst = e.Volume.MountPoint + "/" + name
	}
	e.File = &event.File{Path: dst, SourcePath: src, Size: g.fileSize(), Hash: g.fileHash()}
	switch h.osFamily {
	case "windows":
		e.Process = &event.Process{PID: h.pid, Name: "explorer.exe", Executable: `C:\Windows\explorer.exe`}
	case "macos":
		e.Process = &event.Process{PID: h.pid, Name: "Finder", Executable: "/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder"}
	default:
		e.Process = &event.Process{PID: h.pid, Name: "cp", Executable: "/usr/bin/cp", CommandLine: "cp " + quoteArg(src) + " " + quoteArg(dst)}
	}
}

func (g *Generator) cloudSyncCopy(e *event.Event, u *user, h *host) {
	e.Event.Module = "file"
	c := cloudSync[g.rng.IntN(len(cloudSync))]
	folder := c.folderUnix
	if h.osFamily == "windows" {
		folder = c.folderWin
	}
	name := g.docName()
	e.File = &event.File{
		Path:       join(h, home(u, h), folder, name),
		SourcePath: join(h, home(u, h), g.pick(docFolders), name),
		Size:       g.fileSize(), Hash: g.fileHash(),
	}
	e.Destination = &event.Destination{CloudProvider: c.provider, Category: "cloud-storage"}
	e.Process = g.proc(h, 0)
}

func (g *Generator) connection(e *event.Event, h *host) {
	e.Event.Module = "network"
	site := webSites[g.rng.IntN(len(webSites))]
	port, proto := int64(443), "https"
	switch r := g.rng.Float64(); {
	case r < 0.08:
		port, proto = 22, "ssh"
	case r < 0.12:
		port, proto = 445, "smb"
	case r < 0.15:
		port, proto = 3389, "rdp"
	}
	e.Source = &event.Endpoint{IP: h.ip, Port: int64(49152 + g.rng.IntN(16384))}
	e.Destination = &event.Destination{
		IP:     "203.0." + strconv.Itoa(113+g.rng.IntN(2)) + "." + strconv.Itoa(1+g.rng.IntN(254)),
		Port:   port,
		Domain: site.domain,
		Bytes:  g.logNormal(20_000, 2, 0, 50<<30),
	}
	e.Network = &event.Network{Transport: "tcp", Protocol: proto, Direction: "egress"}
	e.Process = g.proc(h, g.rng.IntN(len(apps)))
}

func (g *Generator) web(e *event.Event, u *user, h *host) {
	e.Event.Module = "web"
	e.Process = g.proc(h, g.rng.IntN(2))
	switch e.Event.Action {
	case event.ActionWebUpload:
		s := uploadSites[g.rng.IntN(len(uploadSites))]
		full := "https://" + s.domain + s.path
		if g.chance(0.5) {
			full += "?upload_id=" + g.hexString(20)
		}
		e.URL = &event.URL{Full: full, Category: s.category}
		e.Destination = &event.Destination{Domain: s.domain, Port: 443, CloudProvider: s.provider, Category: s.category, Bytes: g.fileSize()}
		e.File = &event.File{Path: join(h, home(u, h), g.pick(docFolders), g.docName()), Size: e.Destination.Bytes, Hash: g.fileHash()}
	case event.ActionWebDownload:
		s := webSites[g.rng.IntN(len(webSites))]
		name := g.docName()
		e.URL = &event.URL{Full: "https://" + s.domain + "/download/" + g.hexString(12) + "/" + strings.ReplaceAll(name, " ", "%20"), Category: s.category}
		e.Destination = &event.Destination{Domain: s.domain, Port: 443, CloudProvider: s.provider, Category: s.category}
		e.File = &event.File{Path: join(h, home(u, h), "Downloads", name), Size: g.fileSize()}
	default:
		var domain, category, provider string
		if g.chance(0.35) {
			domain, category = g.pick(corpSites), "business"
		} else {
			s := webSites[g.rng.IntN(len(webSites))]
			domain, category, provider = s.domain, s.category, s.provider
		}
		var path string
		switch category {
		case "webmail":
			path = "/mail/u/0/#inbox"
		case "search":
			path = "/search?q=" + strings.ReplaceAll(g.pick(docStems), "-", "+")
		case "business":
			path = g.pick([]string{"/", "/browse/PROJ-" + strconv.Itoa(g.rng.IntN(9000)), "/display/ENG/" + g.pick(docStems)})
		default:
			path = g.pick([]string{"/", "/" + g.hexString(10), "/questions/" + strconv.Itoa(g.rng.IntN(80_000_000))})
		}
		full := "https://" + domain + path
		e.URL = &event.URL{Full: full, Category: category}
		e.Destination = &event.Destination{Domain: domain, Port: 443, CloudProvider: provider, Category: category}
	}
	e.URL.Original = e.URL.Full
}

func (g *Generator) recipients(n int) (list []string, external int64) {
	for range n {
		var addr string
		switch r := g.rng.Float64(); {
		case r < 0.6:
			addr = strings.ToLower(asciiFold(g.pick(firstNames)+"."+g.pick(lastNames))) + "@" + corpDomain
		case r < 0.85:
			addr = strings.ToLower(asciiFold(g.pick(firstNames))) + "@" + g.pick(externalDomains)
			external++
		default:
			addr = strings.ToLower(asciiFold(g.pick(firstNames)+g.pick(lastNames))) + strconv.Itoa(g.rng.IntN(100)) + "@" + g.pick(personalDomains)
			external++
		}
		list = append(list, addr)
	}
	return list, external
}

func (g *Generator) email(e *event.Event, u *user, h *host) {
	e.Event.Module = "email"
	nTo := 1 + g.rng.IntN(3)
	if g.chance(0.05) {
		nTo = 20 + g.rng.IntN(40) // a distribution list
	}
	to, ext := g.recipients(nTo)
	m := &event.Email{
		From: u.email, To: to, Subject: g.pick(emailSubjects),
		MessageID: "<" + g.hexString(24) + "@" + corpDomain + ">",
		Client:    g.pick([]string{"outlook", "outlook", "thunderbird", "apple-mail", "gmail-web"}),
	}
	if g.chance(0.08) {
		// Mail to oneself at a personal address: a classic exfiltration path.
		addr := strings.ToLower(asciiFold(strings.ReplaceAll(u.fullName, " ", "."))) + "@" + g.pick(personalDomains)
		m.To = []string{addr}
		ext = 1
	}
	if g.chance(0.4) {
		cc, n := g.recipients(1 + g.rng.IntN(6))
		m.CC, ext = cc, ext+n
	}
	if g.chance(0.05) {
		bcc, n := g.recipients(1 + g.rng.IntN(2))
		m.BCC, ext = bcc, ext+n
	}
	m.ExternalRecipients = ext
	m.Size = g.logNormal(8_000, 1, 500, 1<<20)
	if g.chance(0.35) {
		for range 1 + g.rng.IntN(4) {
			size := g.logNormal(250_000, 1.5, 200, 40<<20)
			name := g.docName()
			m.Attachments = append(m.Attachments, event.Attachment{
				Name: name, Size: size, SHA256: g.hexString(64), MimeType: mimeTypes[name[strings.LastIndexByte(name, '.')+1:]],
			})
			m.Size += size
		}
	}
	e.Email = m
	e.Process = g.proc(h, 4)
}

func (g *Generator) print(e *event.Event, h *host) {
	e.Event.Module = "print"
	pages := g.logNormal(3, 1.3, 1, 2000)
	copies := int64(1)
	if g.chance(0.1) {
		copies = int64(2 + g.rng.IntN(9))
	}
	e.Print = &event.Print{
		Printer: g.pick(printers), JobID: strconv.Itoa(1000 + g.rng.IntN(90000)),
		Pages: pages, Copies: copies, DocumentTitle: g.docName(),
		Size: pages * g.logNormal(60_000, 0.8, 2_000, 5<<20), Color: g.chance(0.3),
	}
	e.Process = g.proc(h, 2+g.rng.IntN(2))
	if g.chance(0.02) {
		e.Event.Outcome = "failure"
		e.Message = "printer offline"
	}
}

func (g *Generator) clipboard(e *event.Event, u *user, h *host) {
	e.Event.Module = "clipboard"
	op := map[string]string{
		event.ActionClipboardCopy: "copy", event.ActionClipboardCut: "cut", event.ActionClipboardPaste: "paste",
	}[e.Event.Action]
	mod := "ctrl"
	if h.osFamily == "macos" {
		mod = "cmd"
	}
	c := &event.Clipboard{
		Operation: op, Format: "text",
		ContentLength: g.logNormal(120, 2.2, 1, 5<<20), ContentSHA256: g.hexString(64),
		SourceApp: apps[g.rng.IntN(len(apps))].name,
	}
	switch r := g.rng.Float64(); {
	case r < 0.1:
		c.Format = "image"
		c.ContentLength = g.logNormal(400_000, 1, 10_000, 50<<20)
	case r < 0.18:
		c.Format = "files"
		for range 1 + g.rng.IntN(5) {
			c.Files = append(c.Files, join(h, home(u, h), g.pick(docFolders), g.docName()))
		}
	}
	e.Clipboard = c
	e.Keys = &event.Keys{Combo: mod + "+" + map[string]string{"copy": "c", "cut": "x", "paste": "v"}[op]}
	e.Window = g.windowOf(h)
}

func (g *Generator) processActivity(e *event.Event, u *user, h *host) {
	e.Event.Module = "process"
	a := g.rng.IntN(len(apps))
	p := g.proc(h, a)
	if g.chance(0.3) {
		doc := join(h, home(u, h), g.pick(docFolders), g.docName())
		p.Args = []string{p.Executable, doc}
		p.CommandLine += " " + quoteArg(doc)
	} else {
		p.Args = []string{p.Executable}
	}
	p.WorkingDirectory = home(u, h)
	p.Hash = &event.Hash{SHA256: g.hexString(64)}
	switch h.osFamily {
	case "windows":
		p.Parent = &event.ProcessParent{PID: 4000 + int64(g.rng.IntN(2000)), Name: "explorer.exe", Executable: `C:\Windows\explorer.exe`}
	case "macos":
		p.Parent = &event.ProcessParent{PID: 1, Name: "launchd", Executable: "/sbin/launchd"}
	default:
		p.Parent = &event.ProcessParent{PID: 1500 + int64(g.rng.IntN(500)), Name: "gnome-shell", Executable: "/usr/bin/gnome-shell"}
	}
	if e.Event.Action == event.ActionProcessEnded {
		code := int64(0)
		if g.chance(0.07) {
			code = int64(g.pick2(1, 2, 127, 137, -1073741510))
		}
		p.ExitCode = &code
	}
	e.Process = p
}

func (g *Generator) pick2(values ...int) int { return values[g.rng.IntN(len(values))] }

func (g *Generator) windowOf(h *host) *event.Window {
	a := apps[g.rng.IntN(len(apps))]
	w := &event.Window{App: a.name, Class: a.class, PID: h.pid}
	switch a.class {
	case "browser":
		s := webSites[g.rng.IntN(len(webSites))]
		w.URL = "https://" + s.domain + "/"
		w.Title = s.domain + " - " + a.name
	case "office", "editor":
		w.Title = g.docName() + " - " + a.name
	case "mail":
		w.Title = g.pick(emailSubjects) + " - Message"
	default:
		w.Title = a.name
	}
	return w
}

func (g *Generator) window(e *event.Event, h *host) {
	e.Event.Module = "window"
	e.Window = g.windowOf(h)
}

func (g *Generator) command(e *event.Event, u *user, h *host) {
	e.Event.Module = "terminal"
	line := strings.ReplaceAll(g.pick(commands), "$USER", u.name)
	shell := "bash"
	switch h.osFamily {
	case "windows":
		shell = "pwsh"
	case "macos":
		shell = "zsh"
	}
	code := int64(0)
	if g.chance(0.1) {
		code = int64(g.pick2(1, 2, 127, 130))
	}
	e.Command = &event.Command{Line: line, Cwd: home(u, h), ExitCode: &code, Shell: shell}
	e.Session = &event.Session{ID: strconv.Itoa(int(h.seq % 97)), Type: "console", TTY: "pts/" + strconv.Itoa(g.rng.IntN(8))}
	e.Process = &event.Process{PID: h.pid, Name: shell}
}

func (g *Generator) agent(e *event.Event, h *host) {
	e.Event.Module = "agent"
	a := &event.Agent{ID: h.agentID, Version: "1.4." + strconv.Itoa(g.rng.IntN(4)), Health: "healthy"}
	switch e.Event.Action {
	case event.ActionSensorFailed:
		a.Health = "degraded"
		a.Sensor = g.pick(sensorNames)
		a.Error = g.pick(sensorErrs)
		e.Event.Outcome = "failure"
	case event.ActionEventsDropped:
		a.Health = "degraded"
		a.Dropped = g.logNormal(200, 1.5, 1, 1_000_000)
	case event.ActionPolicyActivated:
		a.BundleName = "vigil-default"
		a.BundleRevision = g.hexString(40)
	}
	e.Agent = a
}
