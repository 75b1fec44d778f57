// Package keyboard owns the X11 keyboard sensor: it reads every key event
// of the display through the RECORD extension, emits clipboard-copy,
// clipboard-cut and clipboard-paste events for the clipboard key
// combinations, and feeds the typed text, grouped per window and masked in
// password prompts, to the endpoint's keystroke ring buffer. Keystroke text
// never goes into events.
//
// It must not import the engine, the store, the API or other sensors; X11
// protocol work lives in sensors/x11.
package keyboard

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/evidence"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/x11"
)

// Name is the sensor's registered name and config section.
const Name = "keyboard"

// MaskedText replaces the text of a masked keystroke chunk.
const MaskedText = "<masked>"

func init() {
	sensors.Register(sensors.Registration{
		Name:           Name,
		Description:    "X11 keyboard (RECORD): clipboard key combinations and the keystroke log for evidence",
		New:            factory,
		DefaultEnabled: true,
	})
}

// Config is the keyboard sensor's section of the agent configuration.
type Config struct {
	// Display is the X display to watch; empty means $DISPLAY.
	Display string `yaml:"display"`
	// Keystrokes sends typed text to the evidence ring buffer; default true.
	Keystrokes bool `yaml:"keystrokes"`
	// ChunkIdle ends a keystroke chunk after this long without a key;
	// default 2s.
	ChunkIdle time.Duration `yaml:"chunk_idle"`
	// MaxChunkBytes ends a chunk when its text reaches this size; default 512.
	MaxChunkBytes int `yaml:"max_chunk_bytes"`
	// ComboWait is how long a copy or cut combination waits for the
	// clipboard sensor to pair it with the content that changed, before the
	// keyboard reports it alone; default 1s.
	ComboWait time.Duration `yaml:"combo_wait"`

	x11.MaskConfig `yaml:",inline"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Keystrokes: true, ChunkIdle: 2 * time.Second, MaxChunkBytes: 512, ComboWait: time.Second,
		MaskConfig: x11.DefaultMaskConfig(),
	}
}

// Validate checks the configuration and names the field that is wrong.
func (c *Config) Validate() error {
	if err := x11.CheckDisplay(c.Display); err != nil {
		return fmt.Errorf("keyboard.%w", err)
	}
	if c.ChunkIdle <= 0 {
		return errors.New("keyboard.chunk_idle: must be positive")
	}
	if c.MaxChunkBytes < 16 || c.MaxChunkBytes > 1<<20 {
		return errors.New("keyboard.max_chunk_bytes: must be between 16 and 1048576")
	}
	if c.ComboWait <= 0 || c.ComboWait > time.Minute {
		return errors.New("keyboard.combo_wait: must be between 0 and 1m")
	}
	if err := c.MaskConfig.Validate(); err != nil {
		return fmt.Errorf("keyboard.%w", err)
	}
	return nil
}

// Sensor is the keyboard sensor.
type Sensor struct {
	cfg     Config
	env     sensors.Env
	log     *slog.Logger
	masker  *x11.Masker
	tracker sensors.Tracker
}

var (
	_ sensors.Sensor         = (*Sensor)(nil)
	_ sensors.HealthReporter = (*Sensor)(nil)
)

// New builds the sensor from a validated configuration.
func New(cfg Config, env sensors.Env) (*Sensor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := cfg.Compile()
	if err != nil {
		return nil, fmt.Errorf("keyboard.%w", err)
	}
	return &Sensor{cfg: cfg, env: env, log: env.ComponentLogger(Name), masker: m}, nil
}

// ParseConfig applies the defaults, decodes node strictly and validates.
func ParseConfig(node *yaml.Node) (Config, error) {
	return sensors.ParseConfig(Name, node, DefaultConfig())
}

// Name returns "keyboard".
func (s *Sensor) Name() string { return Name }

// Health reports the sensor's state.
func (s *Sensor) Health() sensors.Health { return s.tracker.Health() }

// processor turns key events into keystroke chunks and clipboard
// combinations. It is not safe for concurrent use; Run owns it.
type processor struct {
	state     x11.KeyState
	masker    *x11.Masker
	sink      sensors.EvidenceSink
	record    bool
	maxChunk  int
	chunk     []byte
	keys      int
	start     time.Time
	last      time.Time
	win       x11.WindowInfo
	masked    bool
	haveChunk bool
}

// press handles one key press in window win at time now and returns the key.
func (p *processor) press(code byte, now time.Time, win *x11.WindowInfo, masked bool) x11.Key {
	k := p.state.Press(code)
	if k.Modifier || !p.record {
		return k
	}
	if p.haveChunk && (!p.win.Same(win) || p.masked != masked) {
		p.flush()
	}
	if !p.haveChunk {
		p.haveChunk, p.start, p.win, p.masked = true, now, *win, masked
	}
	p.keys++
	p.last = now
	if !masked {
		p.chunk = k.AppendText(p.chunk)
	}
	if len(p.chunk) >= p.maxChunk {
		p.flush()
	}
	return k
}

// flush hands the current chunk to the evidence buffer.
func (p *processor) flush() {
	if !p.haveChunk {
		return
	}
	ks := evidence.Keystroke{Time: p.start, Window: p.win.Title, App: p.win.App, Masked: p.masked}
	if p.masked {
		ks.Text = MaskedText
	} else {
		ks.Text = string(p.chunk)
	}
	if p.keys > 0 && p.sink != nil {
		p.sink.RecordKeystroke(ks)
	}
	p.chunk, p.keys, p.haveChunk, p.masked = p.chunk[:0], 0, false, false
}

// comboEvent builds the event for a clipboard key combination; a paste
// carries what the clipboard sensor last read (its text only when neither
// the source nor the target window is masked).
func comboEvent(c x11.Combo, clip *x11.ClipboardState, targetMasked bool) event.Event {
	action := map[string]string{
		"copy": event.ActionClipboardCopy, "cut": event.ActionClipboardCut, "paste": event.ActionClipboardPaste,
	}[c.Op]
	e := event.Event{
		Timestamp: c.Time,
		Event:     event.Meta{ID: event.NewID(c.Time), Action: action, Module: Name, Outcome: "success"},
		Keys:      &event.Keys{Combo: c.Combo},
		Clipboard: &event.Clipboard{Operation: c.Op},
		Window:    c.Window.Window(),
		Process:   c.Window.ProcessField(),
		User:      x11.ProcessUser(c.Window.PID),
	}
	if clip != nil && c.Op == "paste" {
		e.Clipboard.Format = clip.Format
		e.Clipboard.ContentLength = clip.Length
		e.Clipboard.ContentSHA256 = clip.SHA256
		e.Clipboard.SourceApp = clip.SourceApp
		e.Clipboard.Files = clip.Files
		if !clip.Masked && !targetMasked {
			e.Clipboard.Content = clip.Text
		}
	}
	e.Normalize()
	return e
}
