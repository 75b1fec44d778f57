package alerts

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CEF length limits of the ArcSight dictionary for the fields Vigil fills.
const (
	cefMsgMax    = 1023
	cefStringMax = 4000
)

// cefRenderer renders alerts as CEF:0 lines:
//
//	CEF:0|Vigil|Vigil|<version>|<rule id>|<title>|<severity 0-10>|<extension>
type cefRenderer struct{ opts RenderOptions }

func (cefRenderer) Format() Format { return FormatCEF }

func (r cefRenderer) Append(dst []byte, a *Alert) ([]byte, error) {
	sig := "vigil-alert"
	if len(a.RuleIDs) > 0 && a.RuleIDs[0] != "" {
		sig = a.RuleIDs[0]
	}
	name := a.Title
	if name == "" {
		name = sig
	}
	dst = append(dst, "CEF:0|"...)
	for _, h := range [...]string{vendorName, productName, r.opts.Version, sig, name} {
		dst = appendCEFHeader(dst, h)
		dst = append(dst, '|')
	}
	dst = strconv.AppendInt(dst, int64(cefSeverity(a)), 10)
	dst = append(dst, '|')

	ext := cefExt{b: dst}
	ext.add("rt", millis(a.Time))
	ext.add("externalId", a.ID)
	ext.add("act", a.Action)
	ext.add("suser", a.User)
	ext.add("shost", a.Host)
	if ip := eventHostIP(a); validIP(ip) {
		ext.add("src", ip)
	}
	ext.add("msg", truncateRunes(strings.Join(a.Reasons, "; "), cefMsgMax))
	fname, fpath, fsize := eventFile(a)
	ext.add("fname", fname)
	ext.add("filePath", fpath)
	if fsize > 0 {
		ext.add("fsize", strconv.FormatInt(fsize, 10))
	}
	ext.add("request", eventURL(a))
	domain, ip := eventDestination(a)
	ext.add("dhost", domain)
	if validIP(ip) {
		ext.add("dst", ip)
	}
	ext.add("sproc", eventProcess(a))
	ext.label("cs1", "decisionId", a.DecisionID)
	ext.label("cs2", "bundle", bundleRef(a))
	ext.label("cs3", "rules", joinComma(a.RuleIDs))
	ext.label("cs4", "tags", joinComma(a.Tags))
	ext.label("cs5", "eventId", a.EventID)
	ext.label("cs6", "status", a.Status)
	ext.label("cfp1", "riskScore", formatScore(a.RiskScore))
	return ext.b, nil
}

func validIP(s string) bool {
	if s == "" {
		return false
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// cefExt appends extension key=value pairs separated by single spaces,
// skipping empty values.
type cefExt struct {
	b     []byte
	other bool
}

func (e *cefExt) add(key, value string) {
	if value == "" {
		return
	}
	if e.other {
		e.b = append(e.b, ' ')
	}
	e.other = true
	e.b = append(e.b, key...)
	e.b = append(e.b, '=')
	e.b = appendCEFValue(e.b, truncateRunes(value, cefStringMax))
}

// label adds a custom field and its label (cs1Label=… cs1=…).
func (e *cefExt) label(key, label, value string) {
	if value == "" {
		return
	}
	e.add(key+"Label", label)
	e.add(key, value)
}

// appendCEFHeader appends s escaped for a CEF header field: backslash and
// pipe are escaped with a backslash; line breaks and other control
// characters, which a header cannot carry, become spaces; invalid UTF-8
// becomes U+FFFD.
func appendCEFHeader(dst []byte, s string) []byte {
	for _, c := range validUTF8(s) {
		switch {
		case c == '\\' || c == '|':
			dst = append(dst, '\\', byte(c))
		case c < 0x20 || c == 0x7f:
			dst = append(dst, ' ')
		default:
			dst = appendRune(dst, c)
		}
	}
	return dst
}

// appendCEFValue appends s escaped for a CEF extension value: backslash and
// equals sign are escaped with a backslash, line feed and carriage return
// are written \n and \r; other control characters become spaces; invalid
// UTF-8 becomes U+FFFD. Pipes are not escaped in extensions.
func appendCEFValue(dst []byte, s string) []byte {
	for _, c := range validUTF8(s) {
		switch {
		case c == '\\' || c == '=':
			dst = append(dst, '\\', byte(c))
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c < 0x20 || c == 0x7f:
			dst = append(dst, ' ')
		default:
			dst = appendRune(dst, c)
		}
	}
	return dst
}

func appendRune(dst []byte, c rune) []byte {
	if c < 0x80 {
		return append(dst, byte(c))
	}
	return utf8.AppendRune(dst, c)
}
