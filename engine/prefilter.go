package engine

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Literal prefilters. Most regular expressions and glob patterns in rules
// can only match text that contains one of a few literal strings
// ("mimikatz", "lsadump::", "salary"). Go's matcher tries every start
// position, so a miss (nearly every event) costs the whole program times
// the whole input. A prefilter answers "cannot match" with a few substring
// searches instead; only when a literal is present does the full matcher
// run. A prefilter never answers "matches": it can only skip work whose
// answer is known to be false, so results are identical with and without
// it (the differential and fuzz tests hold the fast path, which uses
// prefilters, to cel-go's interpreter, which does not).

// maxPrefilterLiterals bounds the literals of one prefilter: beyond that
// the substring searches approach the matcher's own cost.
const maxPrefilterLiterals = 48

// regexPrefilter holds literals, in lower case, of which every match of a
// regular expression contains at least one (compared case-insensitively,
// ASCII only).
type regexPrefilter struct {
	lits  []string
	blits [][]byte // lits as bytes, for bytes.Contains on the lowered text
}

// matchRegexp is a compiled regular expression with its prefilter (nil
// when none could be derived).
type matchRegexp struct {
	re *regexp.Regexp
	pf *regexPrefilter
}

// compileMatch compiles a pattern as CEL's matches does (RE2 syntax, Go's
// regexp) and derives its prefilter.
func compileMatch(pattern string) (*matchRegexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	return &matchRegexp{re: re, pf: newRegexPrefilter(pattern)}, nil
}

// MatchString reports whether s contains a match of the expression.
func (m *matchRegexp) MatchString(s string) bool {
	if m.pf != nil && !m.pf.mayMatch(s) {
		return false
	}
	return m.re.MatchString(s)
}

// newRegexPrefilter derives a prefilter from a pattern, or returns nil when
// some match could avoid every literal (for example "a*" or "[0-9]+").
func newRegexPrefilter(pattern string) *regexPrefilter {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	lits, ok := requiredLiterals(re.Simplify())
	if !ok || len(lits) == 0 || len(lits) > maxPrefilterLiterals {
		return nil
	}
	pf := &regexPrefilter{lits: dedupeLiterals(lits)}
	for _, l := range pf.lits {
		pf.blits = append(pf.blits, []byte(l))
	}
	return pf
}

// requiredLiterals returns strings (lower-cased ASCII) such that every
// match of re contains at least one of them, ignoring ASCII case; ok is
// false when no such set is known. It errs on the side of "unknown": the
// prefilter must never reject a string the expression matches.
func requiredLiterals(re *syntax.Regexp) (lits []string, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if s == "" || !isASCII(s) {
			// Case folding of non-ASCII runes is left to the matcher.
			return nil, false
		}
		return []string{strings.ToLower(s)}, true
	case syntax.OpCapture:
		return requiredLiterals(re.Sub[0])
	case syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil, false
		}
		return requiredLiterals(re.Sub[0])
	case syntax.OpConcat:
		// Any one part's literals are required; keep the most selective
		// (the longest shortest literal, then the fewest).
		var best []string
		for _, sub := range re.Sub {
			l, ok := requiredLiterals(sub)
			if !ok || len(l) == 0 {
				continue
			}
			if best == nil || betterLiterals(l, best) {
				best = l
			}
		}
		return best, best != nil
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			l, ok := requiredLiterals(sub)
			if !ok || len(l) == 0 {
				return nil, false
			}
			all = append(all, l...)
		}
		return all, true
	}
	return nil, false
}

func betterLiterals(a, b []string) bool {
	ma, mb := shortest(a), shortest(b)
	if ma != mb {
		return ma > mb
	}
	return len(a) < len(b)
}

func shortest(l []string) int {
	m := -1
	for _, s := range l {
		if m < 0 || len(s) < m {
			m = len(s)
		}
	}
	return m
}

// dedupeLiterals drops duplicates and literals that contain another
// literal of the set (finding the shorter one is enough).
func dedupeLiterals(in []string) []string {
	out := make([]string, 0, len(in))
	for i, s := range in {
		redundant := false
		for j, t := range in {
			if i != j && strings.Contains(s, t) && (len(t) < len(s) || j < i) {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, s)
		}
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// mayMatch reports false only when s contains none of the literals. Text
// with non-ASCII bytes always passes: under (?i) a non-ASCII rune can fold
// to an ASCII letter (U+212A KELVIN SIGN matches k).
func (pf *regexPrefilter) mayMatch(s string) bool {
	var buf [512]byte
	var low []byte
	if len(s) <= len(buf) {
		low = buf[:len(s)]
	} else {
		low = make([]byte, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return true
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	for _, lit := range pf.blits {
		if bytes.Contains(low, lit) {
			return true
		}
	}
	return false
}

// compiledGlob is one glob pattern with the literal runs every matching
// name must contain (case-sensitively, as path.Match compares).
type compiledGlob struct {
	pattern  string
	hasSlash bool
	lit      string // the longest literal run, "" when none
}

func compileGlob(pattern string) compiledGlob {
	return compiledGlob{pattern: pattern, hasSlash: strings.Contains(pattern, "/"), lit: globLiteral(pattern)}
}

// globLiteral returns the longest run of pattern characters that match
// only themselves: outside "[...]" and not "*", "?", "/" or a backslash.
// Every name the pattern matches contains it, within one segment. Where
// the pattern is unusual (a class that does not close, or starts with
// "]"), it returns "", which means no prefilter.
func globLiteral(pattern string) string {
	best, start := "", 0
	flush := func(end int) {
		if end-start > len(best) {
			best = pattern[start:end]
		}
	}
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '*', '?', '/', '\\':
			flush(i)
			start = i + 1
		case '[':
			flush(i)
			end, ok := classEnd(pattern, i)
			if !ok {
				return ""
			}
			i = end
			start = i + 1
		}
	}
	flush(len(pattern))
	return best
}

// classEnd returns the index of the "]" closing the class that opens at
// pattern[open], reading escapes as path.Match does.
func classEnd(pattern string, open int) (int, bool) {
	j := open + 1
	if j < len(pattern) && pattern[j] == '^' {
		j++
	}
	first := j
	for j < len(pattern) {
		switch pattern[j] {
		case '\\':
			j += 2
			continue
		case ']':
			if j == first {
				return 0, false
			}
			return j, true
		}
		j++
	}
	return 0, false
}

// match is globMatch(name, g.pattern) with the literal test first.
func (g *compiledGlob) match(name string) bool {
	if g.pattern == "" {
		return name == ""
	}
	if name == "" {
		return false
	}
	if g.lit != "" && !strings.Contains(name, g.lit) {
		return false
	}
	return globMatch(name, g.pattern)
}

// domainSet is a constant domain_in list prepared once: its entries
// normalised as domainIn normalises them, in a set.
type domainSet map[string]struct{}

func newDomainSet(list []string) domainSet {
	ds := make(domainSet, len(list))
	for _, want := range list {
		want = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(want), "."))
		if want != "" {
			ds[want] = struct{}{}
		}
	}
	return ds
}

// contains is domainIn(s, list): the domain of s equals an entry, or ends
// with "." and an entry, that is, one of its suffixes after a dot is one.
func (ds domainSet) contains(s string) bool {
	d := domainOf(s)
	if d == "" {
		return false
	}
	if _, ok := ds[d]; ok {
		return true
	}
	for i := 0; i < len(d); i++ {
		if d[i] == '.' {
			if _, ok := ds[d[i+1:]]; ok {
				return true
			}
		}
	}
	return false
}
