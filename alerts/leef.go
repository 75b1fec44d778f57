package alerts

import (
	"fmt"
	"strconv"
	"strings"
)

// leefTimeFormat is the devTime layout, declared to the receiver in
// devTimeFormat as the Java pattern yyyy-MM-dd'T'HH:mm:ss.SSSZ.
const (
	leefTimeLayout = "2006-01-02T15:04:05.000-0700"
	leefTimeJava   = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
)

// leefRenderer renders alerts as LEEF 2.0 lines:
//
//	LEEF:2.0|Vigil|Vigil|<version>|<rule id>|<delimiter>|key=value<delimiter>key=value…
type leefRenderer struct{ opts RenderOptions }

func (leefRenderer) Format() Format { return FormatLEEF }

// checkLEEFDelimiter reports whether d can separate LEEF attributes.
func checkLEEFDelimiter(d byte) error {
	switch {
	case d >= 0x80:
		return fmt.Errorf("LEEF delimiter 0x%02x: want an ASCII character", d)
	case d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' || d >= '0' && d <= '9':
		return fmt.Errorf("LEEF delimiter %q: a letter or digit would split values", d)
	case d == '=' || d == '|' || d == '\\' || d == ' ' || d == '\n' || d == '\r' || d == 0:
		return fmt.Errorf("LEEF delimiter %q: want a character other than '=', '|', '\\\\', space and line breaks", d)
	}
	return nil
}

// ParseLEEFDelimiter reads a configured LEEF delimiter: a single ASCII
// character such as "^", or its code in hex as LEEF 2.0 writes it ("x09",
// "0x09").
func ParseLEEFDelimiter(s string) (byte, error) {
	var d byte
	switch {
	case len(s) == 1:
		d = s[0]
	case len(s) >= 2 && (strings.HasPrefix(s, "x") || strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "X") || strings.HasPrefix(s, "0X")):
		h := strings.TrimLeft(strings.TrimPrefix(strings.ToLower(s), "0"), "x")
		n, err := strconv.ParseUint(h, 16, 8)
		if err != nil {
			return 0, fmt.Errorf("LEEF delimiter %q: want one character or its hex code like x09", s)
		}
		d = byte(n)
	default:
		return 0, fmt.Errorf("LEEF delimiter %q: want one character or its hex code like x09", s)
	}
	return d, checkLEEFDelimiter(d)
}

// leefDelimiterField is how the header names the delimiter: the character
// itself when printable, else its hex code.
func leefDelimiterField(d byte) string {
	if d > 0x20 && d < 0x7f {
		return string(d)
	}
	return fmt.Sprintf("x%02X", d)
}

func (r leefRenderer) Append(dst []byte, a *Alert) ([]byte, error) {
	d := r.opts.LEEFDelimiter
	id := "vigil-alert"
	if len(a.RuleIDs) > 0 && a.RuleIDs[0] != "" {
		id = a.RuleIDs[0]
	}
	dst = append(dst, "LEEF:2.0|"...)
	for _, h := range [...]string{vendorName, productName, r.opts.Version, id} {
		dst = appendLEEFHeader(dst, h)
		dst = append(dst, '|')
	}
	dst = append(dst, leefDelimiterField(d)...)
	dst = append(dst, '|')

	attr := leefAttrs{b: dst, d: d}
	attr.add("devTime", a.Time.UTC().Format(leefTimeLayout))
	attr.add("devTimeFormat", leefTimeJava)
	attr.add("cat", a.Action)
	attr.add("sev", strconv.Itoa(max(cefSeverity(a), 1)))
	attr.add("usrName", a.User)
	attr.add("identHostName", a.Host)
	if ip := eventHostIP(a); validIP(ip) {
		attr.add("src", ip)
	}
	domain, ip := eventDestination(a)
	if validIP(ip) {
		attr.add("dst", ip)
	}
	attr.add("url", eventURL(a))
	attr.add("policy", bundleRef(a))
	attr.add("alertId", a.ID)
	attr.add("decisionId", a.DecisionID)
	attr.add("eventId", a.EventID)
	attr.add("title", a.Title)
	attr.add("ruleIds", joinComma(a.RuleIDs))
	attr.add("tags", joinComma(a.Tags))
	attr.add("riskScore", formatScore(a.RiskScore))
	attr.add("status", a.Status)
	attr.add("reason", truncateRunes(strings.Join(a.Reasons, "; "), cefStringMax))
	fname, fpath, fsize := eventFile(a)
	attr.add("fileName", fname)
	attr.add("filePath", fpath)
	if fsize > 0 {
		attr.add("fileSize", strconv.FormatInt(fsize, 10))
	}
	attr.add("dstDomain", domain)
	attr.add("process", eventProcess(a))
	return attr.b, nil
}

// leefAttrs appends key=value attributes separated by the delimiter,
// skipping empty values.
type leefAttrs struct {
	b     []byte
	d     byte
	other bool
}

func (l *leefAttrs) add(key, value string) {
	if value == "" {
		return
	}
	if l.other {
		l.b = append(l.b, l.d)
	}
	l.other = true
	l.b = append(l.b, key...)
	l.b = append(l.b, '=')
	l.b = appendLEEFValue(l.b, truncateRunes(value, cefStringMax), l.d)
}

// appendLEEFHeader appends s cleaned for a LEEF header field: LEEF has no
// escape for the pipe that separates header fields, so pipes, line breaks
// and other control characters become spaces; invalid UTF-8 becomes U+FFFD.
func appendLEEFHeader(dst []byte, s string) []byte {
	for _, c := range validUTF8(s) {
		if c == '|' || c < 0x20 || c == 0x7f {
			c = ' '
		}
		dst = appendRune(dst, c)
	}
	return dst
}

// appendLEEFValue appends s cleaned for a LEEF attribute value: LEEF has
// no escape for the delimiter, so the delimiter, line breaks and other
// control characters become spaces; invalid UTF-8 becomes U+FFFD. Equals
// signs stay: a value runs from the first '=' after its key.
func appendLEEFValue(dst []byte, s string, d byte) []byte {
	for _, c := range validUTF8(s) {
		if c == rune(d) || c < 0x20 || c == 0x7f {
			c = ' '
		}
		dst = appendRune(dst, c)
	}
	return dst
}
