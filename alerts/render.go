package alerts

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format names a payload format.
type Format string

// The payload formats.
const (
	// FormatCEF is ArcSight Common Event Format, version 0.
	FormatCEF Format = "cef"
	// FormatLEEF is IBM QRadar Log Event Extended Format, version 2.0.
	FormatLEEF Format = "leef"
	// FormatJSON is the Alert's own JSON form, one object per alert.
	FormatJSON Format = "json"
	// FormatOCSF is an OCSF Detection Finding (class 2004), JSON.
	FormatOCSF Format = "ocsf"
)

// Vendor and product names written in CEF and LEEF headers and OCSF
// metadata.
const (
	vendorName  = "Vigil"
	productName = "Vigil"
)

// RenderOptions tune how alerts are rendered.
type RenderOptions struct {
	// Version is the product version written in CEF and LEEF headers and
	// OCSF metadata ("dev" when empty).
	Version string
	// LEEFDelimiter is the LEEF attribute delimiter, one ASCII byte that is
	// not a letter, digit, '=', '|', '\\' or space (default '^').
	LEEFDelimiter byte
}

// Renderer turns an alert into the bytes of one payload. It is safe for
// concurrent use.
type Renderer interface {
	// Append appends the rendered alert to dst, without a trailing newline.
	Append(dst []byte, a *Alert) ([]byte, error)
	// Format is the format rendered.
	Format() Format
}

// NewRenderer returns the renderer of format f.
func NewRenderer(f Format, opts RenderOptions) (Renderer, error) {
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.LEEFDelimiter == 0 {
		opts.LEEFDelimiter = '^'
	}
	switch f {
	case FormatCEF:
		return cefRenderer{opts: opts}, nil
	case FormatLEEF:
		if err := checkLEEFDelimiter(opts.LEEFDelimiter); err != nil {
			return nil, err
		}
		return leefRenderer{opts: opts}, nil
	case FormatJSON:
		return jsonRenderer{}, nil
	case FormatOCSF:
		return ocsfRenderer{opts: opts}, nil
	}
	return nil, fmt.Errorf("unknown format %q: want cef, leef, json or ocsf", f)
}

// cefSeverity maps an alert to CEF's integer severity 0-10: the alert
// severity when known, else the risk score scaled down.
func cefSeverity(a *Alert) int {
	switch severityRank(a.Severity) {
	case 0:
		return 1
	case 1:
		return 3
	case 2:
		return 5
	case 3:
		return 8
	case 4:
		return 10
	}
	s := int(a.RiskScore/10 + 0.5)
	return min(max(s, 0), 10)
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func joinComma(v []string) string { return strings.Join(v, ",") }

// validUTF8 replaces invalid UTF-8 with U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// firstFile, firstURL and friends pick the event fields the line formats
// carry.
func eventFile(a *Alert) (name, path string, size int64) {
	if a.Event == nil || a.Event.File == nil {
		return "", "", 0
	}
	f := a.Event.File
	return f.Name, f.Path, f.Size
}

func eventURL(a *Alert) string {
	if a.Event == nil || a.Event.URL == nil {
		return ""
	}
	if a.Event.URL.Full != "" {
		return a.Event.URL.Full
	}
	return a.Event.URL.Original
}

func eventDestination(a *Alert) (domain, ip string) {
	if a.Event == nil || a.Event.Destination == nil {
		return "", ""
	}
	return a.Event.Destination.Domain, a.Event.Destination.IP
}

func eventProcess(a *Alert) string {
	if a.Event == nil || a.Event.Process == nil {
		return ""
	}
	return a.Event.Process.Name
}

func eventHostIP(a *Alert) string {
	if a.Event == nil || a.Event.Host == nil || len(a.Event.Host.IP) == 0 {
		return ""
	}
	return a.Event.Host.IP[0]
}

func bundleRef(a *Alert) string {
	if a.BundleName == "" && a.BundleRevision == "" {
		return ""
	}
	return a.BundleName + "@" + a.BundleRevision
}

func formatScore(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
