// Package window owns the X11 window sensor: it follows the focused window
// (_NET_ACTIVE_WINDOW, else the input focus) and emits window-focused with
// the application, title, WM_CLASS, pid and, for browsers that show it in
// the title, the URL; and it reports screen-lock and screen-unlock when the
// X server's screen saver (MIT-SCREEN-SAVER) turns on and off.
//
// It must not import the engine, the store, the API or other sensors; X11
// protocol work lives in sensors/x11.
package window

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/x11"
)

// Name is the sensor's registered name and config section.
const Name = "window"

func init() {
	sensors.Register(sensors.Registration{
		Name:           Name,
		Description:    "X11 focused window and application (EWMH), screen lock and unlock (MIT-SCREEN-SAVER)",
		New:            factory,
		DefaultEnabled: true,
	})
}

// Config is the window sensor's section of the agent configuration.
type Config struct {
	// Display is the X display to watch; empty means $DISPLAY.
	Display string `yaml:"display"`
	// TitleChanges emits window-focused again when the focused window's
	// title changes (a browser switching tabs); default true.
	TitleChanges bool `yaml:"title_changes"`
	// PollInterval is how often the input focus is read when no window
	// manager publishes _NET_ACTIVE_WINDOW; default 1s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// ScreenSaver reports screen-lock and screen-unlock from the X screen
	// saver; default true.
	ScreenSaver bool `yaml:"screen_saver"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{TitleChanges: true, PollInterval: time.Second, ScreenSaver: true}
}

// Validate checks the configuration and names the field that is wrong.
func (c *Config) Validate() error {
	if err := x11.CheckDisplay(c.Display); err != nil {
		return fmt.Errorf("window.%w", err)
	}
	if c.PollInterval < 100*time.Millisecond || c.PollInterval > time.Minute {
		return errors.New("window.poll_interval: must be between 100ms and 1m")
	}
	return nil
}

// ParseConfig applies the defaults, decodes node strictly and validates.
func ParseConfig(node *yaml.Node) (Config, error) {
	return sensors.ParseConfig(Name, node, DefaultConfig())
}

// Sensor is the window sensor.
type Sensor struct {
	cfg     Config
	env     sensors.Env
	log     *slog.Logger
	tracker sensors.Tracker
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
	return &Sensor{cfg: cfg, env: env, log: env.ComponentLogger(Name)}, nil
}

// Name returns "window".
func (s *Sensor) Name() string { return Name }

// Health reports the sensor's state.
func (s *Sensor) Health() sensors.Health { return s.tracker.Health() }

// focusEvent builds the window-focused event for w.
func focusEvent(now time.Time, w *x11.WindowInfo) event.Event {
	e := event.Event{
		Timestamp: now,
		Event:     event.Meta{ID: event.NewID(now), Action: event.ActionWindowFocused, Module: Name, Outcome: "success"},
		Window:    w.Window(),
		Process:   w.ProcessField(),
		User:      x11.ProcessUser(w.PID),
	}
	e.Normalize()
	return e
}

// lockEvent builds a screen-lock or screen-unlock event; user is whoever
// owns the focused window, when known.
func lockEvent(now time.Time, locked bool, display string, user *event.User) event.Event {
	action, msg := event.ActionScreenUnlock, "X screen saver turned off"
	if locked {
		action, msg = event.ActionScreenLock, "X screen saver turned on"
	}
	e := event.Event{
		Timestamp: now,
		Message:   msg,
		Event:     event.Meta{ID: event.NewID(now), Action: action, Module: Name, Outcome: "success"},
		Session:   &event.Session{Type: "x11", TTY: display},
		User:      user,
	}
	e.Normalize()
	return e
}
