package netconn

import (
	"fmt"
	"net/netip"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
)

// Name is the sensor's registered name and the key of its config section.
const Name = "netconn"

// Which connections become connection-opened events.
const (
	ConnectionsClassified = "classified" // destinations in the domain list
	ConnectionsNamed      = "named"      // destinations with a known name
	ConnectionsAll        = "all"        // every outbound connection
	ConnectionsNone       = "none"       // none; web-upload events only
)

// DNS fallbacks, used when the packet capture cannot be opened.
const (
	FallbackResolveList = "resolve-list"
	FallbackNone        = "none"
)

// Config is the netconn sensor's configuration section.
type Config struct {
	// PollInterval is how often the socket tables are read. Connections
	// that open and close between two reads are not seen.
	PollInterval time.Duration `yaml:"poll_interval"`
	// Connections says which outbound connections are reported as
	// connection-opened: classified, named, all or none.
	Connections string `yaml:"connections"`
	// UploadMinBytes is the least a connection must send in one burst to
	// be reported as a web-upload.
	UploadMinBytes int64 `yaml:"upload_min_bytes"`
	// UploadIdle ends a burst: a connection that sent nothing for this
	// long (or closed) has its burst reported.
	UploadIdle time.Duration `yaml:"upload_idle"`
	// WebPorts are the destination ports whose uploads count as web
	// uploads; empty means every port.
	WebPorts []int `yaml:"web_ports"`
	// DNSCapture turns on the AF_PACKET capture of DNS answers (UDP source
	// port 53). It needs root or CAP_NET_RAW.
	DNSCapture bool `yaml:"dns_capture"`
	// DNSFallback is how destinations are named when the capture is off or
	// cannot be opened: "resolve-list" resolves every domain of the list
	// every DNSFallbackInterval and names the addresses it gets; "none"
	// names only from Hosts and HostsFile.
	DNSFallback string `yaml:"dns_fallback"`
	// DNSFallbackInterval is how often resolve-list runs.
	DNSFallbackInterval time.Duration `yaml:"dns_fallback_interval"`
	// NameMinTTL keeps a name at least this long after its answer, however
	// short the record's TTL.
	NameMinTTL time.Duration `yaml:"name_min_ttl"`
	// MaxNames bounds the addresses remembered.
	MaxNames int `yaml:"max_names"`
	// Hosts names addresses statically: address → domain.
	Hosts map[string]string `yaml:"hosts"`
	// HostsFile is read at start for more static names ("" for none).
	HostsFile string `yaml:"hosts_file"`
	// Domains are added to the shipped classification list; an entry for
	// a domain already listed replaces it.
	Domains []Domain `yaml:"domains"`
	// IncludeLoopback also reports connections to loopback addresses.
	IncludeLoopback bool `yaml:"include_loopback"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		PollInterval:        time.Second,
		Connections:         ConnectionsClassified,
		UploadMinBytes:      1 << 20,
		UploadIdle:          3 * time.Second,
		WebPorts:            []int{80, 443, 8080, 8443},
		DNSCapture:          true,
		DNSFallback:         FallbackResolveList,
		DNSFallbackInterval: 10 * time.Minute,
		NameMinTTL:          time.Hour,
		MaxNames:            65536,
		HostsFile:           "/etc/hosts",
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch c.Connections {
	case ConnectionsClassified, ConnectionsNamed, ConnectionsAll, ConnectionsNone:
	default:
		return fmt.Errorf("netconn: connections: %q is not classified, named, all or none", c.Connections)
	}
	switch c.DNSFallback {
	case FallbackResolveList, FallbackNone:
	default:
		return fmt.Errorf("netconn: dns_fallback: %q is not resolve-list or none", c.DNSFallback)
	}
	for i, p := range c.WebPorts {
		if p < 1 || p > 65535 {
			return fmt.Errorf("netconn: web_ports[%d]: %d is not a port", i, p)
		}
	}
	for a, d := range c.Hosts {
		if _, err := netip.ParseAddr(a); err != nil {
			return fmt.Errorf("netconn: hosts: %q is not an IP address", a)
		}
		if d == "" {
			return fmt.Errorf("netconn: hosts[%s]: empty name", a)
		}
	}
	for i, d := range c.Domains {
		if err := d.validate(); err != nil {
			return fmt.Errorf("netconn: domains[%d]: %w", i, err)
		}
	}
	switch {
	case c.PollInterval < 10*time.Millisecond:
		return fmt.Errorf("netconn: poll_interval: %v is below the minimum of 10ms", c.PollInterval)
	case c.UploadMinBytes < 1:
		return fmt.Errorf("netconn: upload_min_bytes: %d is below 1", c.UploadMinBytes)
	case c.UploadIdle < 0:
		return fmt.Errorf("netconn: upload_idle: %v is negative", c.UploadIdle)
	case c.DNSFallbackInterval < time.Minute:
		return fmt.Errorf("netconn: dns_fallback_interval: %v is below the minimum of 1m", c.DNSFallbackInterval)
	case c.NameMinTTL < 0:
		return fmt.Errorf("netconn: name_min_ttl: %v is negative", c.NameMinTTL)
	case c.MaxNames < 16:
		return fmt.Errorf("netconn: max_names: %d is below the minimum of 16", c.MaxNames)
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
		Description:    "outbound TCP connections per process, named from DNS answers; uploads to cloud, webmail, paste and file-sharing sites",
		New:            newSensor,
		DefaultEnabled: true,
	})
}
