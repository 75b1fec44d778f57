package evidence

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/policies"
)

// Evidence kinds, as used in privacy settings and in the manifest.
const (
	KindScreen     = "screen"
	KindScreenshot = "screenshot"
	KindKeystrokes = "keystrokes"
	KindClipboard  = "clipboard"
	KindTerminal   = "terminal"
)

// allKinds lists every evidence kind, for validation.
var allKinds = []string{KindScreen, KindScreenshot, KindKeystrokes, KindClipboard, KindTerminal}

// Config is the evidence section of the agent configuration. Build it with
// DefaultConfig, decode YAML over it with DecodeConfig, then Validate.
type Config struct {
	// Enabled turns evidence buffering on. When false nothing is buffered
	// and Capture writes packages with no material.
	Enabled bool `yaml:"enabled"`
	// Buffer bounds the in-memory ring buffers.
	Buffer BufferConfig `yaml:"buffer"`
	// Screen configures screen frames.
	Screen ScreenConfig `yaml:"screen"`
	// Masking configures secret masking of keystroke, clipboard and
	// terminal text.
	Masking MaskingConfig `yaml:"masking"`
	// Privacy lists what is never captured.
	Privacy PrivacyConfig `yaml:"privacy"`
	// Retention is how long the server keeps packages, per alert severity.
	// The agent writes the value into the manifest; the server applies it.
	Retention map[string]policies.Duration `yaml:"retention"`
	// MaxPackageBytes bounds one package's material in memory before it is
	// written; a capture that reaches it stops early and is marked partial.
	MaxPackageBytes int64 `yaml:"max_package_bytes"`
}

// BufferConfig bounds the ring buffers in time and in bytes. Each kind has
// its own byte bound; the oldest entries go first.
type BufferConfig struct {
	// Duration is how far back the buffers reach (the longest pre-roll).
	Duration policies.Duration `yaml:"duration"`
	// ScreenBytes bounds the JPEG frames kept in memory.
	ScreenBytes int64 `yaml:"screen_bytes"`
	// TextBytes bounds each of keystrokes, clipboard and terminal records.
	TextBytes int64 `yaml:"text_bytes"`
}

// ScreenConfig configures the screen frames.
type ScreenConfig struct {
	// Enabled turns screen buffering on.
	Enabled bool `yaml:"enabled"`
	// Interval is the time between frames while buffering.
	Interval policies.Duration `yaml:"interval"`
	// PostRollInterval is the time between frames while a capture that asks
	// for video is in its post-roll; at most Interval.
	PostRollInterval policies.Duration `yaml:"post_roll_interval"`
	// MaxWidth scales buffered frames down to at most this width (0 keeps
	// the native size). The alert screenshot is always full resolution.
	MaxWidth int `yaml:"max_width"`
	// Quality is the JPEG quality, 1 to 100.
	Quality int `yaml:"quality"`
	// Backend is "x11" (one X connection kept open, MIT-SHM; Linux only),
	// "screenshot" (a connection per frame, every platform) or "auto".
	Backend string `yaml:"backend"`
}

// MaskingConfig configures secret masking.
type MaskingConfig struct {
	// Builtin turns on the built-in secret patterns (API keys, tokens,
	// private keys, card numbers, "password: …" values).
	Builtin bool `yaml:"builtin"`
	// Patterns are extra regular expressions whose matches are masked.
	Patterns []MaskPattern `yaml:"patterns"`
	// Apps are applications (WM_CLASS or executable name, case-insensitive)
	// whose keystrokes and clipboard text are masked whole.
	Apps []string `yaml:"apps"`
	// PromptPattern is the regular expression that recognises a password
	// prompt at the end of terminal output or in a window title; the input
	// that follows it, up to Enter, is masked.
	PromptPattern string `yaml:"prompt_pattern"`
	// TitlePattern is the regular expression on window titles that asks
	// for a password (a sudo dialog, a sign-in page); everything typed
	// into such a window is masked.
	TitlePattern string `yaml:"title_pattern"`
	// ClipboardText keeps clipboard text (masked) in the buffers; when false
	// only length, hash and format are kept.
	ClipboardText bool `yaml:"clipboard_text"`
	// ClipboardMaxText truncates kept clipboard text to this many bytes.
	ClipboardMaxText int `yaml:"clipboard_max_text"`
}

// MaskPattern is a named pattern whose matches are masked.
type MaskPattern struct {
	Name  string `yaml:"name"`
	Regex string `yaml:"regex"`
}

// PrivacyConfig lists what is never captured.
type PrivacyConfig struct {
	// BlockedApps are applications whose windows are never captured: while
	// one has focus, frames are blanked, and keystrokes and clipboard text
	// are dropped. Matched case-insensitively against the app name.
	BlockedApps []string `yaml:"blocked_apps"`
	// BlockedTitles are regular expressions on window titles with the same
	// effect.
	BlockedTitles []string `yaml:"blocked_titles"`
	// DisabledKinds maps a user group to the evidence kinds never captured
	// for its members (screen, screenshot, keystrokes, clipboard, terminal).
	DisabledKinds map[string][]string `yaml:"disabled_kinds"`
}

// DefaultRetention is the default retention per severity.
var DefaultRetention = map[string]policies.Duration{
	"info":     policies.Duration(30 * 24 * time.Hour),
	"low":      policies.Duration(90 * 24 * time.Hour),
	"medium":   policies.Duration(180 * 24 * time.Hour),
	"high":     policies.Duration(365 * 24 * time.Hour),
	"critical": policies.Duration(730 * 24 * time.Hour),
}

// DefaultPromptPattern recognises password prompts.
const DefaultPromptPattern = `(?i)(pass(word|phrase)?|passwd|pin|secret|token)[^\n:]{0,40}:\s*$`

// DefaultTitlePattern recognises windows that ask for a password.
const DefaultTitlePattern = `(?i)(password|passphrase|passwort|mot de passe|authenticat|\bsudo\b|unlock|\blog ?in\b|\bsign ?in\b)`

// DefaultConfig returns the configuration with every default applied.
func DefaultConfig() Config {
	ret := make(map[string]policies.Duration, len(DefaultRetention))
	for k, v := range DefaultRetention {
		ret[k] = v
	}
	return Config{
		Enabled: true,
		Buffer: BufferConfig{
			Duration:    policies.Duration(5 * time.Minute),
			ScreenBytes: 48 << 20,
			TextBytes:   4 << 20,
		},
		Screen: ScreenConfig{
			Enabled:          true,
			Interval:         policies.Duration(time.Second),
			PostRollInterval: policies.Duration(500 * time.Millisecond),
			MaxWidth:         1920,
			Quality:          60,
			Backend:          "auto",
		},
		Masking: MaskingConfig{
			Builtin:          true,
			PromptPattern:    DefaultPromptPattern,
			TitlePattern:     DefaultTitlePattern,
			ClipboardText:    true,
			ClipboardMaxText: 4096,
		},
		Retention:       ret,
		MaxPackageBytes: 512 << 20,
	}
}

// DecodeConfig decodes YAML over cfg strictly: unknown keys are errors that
// name the line.
func DecodeConfig(data []byte, cfg *Config) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("decode evidence config: %w", err)
	}
	return nil
}

// Validate checks the configuration and returns an error naming every
// field that is wrong.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("evidence.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Buffer.Duration <= 0 {
		bad("buffer.duration", "must be positive")
	}
	if c.Buffer.ScreenBytes < 1<<20 {
		bad("buffer.screen_bytes", "must be at least 1 MiB, got %d", c.Buffer.ScreenBytes)
	}
	if c.Buffer.TextBytes < 64<<10 {
		bad("buffer.text_bytes", "must be at least 64 KiB, got %d", c.Buffer.TextBytes)
	}
	if c.Screen.Interval.D() < 50*time.Millisecond {
		bad("screen.interval", "must be at least 50ms, got %s", c.Screen.Interval)
	}
	if c.Screen.PostRollInterval.D() < 50*time.Millisecond || c.Screen.PostRollInterval > c.Screen.Interval {
		bad("screen.post_roll_interval", "must be between 50ms and screen.interval (%s), got %s", c.Screen.Interval, c.Screen.PostRollInterval)
	}
	if c.Screen.MaxWidth < 0 || (c.Screen.MaxWidth > 0 && c.Screen.MaxWidth < 160) {
		bad("screen.max_width", "must be 0 (native) or at least 160, got %d", c.Screen.MaxWidth)
	}
	if c.Screen.Quality < 1 || c.Screen.Quality > 100 {
		bad("screen.quality", "must be between 1 and 100, got %d", c.Screen.Quality)
	}
	switch c.Screen.Backend {
	case "auto", "x11", "screenshot":
	default:
		bad("screen.backend", "must be auto, x11 or screenshot, got %q", c.Screen.Backend)
	}
	for i, p := range c.Masking.Patterns {
		if p.Name == "" {
			bad(fmt.Sprintf("masking.patterns[%d].name", i), "must not be empty")
		}
		if _, err := regexp.Compile(p.Regex); err != nil || p.Regex == "" {
			bad(fmt.Sprintf("masking.patterns[%d].regex", i), "not a valid regular expression: %q", p.Regex)
		}
	}
	if c.Masking.PromptPattern != "" {
		if _, err := regexp.Compile(c.Masking.PromptPattern); err != nil {
			bad("masking.prompt_pattern", "not a valid regular expression: %v", err)
		}
	}
	if c.Masking.TitlePattern != "" {
		if _, err := regexp.Compile(c.Masking.TitlePattern); err != nil {
			bad("masking.title_pattern", "not a valid regular expression: %v", err)
		}
	}
	if c.Masking.ClipboardMaxText < 0 {
		bad("masking.clipboard_max_text", "must not be negative")
	}
	for i, t := range c.Privacy.BlockedTitles {
		if _, err := regexp.Compile(t); err != nil {
			bad(fmt.Sprintf("privacy.blocked_titles[%d]", i), "not a valid regular expression: %v", err)
		}
	}
	for g, kinds := range c.Privacy.DisabledKinds {
		for _, k := range kinds {
			if !validKind(k) {
				bad("privacy.disabled_kinds."+g, "unknown evidence kind %q (want one of %s)", k, strings.Join(allKinds, ", "))
			}
		}
	}
	for sev, d := range c.Retention {
		if policies.Severity(sev).Rank() < 0 {
			bad("retention."+sev, "unknown severity (want info, low, medium, high or critical)")
		}
		if d <= 0 {
			bad("retention."+sev, "must be positive")
		}
	}
	if c.MaxPackageBytes < 1<<20 {
		bad("max_package_bytes", "must be at least 1 MiB, got %d", c.MaxPackageBytes)
	}
	return errors.Join(errs...)
}

// RetentionFor returns how long a package of an alert of severity sev is
// kept, falling back to DefaultRetention and then to the longest default.
func (c *Config) RetentionFor(sev string) time.Duration {
	if d, ok := c.Retention[sev]; ok {
		return d.D()
	}
	if d, ok := DefaultRetention[sev]; ok {
		return d.D()
	}
	return DefaultRetention["critical"].D()
}

func validKind(k string) bool {
	for _, a := range allKinds {
		if a == k {
			return true
		}
	}
	return false
}
