package cert

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// parseDate parses the dataset's "MM/DD/YYYY HH:MM:SS" in loc. It accepts
// what time.ParseInLocation accepts for the layout "1/2/2006 15:04:05"
// (one or two digits for month, day and hour; spaces between date and
// time) plus an optional fraction of a second of up to nine digits, and
// rejects impossible dates such as 02/30.
func parseDate(b []byte, loc *time.Location) (time.Time, bool) {
	month, b, ok := num12(b)
	if !ok || len(b) == 0 || b[0] != '/' {
		return time.Time{}, false
	}
	day, b, ok := num12(b[1:])
	if !ok || len(b) < 5 || b[0] != '/' {
		return time.Time{}, false
	}
	year, ok := fixed(b[1:5])
	if !ok {
		return time.Time{}, false
	}
	b = b[5:]
	if len(b) == 0 || b[0] != ' ' {
		return time.Time{}, false
	}
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	hour, b, ok := num12(b)
	if !ok || len(b) < 6 || b[0] != ':' || b[3] != ':' {
		return time.Time{}, false
	}
	minute, ok1 := fixed(b[1:3])
	sec, ok2 := fixed(b[4:6])
	if !ok1 || !ok2 {
		return time.Time{}, false
	}
	b = b[6:]
	nsec := 0
	if len(b) > 0 {
		if b[0] != '.' && b[0] != ',' || len(b) < 2 || len(b) > 10 {
			return time.Time{}, false
		}
		frac, ok := fixed(b[1:])
		if !ok {
			return time.Time{}, false
		}
		nsec = frac
		for range 10 - len(b) {
			nsec *= 10
		}
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), true
}

// num12 reads a number of one or two digits, taking two when there are.
func num12(b []byte) (n int, rest []byte, ok bool) {
	if len(b) == 0 || !isDigit(b[0]) {
		return 0, b, false
	}
	if len(b) > 1 && isDigit(b[1]) {
		return int(b[0]-'0')*10 + int(b[1]-'0'), b[2:], true
	}
	return int(b[0] - '0'), b[1:], true
}

// fixed reads b, all digits.
func fixed(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - int((m-1)%7%2)
}

// parseBool reads the dataset's "True"/"False"; an empty field is false.
func parseBool(b []byte) (value, ok bool) {
	switch {
	case len(b) == 0, bytes.EqualFold(b, []byte("false")), string(b) == "0":
		return false, true
	case bytes.EqualFold(b, []byte("true")), string(b) == "1":
		return true, true
	}
	return false, false
}

// parseSize reads a non-negative byte count; an empty field is 0.
func parseSize(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil && n >= 0
}

// maxAttachments bounds the attachments of one message.
const maxAttachments = 10000

// parseAttachments reads the attachments column. Older releases hold a
// count; later ones a ';'-separated list whose entries are a file name or
// path, optionally followed by "(size)". Names are reduced to the file
// name. A count gives that many attachments without names.
func parseAttachments(s string) ([]event.Attachment, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	if n, ok := fixed([]byte(s)); ok && len(s) <= 9 {
		if n > maxAttachments {
			return nil, false
		}
		if n == 0 {
			return nil, true
		}
		return make([]event.Attachment, n), true
	}
	var out []event.Attachment
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if len(out) == maxAttachments {
			return nil, false
		}
		name, size := part, int64(0)
		if open := strings.LastIndexByte(part, '('); open >= 0 && strings.HasSuffix(part, ")") {
			if n, err := strconv.ParseInt(part[open+1:len(part)-1], 10, 64); err == nil && n >= 0 {
				name, size = strings.TrimSpace(part[:open]), n
			}
		}
		if i := strings.LastIndexAny(name, `\/`); i >= 0 {
			name = name[i+1:]
		}
		out = append(out, event.Attachment{Name: name, Size: size})
	}
	return out, true
}

// splitAddrs splits a ';'-separated list of addresses.
func splitAddrs(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for a := range strings.SplitSeq(s, ";") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// isInternal reports whether the address's domain is one of the internal
// domains or below one. An address without a domain is internal.
func isInternal(addr string, internal []string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return true
	}
	return domainIn(strings.ToLower(strings.TrimRight(addr[at+1:], ">. ")), internal)
}

// domainIn reports whether host is one of domains or a subdomain of one;
// domains are lower case.
func domainIn(host string, domains []string) bool {
	for _, d := range domains {
		if host == d || len(host) > len(d) && host[len(host)-len(d)-1] == '.' && strings.HasSuffix(host, d) {
			return true
		}
	}
	return false
}

// externalCount counts the distinct recipients outside the internal domains.
func externalCount(internal []string, lists ...[]string) int64 {
	var seen map[string]bool
	var n int64
	for _, l := range lists {
		for _, a := range l {
			if isInternal(a, internal) {
				continue
			}
			key := strings.ToLower(a)
			if seen[key] {
				continue
			}
			if seen == nil {
				seen = map[string]bool{}
			}
			seen[key] = true
			n++
		}
	}
	return n
}

// cloudProviders maps cloud-storage domains to destination.cloud_provider.
var cloudProviders = []struct{ domain, provider string }{
	{"dropbox.com", "dropbox"},
	{"dropboxusercontent.com", "dropbox"},
	{"drive.google.com", "google-drive"},
	{"docs.google.com", "google-drive"},
	{"drive.usercontent.google.com", "google-drive"},
	{"onedrive.live.com", "onedrive"},
	{"onedrive.com", "onedrive"},
	{"1drv.ms", "onedrive"},
	{"box.com", "box"},
	{"box.net", "box"},
	{"mega.nz", "mega"},
	{"mega.co.nz", "mega"},
	{"mega.io", "mega"},
	{"wetransfer.com", "wetransfer"},
	{"we.tl", "wetransfer"},
}

// cloudProvider names the cloud-storage provider of a host, or "".
func cloudProvider(host string) string {
	for _, c := range cloudProviders {
		if domainIn(host, []string{c.domain}) {
			return c.provider
		}
	}
	return ""
}

// cleanID turns the dataset's row id, such as "{X1D9-S0ES98JV-5357PWMI}",
// into the part of an event id after the prefix: braces and surrounding
// space removed, letters, digits, '-', '_' and '.' kept, anything else '_'.
func cleanID(b []byte) []byte {
	b = bytes.TrimSpace(b)
	b = bytes.TrimPrefix(b, []byte("{"))
	b = bytes.TrimSuffix(b, []byte("}"))
	return bytes.TrimSpace(b)
}

// appendID appends the cleaned id to dst.
func appendID(dst, id []byte) []byte {
	for _, c := range id {
		if isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '_')
		}
	}
	return dst
}

// splitUser splits "DOMAIN/name" or "DOMAIN\name", as early releases write
// users, and returns the name.
func splitUser(s string) string {
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		return s[i+1:]
	}
	return s
}
