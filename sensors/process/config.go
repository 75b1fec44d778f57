package process

import (
	"fmt"
	"path"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
)

// Name is the sensor's registered name and the key of its config section.
const Name = "process"

// Modes: how the sensor learns about processes.
const (
	// ModeAuto uses the process connector when it can, else scans /proc.
	ModeAuto = "auto"
	// ModeNetlink uses only the kernel process connector (root needed).
	ModeNetlink = "netlink"
	// ModeProcScan scans /proc every scan_interval; processes that live
	// shorter than that are missed.
	ModeProcScan = "procscan"
)

// Config is the process sensor's configuration section.
type Config struct {
	// Mode is "auto", "netlink" or "procscan".
	Mode string `yaml:"mode"`
	// ScanInterval is the /proc scan period in procscan mode.
	ScanInterval time.Duration `yaml:"scan_interval"`
	// ExcludeExecutables are glob patterns (path.Match) of executables
	// whose processes produce no events. A pattern without a slash
	// matches the base name, such as "sleep"; one with a slash the
	// whole path, such as "/usr/lib/*/*".
	ExcludeExecutables []string `yaml:"exclude_executables"`
	// ExcludeUsers are user names or numeric uids whose processes produce
	// no events.
	ExcludeUsers []string `yaml:"exclude_users"`
	// EmitEnded turns process-ended events on.
	EmitEnded bool `yaml:"emit_ended"`
	// Hash turns the SHA-256 of the executable on.
	Hash bool `yaml:"hash"`
	// HashMaxBytes is the largest executable that is hashed.
	HashMaxBytes int64 `yaml:"hash_max_bytes"`
	// HashCacheEntries bounds the hash cache.
	HashCacheEntries int `yaml:"hash_cache_entries"`
	// MaxEventsPerSecond bounds the event rate (bursts up to the same
	// number); events above it are dropped and counted. 0 means no limit.
	MaxEventsPerSecond int `yaml:"max_events_per_second"`
	// MaxTracked bounds how many live processes the sensor remembers so
	// that their process-ended event can carry their details.
	MaxTracked int `yaml:"max_tracked"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Mode:               ModeAuto,
		ScanInterval:       time.Second,
		EmitEnded:          true,
		Hash:               true,
		HashMaxBytes:       64 << 20,
		HashCacheEntries:   4096,
		MaxEventsPerSecond: 500,
		MaxTracked:         32768,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch c.Mode {
	case ModeAuto, ModeNetlink, ModeProcScan:
	default:
		return fmt.Errorf("process: mode: %q is not one of auto, netlink, procscan", c.Mode)
	}
	if c.ScanInterval < 10*time.Millisecond {
		return fmt.Errorf("process: scan_interval: %v is below the minimum of 10ms", c.ScanInterval)
	}
	for i, p := range c.ExcludeExecutables {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("process: exclude_executables[%d]: bad pattern %q: %w", i, p, err)
		}
	}
	switch {
	case c.HashMaxBytes < 0:
		return fmt.Errorf("process: hash_max_bytes: %d is negative", c.HashMaxBytes)
	case c.HashCacheEntries < 1:
		return fmt.Errorf("process: hash_cache_entries: %d must be at least 1", c.HashCacheEntries)
	case c.MaxEventsPerSecond < 0:
		return fmt.Errorf("process: max_events_per_second: %d is negative", c.MaxEventsPerSecond)
	case c.MaxTracked < 1:
		return fmt.Errorf("process: max_tracked: %d must be at least 1", c.MaxTracked)
	}
	return nil
}

// ParseConfig applies the defaults, decodes node strictly and validates.
func ParseConfig(node *yaml.Node) (Config, error) {
	c := DefaultConfig()
	if err := sensors.DecodeStrict(node, &c); err != nil {
		return Config{}, fmt.Errorf("process: decode config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// excluded reports whether exe matches one of the patterns.
func excluded(patterns []string, exe string) bool {
	base := path.Base(exe)
	for _, p := range patterns {
		target := exe
		if !containsSlash(p) {
			target = base
		}
		if ok, _ := path.Match(p, target); ok {
			return true
		}
	}
	return false
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}

func init() {
	sensors.Register(sensors.Registration{
		Name:           Name,
		Description:    "process starts and exits (kernel process connector, /proc scan fallback)",
		New:            newSensor,
		DefaultEnabled: true,
	})
}
