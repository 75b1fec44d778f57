package cert

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/vigil-itm/vigil/event"
)

// Reasons a row is skipped, the keys of Stats.Skipped.
const (
	reasonBadDate      = "bad date"
	reasonColumnCount  = "wrong column count"
	reasonUnknown      = "unknown activity"
	reasonUnmapped     = "unmapped activity"
	reasonMissingField = "missing field"
	reasonBadValue     = "bad value"
	reasonBadQuoting   = "bad quoting"
	reasonTooLong      = "row too long"
	reasonOutOfOrder   = "out of order"
	reasonInvalid      = "invalid event"
)

// labelContentLength is the label holding the length of a row's content
// column, in bytes; the content itself is never kept.
const labelContentLength = "cert_content_length"

// kind is one of the dataset's activity files.
type kind int

const (
	kindLogon kind = iota
	kindDevice
	kindFile
	kindEmail
	kindHTTP
	numKinds
)

// kinds describes the activity files, in the order that breaks ties
// between events of the same second.
var kinds = [numKinds]struct {
	name, file string
	required   []string
}{
	kindLogon:  {"logon", "logon.csv", []string{"date", "user", "pc", "activity"}},
	kindDevice: {"device", "device.csv", []string{"date", "user", "pc", "activity"}},
	kindFile:   {"file", "file.csv", []string{"date", "user", "pc", "filename"}},
	kindEmail:  {"email", "email.csv", []string{"date", "user", "pc"}},
	kindHTTP:   {"http", "http.csv", []string{"date", "user", "pc", "url"}},
}

// columns maps header names (lower case) to their positions.
type columns map[string]int

// headerIndex reads the current record as a header.
func headerIndex(r *csvReader) columns {
	cols := columns{}
	for i := range r.nfields {
		name := strings.ToLower(strings.TrimSpace(string(r.field(i))))
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff")
		}
		if _, dup := cols[name]; !dup && name != "" {
			cols[name] = i
		}
	}
	return cols
}

// get returns the position of the named column, or -1.
func (c columns) get(name string) int {
	if i, ok := c[name]; ok {
		return i
	}
	return -1
}

// layout holds the positions of the columns a file has, -1 for those it
// lacks; width is the header's column count.
type layout struct {
	width                                int
	id, date, user, pc, activity         int
	filename, content                    int
	toRemovable, fromRemovable           int
	to, cc, bcc, from, size, attachments int
	url                                  int
}

func newLayout(c columns, width int) layout {
	return layout{
		width: width,
		id:    c.get("id"), date: c.get("date"), user: c.get("user"), pc: c.get("pc"),
		activity: c.get("activity"), filename: c.get("filename"), content: c.get("content"),
		toRemovable: c.get("to_removable_media"), fromRemovable: c.get("from_removable_media"),
		to: c.get("to"), cc: c.get("cc"), bcc: c.get("bcc"), from: c.get("from"),
		size: c.get("size"), attachments: c.get("attachments"), url: c.get("url"),
	}
}

// recordProblem names what makes the current record unusable, or "".
func recordProblem(r *csvReader, width int) string {
	switch {
	case r.badQuote:
		return reasonBadQuoting
	case r.tooLong:
		return reasonTooLong
	case r.nfields != width:
		return reasonColumnCount
	}
	return ""
}

// mapper turns the rows of one activity file into events.
type mapper struct {
	kind     kind
	col      layout
	cfg      *config
	dir      *directory
	r        *csvReader
	row      int64             // data rows read
	skipped  map[string]int64  // reason → rows
	strs     map[string]string // interned user and host names
	sessions map[string]string // user and pc → id of the open logon session
	idBuf    []byte
}

func newMapper(k kind, col layout, cfg *config, dir *directory, r *csvReader) *mapper {
	if col.content >= 0 {
		r.countCol = col.content
	}
	m := &mapper{
		kind: k, col: col, cfg: cfg, dir: dir, r: r,
		skipped: map[string]int64{},
		strs:    map[string]string{},
	}
	if k == kindLogon {
		m.sessions = map[string]string{}
	}
	return m
}

// next returns the next usable row's event, skipping and counting the
// rest; it returns nil at the end of the file or when reading fails (then
// m.r.err is set).
func (m *mapper) next() *event.Event {
	for m.r.next() {
		m.row++
		e, reason := m.event()
		if reason == "" {
			return e
		}
		m.skipped[reason]++
	}
	return nil
}

// field returns field i of the current row without surrounding space.
func (m *mapper) field(i int) []byte {
	return bytes.TrimSpace(m.r.field(i))
}

// str returns field i as a string.
func (m *mapper) str(i int) string {
	return string(m.field(i))
}

// intern returns b as a string, shared with earlier equal ones.
func (m *mapper) intern(b []byte) string {
	if s, ok := m.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(m.strs) < 1<<16 {
		m.strs[s] = s
	}
	return s
}

// is reports whether the activity field is act, ignoring case.
func is(field []byte, act string) bool {
	return bytes.EqualFold(field, []byte(act))
}

// event maps the current row, or says why it cannot.
func (m *mapper) event() (*event.Event, string) {
	if reason := recordProblem(m.r, m.col.width); reason != "" {
		return nil, reason
	}
	ts, ok := parseDate(m.field(m.col.date), m.cfg.loc)
	if !ok {
		return nil, reasonBadDate
	}
	userField, pcField := m.field(m.col.user), m.field(m.col.pc)
	if len(userField) == 0 || len(pcField) == 0 {
		return nil, reasonMissingField
	}
	e := &event.Event{
		Timestamp: ts,
		Event:     event.Meta{ID: m.eventID(), Module: "cert", Outcome: "success"},
	}
	name, pc := splitUser(m.intern(userField)), m.intern(pcField)
	var reason string
	switch m.kind {
	case kindLogon:
		reason = m.logon(e, name, pc)
	case kindDevice:
		reason = m.device(e)
	case kindFile:
		reason = m.file(e)
	case kindEmail:
		reason = m.email(e)
	case kindHTTP:
		reason = m.http(e)
	}
	if reason != "" {
		return nil, reason
	}
	if m.col.content >= 0 {
		e.Labels = map[string]string{labelContentLength: strconv.FormatInt(m.r.countLen, 10)}
	}
	e.Host = &event.Host{Name: pc, Timezone: m.cfg.tz}
	e.User = &event.User{ID: name, Name: name, Domain: m.cfg.domain}
	m.dir.lookup(e.User, name, ts)
	e.Normalize()
	if e.URL != nil && e.URL.Domain != "" {
		m.destination(e)
	}
	if e.Validate() != nil {
		return nil, reasonInvalid
	}
	return e, ""
}

// eventID is "cert-<file>-<row id>", or "cert-<file>-row-<n>" for a row
// without an id.
func (m *mapper) eventID() string {
	m.idBuf = append(m.idBuf[:0], "cert-"...)
	m.idBuf = append(m.idBuf, kinds[m.kind].name...)
	m.idBuf = append(m.idBuf, '-')
	if id := cleanID(m.field(m.col.id)); len(id) > 0 {
		m.idBuf = appendID(m.idBuf, id)
	} else {
		m.idBuf = append(m.idBuf, "row-"...)
		m.idBuf = strconv.AppendInt(m.idBuf, m.row, 10)
	}
	return string(m.idBuf)
}

func (m *mapper) logon(e *event.Event, user, pc string) string {
	act := m.field(m.col.activity)
	key := user + "\x00" + pc
	switch {
	case is(act, "Logon"):
		e.Event.Action = event.ActionLogon
		id := strings.TrimPrefix(e.Event.ID, "cert-logon-")
		m.sessions[key] = id
		e.Session = &event.Session{ID: id}
	case is(act, "Logoff"):
		e.Event.Action = event.ActionLogoff
		if id, ok := m.sessions[key]; ok {
			delete(m.sessions, key)
			e.Session = &event.Session{ID: id}
		}
	default:
		return reasonUnknown
	}
	return ""
}

func (m *mapper) device(e *event.Event) string {
	act := m.field(m.col.activity)
	switch {
	case is(act, "Connect"):
		e.Event.Action = event.ActionDeviceConnected
	case is(act, "Disconnect"):
		e.Event.Action = event.ActionDeviceDisconnected
	default:
		return reasonUnknown
	}
	e.Device = &event.Device{Removable: true, BusType: "usb"}
	return ""
}

func (m *mapper) file(e *event.Event) string {
	toRemovable, fromRemovable := false, false
	if m.col.activity < 0 {
		// The old layout documents file.csv as copies to removable media.
		e.Event.Action = event.ActionFileCopiedToRemovable
	}
	if m.col.toRemovable >= 0 {
		v, ok := parseBool(m.field(m.col.toRemovable))
		if !ok {
			return reasonBadValue
		}
		toRemovable = v
		if m.col.activity < 0 && !v {
			e.Event.Action = event.ActionFileCreated
		}
	} else if m.col.activity < 0 {
		toRemovable = true
	}
	if m.col.fromRemovable >= 0 {
		v, ok := parseBool(m.field(m.col.fromRemovable))
		if !ok {
			return reasonBadValue
		}
		fromRemovable = v
	}
	if m.col.activity >= 0 {
		act := m.field(m.col.activity)
		switch {
		case is(act, "File Open"):
			return reasonUnmapped
		case is(act, "File Delete"):
			e.Event.Action = event.ActionFileDeleted
		case is(act, "File Write"):
			e.Event.Action = event.ActionFileModified
		case is(act, "File Copy"):
			e.Event.Action = event.ActionFileCreated
		default:
			return reasonUnknown
		}
		if toRemovable && e.Event.Action != event.ActionFileDeleted {
			e.Event.Action = event.ActionFileCopiedToRemovable
		}
	}
	path := m.str(m.col.filename)
	if path == "" {
		return reasonMissingField
	}
	e.File = &event.File{Path: path}
	if fromRemovable {
		e.File.SourcePath = path
	}
	if toRemovable || fromRemovable {
		e.Volume = &event.Volume{Removable: true, BusType: "usb"}
	}
	return ""
}

func (m *mapper) email(e *event.Event) string {
	if m.col.activity >= 0 {
		act := m.field(m.col.activity)
		switch {
		case is(act, "Send"):
		case is(act, "View"):
			return reasonUnmapped
		default:
			return reasonUnknown
		}
	}
	e.Event.Action = event.ActionEmailSent
	size, ok := parseSize(m.field(m.col.size))
	if !ok {
		return reasonBadValue
	}
	atts, ok := parseAttachments(string(m.r.field(m.col.attachments)))
	if !ok {
		return reasonBadValue
	}
	to, cc, bcc := splitAddrs(m.str(m.col.to)), splitAddrs(m.str(m.col.cc)), splitAddrs(m.str(m.col.bcc))
	e.Email = &event.Email{
		From:               m.str(m.col.from),
		To:                 to,
		CC:                 cc,
		BCC:                bcc,
		Size:               size,
		Attachments:        atts,
		ExternalRecipients: externalCount(m.cfg.internal, to, cc, bcc),
	}
	return ""
}

func (m *mapper) http(e *event.Event) string {
	e.Event.Action = event.ActionWebVisit
	if m.col.activity >= 0 {
		act := m.field(m.col.activity)
		switch {
		case is(act, "WWW Visit"):
		case is(act, "WWW Download"):
			e.Event.Action = event.ActionWebDownload
		case is(act, "WWW Upload"):
			e.Event.Action = event.ActionWebUpload
		default:
			return reasonUnknown
		}
	}
	raw := m.str(m.col.url)
	if raw == "" {
		return reasonMissingField
	}
	full := raw
	if !strings.Contains(raw, "://") {
		full = "http://" + raw
	}
	e.URL = &event.URL{Original: raw, Full: full}
	return ""
}

// destination fills destination from the URL Normalize parsed; uploads to
// a known cloud-storage domain name the provider.
func (m *mapper) destination(e *event.Event) {
	e.Destination = &event.Destination{Domain: e.URL.Domain}
	if e.Event.Action != event.ActionWebUpload {
		return
	}
	if p := cloudProvider(e.URL.Domain); p != "" {
		e.Destination.CloudProvider = p
		e.Destination.Category = "cloud-storage"
		e.URL.Category = "cloud-storage"
	}
}
