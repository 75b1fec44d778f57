package alertstest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// CEF is one Common Event Format (ArcSight CEF) record, unescaped.
type CEF struct {
	// Version is the format version after "CEF:" ("0").
	Version string
	// The six header fields after the version.
	DeviceVendor, DeviceProduct, DeviceVersion string
	SignatureID, Name, Severity                string
	// Extension holds the key=value pairs; Keys lists the keys in the
	// order they appeared.
	Extension map[string]string
	Keys      []string
}

// ParseCEF parses one CEF line. In the header a backslash escapes a pipe
// or a backslash; in the extension it escapes '=' or a backslash and
// writes line breaks as \n and \r. An extension value runs to the space
// before the next key; a key is letters, digits, '_', '.', '[' and ']'
// after a space. Anything else (an unknown escape, an unescaped '=' that
// does not follow a key, text before the first key) is an error.
func ParseCEF(line string) (CEF, error) {
	rest, ok := strings.CutPrefix(line, "CEF:")
	if !ok {
		return CEF{}, errors.New("cef: no CEF: prefix")
	}
	var fields []string
	var cur strings.Builder
	i := 0
	for len(fields) < 7 {
		if i == len(rest) {
			return CEF{}, fmt.Errorf("cef: header ends after %d of 7 fields", len(fields))
		}
		switch c := rest[i]; c {
		case '\\':
			if i+1 == len(rest) || (rest[i+1] != '\\' && rest[i+1] != '|') {
				return CEF{}, fmt.Errorf("cef: header: bad escape at byte %d", len("CEF:")+i)
			}
			cur.WriteByte(rest[i+1])
			i += 2
		case '|':
			fields = append(fields, cur.String())
			cur.Reset()
			i++
		default:
			cur.WriteByte(c)
			i++
		}
	}
	c := CEF{
		Version: fields[0], DeviceVendor: fields[1], DeviceProduct: fields[2], DeviceVersion: fields[3],
		SignatureID: fields[4], Name: fields[5], Severity: fields[6],
	}
	var err error
	c.Extension, c.Keys, err = parseCEFExtension(rest[i:])
	if err != nil {
		return CEF{}, err
	}
	return c, nil
}

func isCEFKeyByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '.' || b == '[' || b == ']'
}

// parseCEFExtension splits the extension at its keys: every unescaped
// '=' ends a key that starts after a space (or at the start).
func parseCEFExtension(s string) (map[string]string, []string, error) {
	type span struct{ key, eq int }
	var keys []span
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // the escaped byte is checked when the value is unescaped
		case '=':
			k := i
			for k > 0 && isCEFKeyByte(s[k-1]) {
				k--
			}
			if k == i || (k > 0 && s[k-1] != ' ') {
				return nil, nil, fmt.Errorf("cef: extension: unescaped '=' at byte %d does not end a key", i)
			}
			keys = append(keys, span{k, i})
		}
	}
	ext := make(map[string]string, len(keys))
	order := make([]string, 0, len(keys))
	if len(keys) == 0 {
		if strings.TrimSpace(s) != "" {
			return nil, nil, fmt.Errorf("cef: extension %q has no key=value pair", s)
		}
		return ext, order, nil
	}
	if strings.TrimSpace(s[:keys[0].key]) != "" {
		return nil, nil, fmt.Errorf("cef: extension: text %q before the first key", s[:keys[0].key])
	}
	for n, k := range keys {
		end := len(s)
		if n+1 < len(keys) {
			end = keys[n+1].key - 1 // the space before the next key
		}
		if end < k.eq+1 {
			return nil, nil, fmt.Errorf("cef: extension: key %q has no room for a value", s[k.key:k.eq])
		}
		v, err := unescapeCEFExtension(s[k.eq+1 : end])
		if err != nil {
			return nil, nil, fmt.Errorf("cef: extension: value of %q: %w", s[k.key:k.eq], err)
		}
		name := s[k.key:k.eq]
		if _, dup := ext[name]; dup {
			return nil, nil, fmt.Errorf("cef: extension: key %q twice", name)
		}
		ext[name] = v
		order = append(order, name)
	}
	return ext, order, nil
}

func unescapeCEFExtension(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", errors.New("backslash at the end")
		}
		i++
		switch s[i] {
		case '\\', '=':
			b.WriteByte(s[i])
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			return "", fmt.Errorf("unknown escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

// LEEF is one Log Event Extended Format (IBM QRadar) record.
type LEEF struct {
	// Version is "1.0" or "2.0".
	Version string
	// The header fields.
	Vendor, Product, ProductVersion, EventID string
	// Delimiter separates attributes: a tab in LEEF 1.0, the header's
	// delimiter field in LEEF 2.0.
	Delimiter byte
	// Attributes holds the key=value pairs; Keys lists the keys in the
	// order they appeared.
	Attributes map[string]string
	Keys       []string
}

// ParseLEEF parses one LEEF 1.0 or 2.0 line. LEEF has no escapes: header
// fields end at the next pipe, attributes at the next delimiter, and a
// key ends at the first '=' of its attribute. The LEEF 2.0 delimiter
// field is one character or its hex code (x09, 0x09).
func ParseLEEF(line string) (LEEF, error) {
	rest, ok := strings.CutPrefix(line, "LEEF:")
	if !ok {
		return LEEF{}, errors.New("leef: no LEEF: prefix")
	}
	version, rest, ok := strings.Cut(rest, "|")
	if !ok {
		return LEEF{}, errors.New("leef: no header")
	}
	n := 4 // vendor, product, version, event id
	switch version {
	case "1.0":
	case "2.0":
		n = 5 // and the delimiter
	default:
		return LEEF{}, fmt.Errorf("leef: unknown version %q", version)
	}
	parts := strings.SplitN(rest, "|", n+1)
	if len(parts) != n+1 {
		return LEEF{}, fmt.Errorf("leef %s: header ends after %d of %d fields", version, len(parts)-1, n)
	}
	l := LEEF{Version: version, Vendor: parts[0], Product: parts[1], ProductVersion: parts[2], EventID: parts[3], Delimiter: '\t'}
	if version == "2.0" {
		d, err := parseLEEFDelimiter(parts[4])
		if err != nil {
			return LEEF{}, err
		}
		l.Delimiter = d
	}
	l.Attributes = map[string]string{}
	for _, kv := range strings.Split(parts[n], string(l.Delimiter)) {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return LEEF{}, fmt.Errorf("leef: attribute %q is not key=value", kv)
		}
		if _, dup := l.Attributes[k]; dup {
			return LEEF{}, fmt.Errorf("leef: attribute %q twice", k)
		}
		l.Attributes[k] = v
		l.Keys = append(l.Keys, k)
	}
	return l, nil
}

func parseLEEFDelimiter(s string) (byte, error) {
	if len(s) == 1 {
		return s[0], nil
	}
	lower := strings.ToLower(s)
	h, ok := strings.CutPrefix(lower, "0x")
	if !ok {
		h, ok = strings.CutPrefix(lower, "x")
	}
	d, err := strconv.ParseUint(h, 16, 8)
	if !ok || len(h) != 2 || err != nil || d == 0 {
		return 0, fmt.Errorf("leef: delimiter %q: want one character or a hex code such as x09", s)
	}
	return byte(d), nil
}
