package x11

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// BuiltinMaskApps are the applications whose keystrokes and clipboard text
// are always masked unless mask_builtin is false: password managers and
// password prompts. Patterns are shell globs matched, case-insensitively,
// against the window's app name, WM_CLASS instance and class, and process
// name.
var BuiltinMaskApps = []string{
	"keepassxc", "keepass*", "1password", "bitwarden", "lastpass", "enpass", "dashlane",
	"pinentry*", "gcr-prompter", "*askpass*", "*polkit*", "gnome-keyring*", "kwalletd*",
	"seahorse", "gnome-ssh-askpass", "xscreensaver*", "i3lock", "xsecurelock", "light-locker",
}

// BuiltinMaskTitles are regular expressions on the window title that mark a
// secret being typed.
var BuiltinMaskTitles = []string{
	`(?i)password|passphrase|passwort|mot de passe|contraseña|sudo|\bpin\b|authenticat|unlock`,
}

// MaskConfig is the part of the keyboard and clipboard configuration that
// says which windows hide what is typed or copied in them.
type MaskConfig struct {
	// MaskApps are extra application globs (see BuiltinMaskApps).
	MaskApps []string `yaml:"mask_apps"`
	// MaskTitles are extra regular expressions on window titles.
	MaskTitles []string `yaml:"mask_titles"`
	// MaskBuiltin keeps the built-in lists in force; default true.
	MaskBuiltin bool `yaml:"mask_builtin"`
}

// DefaultMaskConfig returns the default: built-in lists only.
func DefaultMaskConfig() MaskConfig { return MaskConfig{MaskBuiltin: true} }

// Validate checks the patterns and names the first bad one.
func (m MaskConfig) Validate() error {
	_, err := m.Compile()
	return err
}

// Masker decides whether a window's content must be masked.
type Masker struct {
	apps   []string
	titles []*regexp.Regexp
}

// Compile builds the masker.
func (m MaskConfig) Compile() (*Masker, error) {
	out := &Masker{}
	for i, a := range m.MaskApps {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "" {
			return nil, fmt.Errorf("mask_apps[%d]: empty pattern", i)
		}
		if _, err := path.Match(a, ""); err != nil {
			return nil, fmt.Errorf("mask_apps[%d] %q: %w", i, a, err)
		}
		out.apps = append(out.apps, a)
	}
	for i, t := range m.MaskTitles {
		re, err := regexp.Compile(t)
		if err != nil {
			return nil, fmt.Errorf("mask_titles[%d] %q: %w", i, t, err)
		}
		out.titles = append(out.titles, re)
	}
	if m.MaskBuiltin {
		out.apps = append(out.apps, BuiltinMaskApps...)
		for _, t := range BuiltinMaskTitles {
			out.titles = append(out.titles, regexp.MustCompile(t))
		}
	}
	return out, nil
}

// Masked reports whether text typed or copied in window w must be masked.
func (m *Masker) Masked(w *WindowInfo) bool {
	if m == nil || w == nil {
		return false
	}
	for _, name := range [...]string{w.App, w.Instance, w.Class, w.Process} {
		if name == "" {
			continue
		}
		n := strings.ToLower(name)
		for _, p := range m.apps {
			if ok, _ := path.Match(p, n); ok {
				return true
			}
		}
	}
	for _, re := range m.titles {
		if re.MatchString(w.Title) {
			return true
		}
	}
	return false
}
