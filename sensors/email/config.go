package email

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/owner"
)

// Name is the sensor's registered name and the key of its config section.
const Name = "email"

// Folder formats.
const (
	FormatMbox    = "mbox"
	FormatMaildir = "maildir"
)

// Folder is a Sent folder to watch.
type Folder struct {
	// Path is the mbox file or the Maildir directory (the one holding cur
	// and new).
	Path string `yaml:"path"`
	// Format is "mbox" or "maildir"; empty means decided from the path.
	Format string `yaml:"format"`
	// Client names the mail client, reported as email.client.
	Client string `yaml:"client"`
}

// Config is the email sensor's configuration section.
type Config struct {
	// OrganisationDomains are the organisation's own mail domains; a
	// recipient in none of them (or their sub-domains) is external. When
	// empty, the sender's domain is taken as the organisation's.
	OrganisationDomains []string `yaml:"organisation_domains"`
	// Homes are glob patterns of the home directories searched for mail
	// client profiles.
	Homes []string `yaml:"homes"`
	// DiscoverClients turns on the search of Homes for the Sent folders of
	// Thunderbird and Evolution.
	DiscoverClients bool `yaml:"discover_clients"`
	// SentFolders are watched in addition to the discovered ones.
	SentFolders []Folder `yaml:"sent_folders"`
	// PostfixLogs are the syslog files in which postfix logs; the first
	// that exists is followed.
	PostfixLogs []string `yaml:"postfix_logs"`
	// PostfixLocalOnly reports only mail submitted on this machine (by
	// sendmail, or by a client on the loopback address), not mail that
	// postfix relays for other hosts.
	PostfixLocalOnly bool `yaml:"postfix_local_only"`
	// PollInterval is how often the postfix log is read and changed
	// folders are looked at.
	PollInterval time.Duration `yaml:"poll_interval"`
	// Settle is how long a folder must be quiet before new messages in it
	// are read, so a message being written is read whole.
	Settle time.Duration `yaml:"settle"`
	// Rescan is how often Homes are searched again for new profiles.
	Rescan time.Duration `yaml:"rescan"`
	// MaxMessageBytes is the largest message parsed; larger ones are
	// counted as errors and skipped.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// Resume makes the sensor continue from the offsets it saved, so
	// messages sent while the agent was down are reported once.
	Resume bool `yaml:"resume"`
}

// DefaultConfig returns the defaults for the OS the agent runs on.
func DefaultConfig() Config {
	c := Config{
		DiscoverClients:  true,
		PostfixLocalOnly: true,
		PollInterval:     time.Second,
		Settle:           time.Second,
		Rescan:           time.Minute,
		MaxMessageBytes:  64 << 20,
		Resume:           true,
		Homes:            owner.HomeGlobs(),
	}
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		c.PostfixLogs = []string{"/var/log/mail.log", "/var/log/maillog"}
	}
	return c
}

// Validate reports the first invalid field. It also lower-cases the
// organisation domains.
func (c *Config) Validate() error {
	for i, d := range c.OrganisationDomains {
		d = strings.ToLower(strings.Trim(strings.TrimSpace(d), "."))
		if d == "" || strings.ContainsAny(d, "@ /") {
			return fmt.Errorf("email: organisation_domains[%d]: %q is not a domain", i, c.OrganisationDomains[i])
		}
		c.OrganisationDomains[i] = d
	}
	for i, f := range c.SentFolders {
		switch {
		case f.Path == "":
			return fmt.Errorf("email: sent_folders[%d].path: must be set", i)
		case f.Format != "" && f.Format != FormatMbox && f.Format != FormatMaildir:
			return fmt.Errorf("email: sent_folders[%d].format: %q is not mbox or maildir", i, f.Format)
		}
	}
	switch {
	case c.PollInterval < 10*time.Millisecond:
		return fmt.Errorf("email: poll_interval: %v is below the minimum of 10ms", c.PollInterval)
	case c.Settle < 0:
		return errors.New("email: settle: must not be negative")
	case c.Rescan < time.Second:
		return fmt.Errorf("email: rescan: %v is below the minimum of 1s", c.Rescan)
	case c.MaxMessageBytes < 1024:
		return fmt.Errorf("email: max_message_bytes: %d is below the minimum of 1024", c.MaxMessageBytes)
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
		Description:    "sent mail from Thunderbird/Evolution Sent folders (mbox, Maildir) and the postfix log",
		New:            sensors.NewFactory(ParseConfig, sensors.Infallible(New)),
		DefaultEnabled: true,
	})
}
