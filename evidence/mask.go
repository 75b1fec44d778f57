package evidence

import (
	"fmt"
	"regexp"
	"strings"
)

// MaskText replaces a masked secret in evidence text.
const MaskText = "[MASKED]"

// builtinPatterns are the secret patterns on by default. Each match is
// replaced by MaskText; a pattern with a group named "v" masks only that
// group, so the key of a "password: value" pair stays readable.
var builtinPatterns = []MaskPattern{
	{Name: "password-value", Regex: `(?i)\b(?:pass(?:word|wd|phrase)?|pwd|secret|api[_-]?key|access[_-]?key|token)\s*[:=]\s*(?P<v>[^\s"']+)`},
	{Name: "aws-access-key", Regex: `\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`},
	{Name: "github-token", Regex: `\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b`},
	{Name: "slack-token", Regex: `\bxox[abprs]-[A-Za-z0-9-]{10,}\b`},
	{Name: "openai-style-key", Regex: `\bsk-[A-Za-z0-9_-]{20,}\b`},
	{Name: "google-api-key", Regex: `\bAIza[0-9A-Za-z_-]{35}\b`},
	{Name: "jwt", Regex: `\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`},
	{Name: "bearer-token", Regex: `(?i)\bbearer\s+(?P<v>[A-Za-z0-9._~+/-]{16,}=*)`},
	{Name: "private-key", Regex: `-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)`},
	{Name: "url-credentials", Regex: `\b[a-z][a-z0-9+.-]*://[^/\s:@]+:(?P<v>[^/\s@]+)@`},
}

// builtinHints are substrings one of which a text must contain for the
// builtin pattern of the same name to be tried: Go's regular expressions
// are linear but not fast, and most typed text holds no secret.
var builtinHints = map[string][]string{
	"password-value":   {":", "="},
	"aws-access-key":   {"AKIA", "ASIA"},
	"github-token":     {"gh", "github_pat_"},
	"slack-token":      {"xox"},
	"openai-style-key": {"sk-"},
	"google-api-key":   {"AIza"},
	"jwt":              {"eyJ"},
	"bearer-token":     {"earer", "EARER"},
	"private-key":      {"PRIVATE KEY"},
	"url-credentials":  {"://"},
}

// cardPattern finds candidate payment card numbers; a candidate is masked
// only when it passes the Luhn check.
var cardPattern = regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`)

// Masker masks secrets in evidence text. It is safe for concurrent use once
// built.
type Masker struct {
	patterns []maskRule
	cards    bool
	apps     map[string]bool
	prompt   *regexp.Regexp
	title    *regexp.Regexp
}

// NewMasker builds a masker from the masking configuration.
func NewMasker(c MaskingConfig) (*Masker, error) {
	m := &Masker{apps: map[string]bool{}, cards: c.Builtin}
	var pats []MaskPattern
	if c.Builtin {
		pats = append(pats, builtinPatterns...)
	}
	pats = append(pats, c.Patterns...)
	for i, p := range pats {
		re, err := regexp.Compile(p.Regex)
		if err != nil {
			return nil, fmt.Errorf("compile mask pattern %q: %w", p.Name, err)
		}
		rule := maskRule{re: re}
		if c.Builtin && i < len(builtinPatterns) {
			rule.hints = builtinHints[p.Name]
		}
		m.patterns = append(m.patterns, rule)
	}
	for _, a := range c.Apps {
		m.apps[strings.ToLower(a)] = true
	}
	if c.PromptPattern != "" {
		re, err := regexp.Compile(c.PromptPattern)
		if err != nil {
			return nil, fmt.Errorf("compile prompt pattern: %w", err)
		}
		m.prompt = re
	}
	if c.TitlePattern != "" {
		re, err := regexp.Compile(c.TitlePattern)
		if err != nil {
			return nil, fmt.Errorf("compile title pattern: %w", err)
		}
		m.title = re
	}
	return m, nil
}

// Mask returns s with every secret replaced by MaskText, and whether
// anything was replaced.
func (m *Masker) Mask(s string) (string, bool) {
	if m == nil || s == "" {
		return s, false
	}
	masked := false
	for _, rule := range m.patterns {
		if !rule.mayMatch(s) {
			continue
		}
		re := rule.re
		vi := re.SubexpIndex("v")
		locs := re.FindAllStringSubmatchIndex(s, -1)
		if len(locs) == 0 {
			continue
		}
		var b strings.Builder
		last := 0
		for _, loc := range locs {
			start, end := loc[0], loc[1]
			if vi > 0 && loc[2*vi] >= 0 {
				start, end = loc[2*vi], loc[2*vi+1]
			}
			if start < last {
				continue
			}
			b.WriteString(s[last:start])
			b.WriteString(MaskText)
			last = end
		}
		b.WriteString(s[last:])
		s = b.String()
		masked = true
	}
	if m.cards && countDigits(s) >= 13 {
		out := cardPattern.ReplaceAllStringFunc(s, func(c string) string {
			if luhn(c) {
				masked = true
				return MaskText
			}
			return c
		})
		s = out
	}
	return s, masked
}

// MaskedApp reports whether everything typed or copied in app is masked.
func (m *Masker) MaskedApp(app string) bool {
	return m != nil && app != "" && m.apps[strings.ToLower(app)]
}

// IsPrompt reports whether text (the end of terminal output, or a window
// title) asks for a password.
func (m *Masker) IsPrompt(text string) bool {
	return m != nil && m.prompt != nil && m.prompt.MatchString(text)
}

// IsSecretWindow reports whether a window title asks for a password, so
// that what is typed into it is masked whole.
func (m *Masker) IsSecretWindow(title string) bool {
	return m != nil && title != "" && (m.title != nil && m.title.MatchString(title) || m.IsPrompt(title))
}

// maskRule is a compiled pattern with the hints that gate it.
type maskRule struct {
	re    *regexp.Regexp
	hints []string
}

func (r maskRule) mayMatch(s string) bool {
	if len(r.hints) == 0 {
		return true
	}
	for _, h := range r.hints {
		if strings.Contains(s, h) {
			return true
		}
	}
	return false
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// luhn reports whether the digits of s pass the Luhn checksum.
func luhn(s string) bool {
	sum, n := 0, 0
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if n%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return n >= 13 && sum%10 == 0
}

// maskAll replaces every rune of s except line breaks, keeping its length
// readable (how much was typed) but not its content.
func maskAll(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return r
		}
		return '*'
	}, s)
}
