// Package clipboard owns the X11 clipboard sensor: XFixes tells it when the
// CLIPBOARD or PRIMARY selection changes owner, it reads the new content
// (text, file lists, images; INCR transfers for large content) up to a size
// cap, and emits clipboard-copy or clipboard-cut with the content's length,
// SHA-256, format and source application, and its text only where the
// configuration allows. It records each change in the endpoint's clipboard
// ring buffer, and pairs copy and cut key combinations seen by the keyboard
// sensor with the content they put on the clipboard.
//
// It must not import the engine, the store, the API or other sensors; X11
// protocol work lives in sensors/x11.
package clipboard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/x11"
)

// Name is the sensor's registered name and config section.
const Name = "clipboard"

func init() {
	sensors.Register(sensors.Registration{
		Name:           Name,
		Description:    "X11 clipboard (XFixes): copies with content length, hash, source app and, if allowed, text",
		New:            factory,
		DefaultEnabled: true,
	})
}

// Selections the sensor can watch.
const (
	SelectionClipboard = "CLIPBOARD"
	SelectionPrimary   = "PRIMARY"
)

// Config is the clipboard sensor's section of the agent configuration.
type Config struct {
	// Display is the X display to watch; empty means $DISPLAY.
	Display string `yaml:"display"`
	// Selections are the X selections watched; default CLIPBOARD and PRIMARY.
	Selections []string `yaml:"selections"`
	// EmitPrimary makes PRIMARY changes (every mouse selection) events too;
	// by default they only go to the evidence buffer.
	EmitPrimary bool `yaml:"emit_primary"`
	// IncludeText puts the content text into events (clipboard.content);
	// default false.
	IncludeText bool `yaml:"include_text"`
	// EvidenceText puts the content text into the evidence ring buffer;
	// default true.
	EvidenceText bool `yaml:"evidence_text"`
	// MaxTextBytes truncates the text kept in events and evidence; default 4096.
	MaxTextBytes int `yaml:"max_text_bytes"`
	// MaxReadBytes is how much content is read to count and hash; past it the
	// event says the length announced and carries no hash. Default 16 MiB.
	MaxReadBytes int64 `yaml:"max_read_bytes"`
	// Timeout bounds each step of a transfer from the owner; default 3s.
	Timeout time.Duration `yaml:"timeout"`
	// ComboWindow is how long before a CLIPBOARD change a copy or cut key
	// combination may have been pressed to be paired with it; default 2s.
	ComboWindow time.Duration `yaml:"combo_window"`

	x11.MaskConfig `yaml:",inline"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Selections:   []string{SelectionClipboard, SelectionPrimary},
		EvidenceText: true, MaxTextBytes: 4096, MaxReadBytes: 16 << 20,
		Timeout: 3 * time.Second, ComboWindow: 2 * time.Second,
		MaskConfig: x11.DefaultMaskConfig(),
	}
}

// Validate checks the configuration and names the field that is wrong.
func (c *Config) Validate() error {
	if err := x11.CheckDisplay(c.Display); err != nil {
		return fmt.Errorf("clipboard.%w", err)
	}
	if len(c.Selections) == 0 {
		return errors.New("clipboard.selections: at least one selection is needed")
	}
	for i, s := range c.Selections {
		if s != SelectionClipboard && s != SelectionPrimary {
			return fmt.Errorf("clipboard.selections[%d]: %q is not CLIPBOARD or PRIMARY", i, s)
		}
	}
	if c.MaxTextBytes < 0 || c.MaxTextBytes > 1<<20 {
		return errors.New("clipboard.max_text_bytes: must be between 0 and 1048576")
	}
	if c.MaxReadBytes < 1024 || c.MaxReadBytes > 1<<30 {
		return errors.New("clipboard.max_read_bytes: must be between 1024 and 1073741824")
	}
	if c.Timeout <= 0 || c.Timeout > time.Minute {
		return errors.New("clipboard.timeout: must be between 0 and 1m")
	}
	if c.ComboWindow <= 0 || c.ComboWindow > time.Minute {
		return errors.New("clipboard.combo_window: must be between 0 and 1m")
	}
	if err := c.MaskConfig.Validate(); err != nil {
		return fmt.Errorf("clipboard.%w", err)
	}
	return nil
}

// ParseConfig applies the defaults, decodes node strictly and validates.
func ParseConfig(node *yaml.Node) (Config, error) {
	return sensors.ParseConfig(Name, node, DefaultConfig())
}

// Sensor is the clipboard sensor.
type Sensor struct {
	cfg     Config
	env     sensors.Env
	log     *slog.Logger
	masker  *x11.Masker
	tracker sensors.Tracker
	// incrTransfers counts selections read through INCR.
	incrTransfers atomic.Int64
}

var (
	_ sensors.Sensor         = (*Sensor)(nil)
	_ sensors.HealthReporter = (*Sensor)(nil)
)

// New builds the sensor from a configuration.
func New(cfg Config, env sensors.Env) (*Sensor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := cfg.Compile()
	if err != nil {
		return nil, fmt.Errorf("clipboard.%w", err)
	}
	return &Sensor{cfg: cfg, env: env, log: env.ComponentLogger(Name), masker: m}, nil
}

// Name returns "clipboard".
func (s *Sensor) Name() string { return Name }

// Health reports the sensor's state.
func (s *Sensor) Health() sensors.Health { return s.tracker.Health() }

// Formats of clipboard content.
const (
	FormatText  = "text"
	FormatFiles = "files"
	FormatImage = "image"
)

// ParseURIList decodes a text/uri-list (or x-special/gnome-copied-files)
// value into local paths, or the URIs themselves when they are not file://
// ones. For gnome-copied-files the first line says "copy" or "cut"; cut is
// reported.
func ParseURIList(b []byte) (paths []string, cut bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	first := true
	for sc.Scan() {
		// Lists may end in a NUL; NULs and spaces around an entry are
		// padding, in any order.
		line := strings.TrimFunc(sc.Text(), isPadding)
		if first {
			first = false
			if line == "cut" || line == "copy" {
				cut = line == "cut"
				continue
			}
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if u, err := url.Parse(line); err == nil && u.Scheme == "file" && u.Path != "" {
			paths = append(paths, u.Path)
			continue
		}
		paths = append(paths, line)
	}
	return paths, cut
}

// isPadding reports whether r pads an entry of a URI list.
func isPadding(r rune) bool { return r == 0 || unicode.IsSpace(r) }

// Truncate cuts s to at most n bytes without splitting a character.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
