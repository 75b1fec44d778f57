package session

import (
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
)

// Name is the sensor's registered name and the key of its config section.
const Name = "session"

// Config is the session sensor's configuration section.
type Config struct {
	// UtmpPath is the file of current sessions, read at start to learn who
	// is logged on, and watched on its own when there is no wtmp file.
	UtmpPath string `yaml:"utmp_path"`
	// WtmpPath is the append-only log of logons and logoffs that the
	// sensor follows.
	WtmpPath string `yaml:"wtmp_path"`
	// PollInterval is how often the files are checked for new records.
	PollInterval time.Duration `yaml:"poll_interval"`
	// Resume makes the sensor continue from the wtmp offset it saved in its
	// data directory, so logons while the agent was down are reported. When
	// false, or without saved state, it starts at the end of the file.
	Resume bool `yaml:"resume"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		UtmpPath:     "/var/run/utmp",
		WtmpPath:     "/var/log/wtmp",
		PollInterval: time.Second,
		Resume:       true,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.UtmpPath == "" && c.WtmpPath == "":
		return errors.New("session: utmp_path and wtmp_path: at least one must be set")
	case c.PollInterval < 10*time.Millisecond:
		return fmt.Errorf("session: poll_interval: %v is below the minimum of 10ms", c.PollInterval)
	}
	return nil
}

// ParseConfig applies the defaults, decodes node strictly and validates.
func ParseConfig(node *yaml.Node) (Config, error) {
	c := DefaultConfig()
	if err := sensors.DecodeStrict(node, &c); err != nil {
		return Config{}, fmt.Errorf("session: decode config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func init() {
	sensors.Register(sensors.Registration{
		Name:           Name,
		Description:    "logons and logoffs from the utmp/wtmp login accounting files",
		New:            newSensor,
		DefaultEnabled: true,
	})
}
