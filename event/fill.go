package event

import (
	"net/url"
	"strconv"
	"strings"
)

// Normalize fills the fields that derive from others, where they are absent,
// so that rules can rely on them whichever sensor produced the event:
//
//   - event.kind becomes "event";
//   - event.category, event.type and event.ocsf come from the action table;
//   - file.name, file.extension (lower case, without the dot) and
//     file.directory come from file.path, with Windows separators when the
//     host is Windows or the path looks like a Windows path;
//   - url.scheme, url.domain, url.port, url.path and url.query come from
//     url.full, else url.original;
//   - hex digests (file, process, attachments, clipboard) become lower case;
//   - @timestamp and event.ingested are converted to UTC.
//
// Fields already set are left alone, and Normalize is idempotent. Sensors
// call it before emitting an event and the engine before evaluating one.
func (e *Event) Normalize() {
	if e == nil {
		return
	}
	e.Timestamp = e.Timestamp.UTC()
	m := &e.Event
	if m.Ingested != nil {
		t := m.Ingested.UTC()
		m.Ingested = &t
	}
	if m.Kind == "" {
		m.Kind = "event"
	}
	if i, ok := actionIndex[m.Action]; ok {
		a := &actionTable[i]
		if len(m.Category) == 0 {
			m.Category = append([]string(nil), a.Category...)
		}
		if len(m.Type) == 0 {
			m.Type = append([]string(nil), a.Type...)
		}
		if m.OCSF == nil {
			o := a.OCSF
			m.OCSF = &o
		}
	}
	if f := e.File; f != nil {
		windows := e.Host != nil && e.Host.OS != nil && strings.EqualFold(e.Host.OS.Family, "windows")
		fillFile(f, windows)
		lowerHash(f.Hash)
	}
	if p := e.Process; p != nil {
		lowerHash(p.Hash)
	}
	if em := e.Email; em != nil {
		for i := range em.Attachments {
			em.Attachments[i].SHA256 = lowerHex(em.Attachments[i].SHA256)
		}
	}
	if c := e.Clipboard; c != nil {
		c.ContentSHA256 = lowerHex(c.ContentSHA256)
	}
	if u := e.URL; u != nil {
		fillURL(u)
	}
}

func fillFile(f *File, windows bool) {
	if f.Path == "" {
		return
	}
	dir, name := splitPath(f.Path, windows || looksWindows(f.Path))
	if f.Name == "" {
		f.Name = name
	}
	if f.Directory == "" {
		f.Directory = dir
	}
	if f.Extension == "" {
		f.Extension = extension(f.Name)
	}
}

// looksWindows reports whether p is a Windows path: C:\..., C:/... or a
// UNC path \\server\share.
func looksWindows(p string) bool {
	if strings.HasPrefix(p, `\\`) {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		('a' <= p[0] && p[0] <= 'z' || 'A' <= p[0] && p[0] <= 'Z')
}

// splitPath splits p into its directory and its last element. On Windows
// both separators count. The root directory is kept ("/x" → "/", "x").
func splitPath(p string, windows bool) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if windows {
		i = max(i, strings.LastIndexByte(p, '\\'))
	}
	if i < 0 {
		return "", p
	}
	dir, name = p[:i], p[i+1:]
	switch {
	case dir == "":
		dir = p[:1] // "/" or "\"
	case windows && len(dir) == 2 && dir[1] == ':':
		dir = p[:3] // "C:\"
	}
	return dir, name
}

// extension returns the lower-case extension of a file name without the
// dot; names that start with their only dot (".bashrc") have none.
func extension(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return ""
	}
	return strings.ToLower(name[i+1:])
}

func lowerHash(h *Hash) {
	if h == nil {
		return
	}
	h.SHA256 = lowerHex(h.SHA256)
	h.MD5 = lowerHex(h.MD5)
}

// lowerHex lower-cases s if it is hex; anything else is left for Validate
// to report.
func lowerHex(s string) string {
	if !isHex(s, len(s)) {
		return s
	}
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'F' {
			return strings.ToLower(s)
		}
	}
	return s
}

func fillURL(u *URL) {
	raw := u.Full
	if raw == "" {
		raw = u.Original
	}
	if raw == "" || (u.Scheme != "" && u.Domain != "" && u.Path != "") {
		return
	}
	parsed, err := url.Parse(raw)
	if err != nil || parsed.Host == "" {
		return
	}
	if u.Scheme == "" {
		u.Scheme = strings.ToLower(parsed.Scheme)
	}
	if u.Domain == "" {
		u.Domain = strings.ToLower(parsed.Hostname())
	}
	if u.Port == 0 {
		if p, err := strconv.ParseInt(parsed.Port(), 10, 64); err == nil && p > 0 && p <= 65535 {
			u.Port = p
		}
	}
	if u.Path == "" {
		u.Path = parsed.EscapedPath()
	}
	if u.Query == "" {
		u.Query = parsed.RawQuery
	}
}
