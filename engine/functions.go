package engine

import (
	"net/netip"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"golang.org/x/net/publicsuffix"
)

// The helper functions a rule author can call in a condition. Each has a
// pure Go implementation used by both the CEL interpreter and the native
// fast path, so the two cannot disagree.

// globMatch reports whether name matches pattern, where "*" matches within
// one path segment, "**" matches across segments, "?" one character and
// "[...]" a class. A pattern without "/" matches the base name, so
// "*.xlsx" matches "/home/a/q3.xlsx".
func globMatch(name, pattern string) bool {
	if pattern == "" {
		return name == ""
	}
	if name == "" {
		// An absent field matches no pattern (path.Base("") is ".").
		return false
	}
	if !strings.Contains(pattern, "/") {
		name = path.Base(name)
	}
	return globRest(name, false, pattern, false)
}

// nextSegment splits the first "/"-separated segment off s.
func nextSegment(s string) (seg, rest string, more bool) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// globRest matches the remaining name segments against the remaining
// pattern segments without allocating; done marks a list with no segments
// left (as opposed to one empty segment).
func globRest(name string, nameDone bool, pat string, patDone bool) bool {
	for !patDone {
		pseg, prest, pmore := nextSegment(pat)
		if pseg == "**" {
			if !pmore {
				return true
			}
			n, nd := name, nameDone
			for {
				if globRest(n, nd, prest, false) {
					return true
				}
				if nd {
					return false
				}
				_, nrest, nmore := nextSegment(n)
				n, nd = nrest, !nmore
			}
		}
		if nameDone {
			return false
		}
		nseg, nrest, nmore := nextSegment(name)
		ok, err := path.Match(pseg, nseg)
		if err != nil || !ok {
			return false
		}
		name, nameDone = nrest, !nmore
		pat, patDone = prest, !pmore
	}
	return nameDone
}

// domainOf returns the lower-cased domain of an email address, a URL or a
// host name: "Jane <jane@Gmail.com>" → "gmail.com",
// "https://www.dropbox.com/x" → "www.dropbox.com".
func domainOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		s = strings.TrimSuffix(s[i+1:], ">")
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 && !strings.Contains(s, "://") {
		return strings.ToLower(strings.Trim(s[i+1:], " >."))
	}
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			return strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
		}
	}
	if i := strings.IndexAny(s, "/:"); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

// baseDomain returns the registrable domain (eTLD+1): "a.b.dropbox.com" →
// "dropbox.com", "x.co.uk" stays "x.co.uk".
func baseDomain(s string) string {
	d := domainOf(s)
	if d == "" {
		return ""
	}
	if b, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return b
	}
	return d
}

// domainIn reports whether the domain of s equals one of the domains in the
// list or is a sub-domain of one.
func domainIn(s string, list []string) bool {
	d := domainOf(s)
	if d == "" {
		return false
	}
	for _, want := range list {
		want = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(want), "."))
		if want == "" {
			continue
		}
		if d == want || strings.HasSuffix(d, "."+want) {
			return true
		}
	}
	return false
}

var prefixCache sync.Map // string → netip.Prefix or error

func parsePrefix(s string) (netip.Prefix, bool) {
	if v, ok := prefixCache.Load(s); ok {
		p, ok := v.(netip.Prefix)
		return p, ok
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		if a, aerr := netip.ParseAddr(strings.TrimSpace(s)); aerr == nil {
			p, err = a.Prefix(a.BitLen())
		}
	}
	if err != nil {
		prefixCache.Store(s, err)
		return netip.Prefix{}, false
	}
	prefixCache.Store(s, p.Masked())
	return p.Masked(), true
}

// cidrMatch reports whether ip lies inside any of the CIDR ranges.
func cidrMatch(ip string, cidrs []string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return false
	}
	a = a.WithZone("").Unmap()
	for _, c := range cidrs {
		if p, ok := parsePrefix(c); ok && p.Contains(a) {
			return true
		}
	}
	return false
}

var zoneCache sync.Map // string → *time.Location

func location(tz string) *time.Location {
	if tz == "" || tz == "UTC" {
		return time.UTC
	}
	if v, ok := zoneCache.Load(tz); ok {
		if loc, ok := v.(*time.Location); ok {
			return loc
		}
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	zoneCache.Store(tz, loc)
	return loc
}

func localHour(t time.Time, tz string) int64    { return int64(t.In(location(tz)).Hour()) }
func localWeekday(t time.Time, tz string) int64 { return int64(t.In(location(tz)).Weekday()) }

// daysUntil returns whole days from t until the calendar date (YYYY-MM-DD or
// RFC 3339); negative when the date has passed. No date means never: a very
// large number, so "days_until(...) <= 30" is false.
func daysUntil(date string, t time.Time) int64 {
	date = strings.TrimSpace(date)
	if date == "" {
		return 1 << 31
	}
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		d, err = time.Parse(time.RFC3339, date)
		if err != nil {
			return 1 << 31
		}
	}
	return int64(d.Sub(t).Hours() / 24)
}

// containsAny reports whether s contains any of the substrings,
// case-insensitively for ASCII: "Q3 Payroll.pdf" contains "payroll".
func containsAny(s string, subs []string) bool {
	ls := lowerASCII(s)
	for _, sub := range subs {
		if sub != "" && strings.Contains(ls, lowerASCII(sub)) {
			return true
		}
	}
	return false
}

// localPart returns the lower-cased part of an e-mail address before the
// "@": "Jane Doe <Jane.Doe@Gmail.com>" → "jane.doe".
func localPart(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		s = strings.TrimSuffix(s[i+1:], ">")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return ""
	}
	return lowerASCII(strings.TrimSpace(s[:at]))
}

// stringsOf turns a CEL list into Go strings, skipping non-strings.
func stringsOf(v ref.Val) []string {
	if s, ok := v.(*stringSet); ok {
		return s.items
	}
	l, ok := v.(traits.Lister)
	if !ok {
		if s, ok := v.(types.String); ok {
			return []string{string(s)}
		}
		return nil
	}
	size, _ := l.Size().(types.Int)
	n := int(size)
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		if s, ok := l.Get(types.Int(i)).(types.String); ok {
			out = append(out, string(s))
		}
	}
	return out
}

func ts(v ref.Val) time.Time {
	t, _ := v.(types.Timestamp)
	return t.Time
}

func str(v ref.Val) string {
	s, _ := v.(types.String)
	return string(s)
}

// functionOptions declares the helper functions for the CEL environment.
func functionOptions() []cel.EnvOption {
	listS := cel.ListType(cel.StringType)
	return []cel.EnvOption{
		cel.Function("glob",
			cel.Overload("glob_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val { return types.Bool(globMatch(str(a), str(b))) })),
			cel.Overload("glob_string_list", []*cel.Type{cel.StringType, listS}, cel.BoolType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val {
					for _, p := range stringsOf(b) {
						if globMatch(str(a), p) {
							return types.True
						}
					}
					return types.False
				})),
		),
		cel.Function("domain",
			cel.Overload("domain_string", []*cel.Type{cel.StringType}, cel.StringType,
				cel.UnaryBinding(func(a ref.Val) ref.Val { return types.String(domainOf(str(a))) }))),
		cel.Function("base_domain",
			cel.Overload("base_domain_string", []*cel.Type{cel.StringType}, cel.StringType,
				cel.UnaryBinding(func(a ref.Val) ref.Val { return types.String(baseDomain(str(a))) }))),
		cel.Function("domain_in",
			cel.Overload("domain_in_string_list", []*cel.Type{cel.StringType, listS}, cel.BoolType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val { return types.Bool(domainIn(str(a), stringsOf(b))) })),
			cel.Overload("domain_in_list_list", []*cel.Type{listS, listS}, cel.BoolType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val {
					l := stringsOf(b)
					for _, s := range stringsOf(a) {
						if domainIn(s, l) {
							return types.True
						}
					}
					return types.False
				}))),
		cel.Function("cidr_match",
			cel.Overload("cidr_match_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val { return types.Bool(cidrMatch(str(a), []string{str(b)})) })),
			cel.Overload("cidr_match_string_list", []*cel.Type{cel.StringType, listS}, cel.BoolType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val { return types.Bool(cidrMatch(str(a), stringsOf(b))) }))),
		cel.Function("local_hour",
			cel.Overload("local_hour_timestamp_string", []*cel.Type{cel.TimestampType, cel.StringType}, cel.IntType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val {
					return types.Int(localHour(ts(a), str(b)))
				}))),
		cel.Function("local_weekday",
			cel.Overload("local_weekday_timestamp_string", []*cel.Type{cel.TimestampType, cel.StringType}, cel.IntType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val {
					return types.Int(localWeekday(ts(a), str(b)))
				}))),
		cel.Function("days_until",
			cel.Overload("days_until_string_timestamp", []*cel.Type{cel.StringType, cel.TimestampType}, cel.IntType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val {
					return types.Int(daysUntil(str(a), ts(b)))
				}))),
		cel.Function("contains_any",
			cel.Overload("contains_any_string_list", []*cel.Type{cel.StringType, listS}, cel.BoolType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val { return types.Bool(containsAny(str(a), stringsOf(b))) })),
			cel.Overload("contains_any_list_list", []*cel.Type{listS, listS}, cel.BoolType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val {
					subs := stringsOf(b)
					for _, s := range stringsOf(a) {
						if containsAny(s, subs) {
							return types.True
						}
					}
					return types.False
				}))),
		cel.Function("local_part",
			cel.Overload("local_part_string", []*cel.Type{cel.StringType}, cel.StringType,
				cel.UnaryBinding(func(a ref.Val) ref.Val { return types.String(localPart(str(a))) }))),
		cel.Function("any_in",
			cel.Overload("any_in_list_list", []*cel.Type{listS, listS}, cel.BoolType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val {
					set := b
					for _, s := range stringsOf(a) {
						if inList(s, set) {
							return types.True
						}
					}
					return types.False
				}))),
	}
}

func inList(s string, list ref.Val) bool {
	if ss, ok := list.(*stringSet); ok {
		_, ok := ss.set[s]
		return ok
	}
	if l, ok := list.(traits.Container); ok {
		return l.Contains(types.String(s)) == types.True
	}
	return false
}
