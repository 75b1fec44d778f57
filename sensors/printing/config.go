package printing

import (
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
)

// Name is the sensor's registered name and the key of its config section.
const Name = "printing"

// Config is the printing sensor's configuration section.
type Config struct {
	// PageLog is the CUPS page log the sensor follows.
	PageLog string `yaml:"page_log"`
	// CupsdConf is the cupsd configuration file that `vigil sensors check`
	// reads to see whether PageLogFormat is set as the sensor expects.
	CupsdConf string `yaml:"cupsd_conf"`
	// PollInterval is how often the page log is checked for new lines.
	PollInterval time.Duration `yaml:"poll_interval"`
	// JobTimeout is how long per-page lines of a job may wait for the job's
	// "total" line; after that the job is reported from its page lines.
	JobTimeout time.Duration `yaml:"job_timeout"`
	// Resume makes the sensor continue from the offset it saved in its data
	// directory, so jobs printed while the agent was down are reported once.
	// Without saved state it starts at the end of the log.
	Resume bool `yaml:"resume"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		PageLog:      "/var/log/cups/page_log",
		CupsdConf:    "/etc/cups/cupsd.conf",
		PollInterval: time.Second,
		JobTimeout:   2 * time.Minute,
		Resume:       true,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.PageLog == "":
		return errors.New("printing: page_log: must be set")
	case c.PollInterval < 10*time.Millisecond:
		return fmt.Errorf("printing: poll_interval: %v is below the minimum of 10ms", c.PollInterval)
	case c.JobTimeout < c.PollInterval:
		return fmt.Errorf("printing: job_timeout: %v is shorter than poll_interval %v", c.JobTimeout, c.PollInterval)
	}
	return nil
}

// ParseConfig applies the defaults, decodes node strictly and validates.
func ParseConfig(node *yaml.Node) (Config, error) {
	return sensors.ParseConfig(Name, node, DefaultConfig())
}

func init() {
	sensors.Register(sensors.Registration{
		Name:           Name,
		Description:    "print jobs from the CUPS page_log (needs PageLogFormat in cupsd.conf)",
		New:            newSensor,
		DefaultEnabled: true,
	})
}
