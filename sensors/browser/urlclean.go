package browser

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxURLBytes bounds the URLs put in events; browsers store URLs of up to
// megabytes (data: URLs, long paths).
const maxURLBytes = 4096

// CleanURL returns raw fit for an event, and its host name (lower case,
// "" when it has none):
//
//   - user names and passwords are always removed;
//   - the fragment is always removed (sign-in flows put tokens there);
//   - the query string is removed unless keepQuery is set;
//   - a data: URL is reduced to its media type ("data:image/png"), since the
//     rest is the content itself;
//   - a blob: URL keeps its origin, cleaned the same way, as its host;
//   - the result is cut to 4 KiB at a character boundary.
//
// A URL that does not parse gives "", "": the sensor never reports text it
// cannot clean.
func CleanURL(raw string, keepQuery bool) (clean, host string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", ""
	}
	if scheme, rest, ok := strings.Cut(raw, ":"); ok {
		switch strings.ToLower(scheme) {
		case "data":
			mt, _, _ := strings.Cut(rest, ",")
			mt, _, _ = strings.Cut(mt, ";")
			mt = strings.ToLower(strings.TrimSpace(mt))
			if len(mt) > 128 || strings.ContainsFunc(mt, badMediaTypeRune) {
				mt = ""
			}
			return "data:" + mt, ""
		case "blob":
			inner, h := CleanURL(rest, keepQuery)
			if inner == "" {
				return "", ""
			}
			return truncateURL("blob:" + inner), h
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "", ""
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	if !keepQuery {
		u.RawQuery, u.ForceQuery = "", false
	}
	u.Host = strings.ToLower(u.Host)
	host = strings.TrimSuffix(u.Hostname(), ".")
	// Trimmed as the input is, so that cleaning a clean URL changes
	// nothing: an opaque part can end in a space ("a: #" is "a: ").
	return strings.TrimSpace(truncateURL(u.String())), host
}

// badMediaTypeRune reports a rune that has no place in a media type.
func badMediaTypeRune(r rune) bool {
	return r < 0x21 || r > 0x7e || r == '?' || r == '#'
}

// truncateURL cuts s to maxURLBytes without splitting a character.
func truncateURL(s string) string {
	if len(s) <= maxURLBytes {
		return s
	}
	i := maxURLBytes
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
