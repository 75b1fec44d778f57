package browser

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/netconn"
)

// Name is the sensor's registered name and the key of its config section.
const Name = "browser"

// Browser names, as used in the browsers config key and the event label.
const (
	Firefox  = "firefox"
	Chrome   = "chrome"
	Chromium = "chromium"
	Edge     = "edge"
	Brave    = "brave"
)

// AllBrowsers lists every browser the sensor knows, in a stable order.
var AllBrowsers = []string{Firefox, Chrome, Chromium, Edge, Brave}

// IncludeAll is the include_categories value that reports every visit,
// classified or not.
const IncludeAll = "all"

// Config is the browser sensor's configuration section.
type Config struct {
	// Homes are glob patterns of the home directories searched for browser
	// profiles.
	Homes []string `yaml:"homes"`
	// Browsers are the browsers whose profiles are read.
	Browsers []string `yaml:"browsers"`
	// PollInterval is how often every database is checked for a change
	// (size and modification time of the file and its journal) in case a
	// file notification was missed; a changed database is then read.
	PollInterval time.Duration `yaml:"poll_interval"`
	// Debounce is how long the sensor waits after a database changed
	// before copying it, so a burst of writes costs one copy.
	Debounce time.Duration `yaml:"debounce"`
	// Rescan is how often the homes are searched again for new profiles.
	Rescan time.Duration `yaml:"rescan"`
	// IncludeCategories selects the visits reported: those to domains of
	// these categories of the classification list (cloud-storage,
	// webmail, paste, file-sharing), or every visit with "all". Empty
	// reports no visits.
	IncludeCategories []string `yaml:"include_categories"`
	// Downloads reports every finished download, whatever its domain.
	Downloads bool `yaml:"downloads"`
	// Domains are added to the shipped classification list; an entry for
	// a domain already listed replaces it.
	Domains []netconn.Domain `yaml:"domains"`
	// IncludeQuery keeps the query string of URLs in events. Off by
	// default: queries carry search terms, tokens and identifiers.
	IncludeQuery bool `yaml:"include_query"`
	// IncludeTitles reports page titles (label "title").
	IncludeTitles bool `yaml:"include_titles"`
	// MaxRowsPerPoll bounds the visits, and separately the downloads, read
	// from one database in one read; the rest is read right after.
	MaxRowsPerPoll int `yaml:"max_rows_per_poll"`
	// Backfill is how far back a database seen for the first time (no
	// saved cursor) is read; older history is skipped.
	Backfill time.Duration `yaml:"backfill"`
	// TempDir is where databases are copied to be read ("" for the
	// system's temporary directory). Copies are removed after each read.
	TempDir string `yaml:"temp_dir"`
	// Resume continues from the cursors saved in the data directory.
	Resume bool `yaml:"resume"`
}

// DefaultConfig returns the defaults for the OS the agent runs on.
func DefaultConfig() Config {
	c := Config{
		Browsers:     slices.Clone(AllBrowsers),
		PollInterval: 15 * time.Second,
		Debounce:     2 * time.Second,
		Rescan:       time.Minute,
		IncludeCategories: []string{
			netconn.CategoryCloudStorage, netconn.CategoryWebmail,
			netconn.CategoryPaste, netconn.CategoryFileSharing,
		},
		Downloads:      true,
		IncludeTitles:  true,
		MaxRowsPerPoll: 5000,
		Backfill:       time.Hour,
		Resume:         true,
	}
	switch runtime.GOOS {
	case "windows":
		c.Homes = []string{`C:\Users\*`}
	case "darwin":
		c.Homes = []string{"/Users/*"}
	default:
		c.Homes = []string{"/home/*", "/root"}
	}
	return c
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	for i, p := range c.Homes {
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("browser: homes[%d]: %q: %w", i, p, err)
		}
	}
	for i, b := range c.Browsers {
		if !slices.Contains(AllBrowsers, b) {
			return fmt.Errorf("browser: browsers[%d]: %q is not one of %s", i, b, strings.Join(AllBrowsers, ", "))
		}
	}
	for i, cat := range c.IncludeCategories {
		switch cat {
		case IncludeAll, netconn.CategoryCloudStorage, netconn.CategoryWebmail,
			netconn.CategoryPaste, netconn.CategoryFileSharing:
		default:
			return fmt.Errorf("browser: include_categories[%d]: %q is not all, cloud-storage, webmail, paste or file-sharing", i, cat)
		}
	}
	for i, d := range c.Domains {
		if err := validateDomain(d); err != nil {
			return fmt.Errorf("browser: domains[%d]: %w", i, err)
		}
	}
	switch {
	case c.PollInterval < 10*time.Millisecond:
		return fmt.Errorf("browser: poll_interval: %v is below the minimum of 10ms", c.PollInterval)
	case c.Debounce < 0:
		return fmt.Errorf("browser: debounce: %v is negative", c.Debounce)
	case c.Rescan < 10*time.Millisecond:
		return fmt.Errorf("browser: rescan: %v is below the minimum of 10ms", c.Rescan)
	case c.MaxRowsPerPoll < 1:
		return fmt.Errorf("browser: max_rows_per_poll: %d is below 1", c.MaxRowsPerPoll)
	case c.Backfill < 0:
		return fmt.Errorf("browser: backfill: %v is negative", c.Backfill)
	}
	return nil
}

// validateDomain checks an entry of the domains key the way the shipped
// list's entries are checked.
func validateDomain(d netconn.Domain) error {
	switch d.Category {
	case netconn.CategoryCloudStorage, netconn.CategoryWebmail, netconn.CategoryPaste, netconn.CategoryFileSharing:
	default:
		return fmt.Errorf("category: %q is not cloud-storage, webmail, paste or file-sharing", d.Category)
	}
	if d.Domain == "" || strings.ContainsAny(d.Domain, " /@*:") || strings.Trim(d.Domain, ".") != d.Domain {
		return fmt.Errorf("domain: %q is not a domain name", d.Domain)
	}
	return nil
}

// ParseConfig applies the defaults, decodes node strictly and validates.
func ParseConfig(node *yaml.Node) (Config, error) {
	c := DefaultConfig()
	if err := sensors.DecodeStrict(node, &c); err != nil {
		return Config{}, fmt.Errorf("browser: decode config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func init() {
	sensors.Register(sensors.Registration{
		Name:           Name,
		Description:    "web visits and downloads from the history databases of Firefox, Chrome, Chromium, Edge and Brave",
		New:            newSensor,
		DefaultEnabled: true,
	})
}

func newSensor(node *yaml.Node, env sensors.Env) (sensors.Sensor, error) {
	cfg, err := ParseConfig(node)
	if err != nil {
		return nil, err
	}
	return New(cfg, env), nil
}
