package removable

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
)

// Name is the sensor's registered name and the key of its config section.
const Name = "removable"

// File watch modes, for Config.Mode.
const (
	// ModeAuto uses fanotify when the process may (root, CAP_SYS_ADMIN) and
	// fsnotify otherwise.
	ModeAuto = "auto"
	// ModeFanotify requires fanotify; the sensor fails without it.
	ModeFanotify = "fanotify"
	// ModeFsnotify uses recursive inotify watches through fsnotify.
	ModeFsnotify = "fsnotify"
)

// Process attribution methods, for Config.ProcessAttribution.
const (
	// AttributionPermission adds FAN_OPEN_PERM to the mount marks, so that
	// the writing process is read from /proc while its open(2) of a file on
	// the volume waits for the sensor's answer.
	AttributionPermission = "permission"
	// AttributionNotify uses plain notification events only: nothing ever
	// waits for the sensor, but a process that exits right after writing
	// may be gone before it can be identified.
	AttributionNotify = "notify"
)

// Config is the removable sensor's section of the agent configuration.
type Config struct {
	// Mode chooses how file writes are seen: auto, fanotify or fsnotify.
	Mode string `yaml:"mode"`
	// ProcessAttribution chooses, in fanotify mode, how the writing
	// process is identified: permission or notify.
	ProcessAttribution string `yaml:"process_attribution"`
	// MountPollInterval is how often /proc/self/mountinfo is re-read when
	// the kernel does not signal a change by itself.
	MountPollInterval time.Duration `yaml:"mount_poll_interval"`
	// HashMaxSize is the largest file that gets a SHA-256; larger files are
	// reported with their size and no hash. 0 turns hashing off.
	HashMaxSize ByteSize `yaml:"hash_max_size"`
	// HashWorkers is how many files are hashed at the same time.
	HashWorkers int `yaml:"hash_workers"`
	// QueueSize bounds the files waiting to be hashed; beyond it files are
	// reported without a hash.
	QueueSize int `yaml:"queue_size"`
	// SourceTracking fills file.source_path from the files the writing
	// process has open when it opens the destination.
	SourceTracking bool `yaml:"source_tracking"`
	// USBDevices reports every USB device plugged in or out, not only
	// storage.
	USBDevices bool `yaml:"usb_devices"`
	// IncludeDevices are globs of kernel block device names ("sd*",
	// "loop3", "mmcblk0p1") treated as removable whatever sysfs says.
	IncludeDevices []string `yaml:"include_devices"`
	// ExcludeDevices are globs of block device names never treated as
	// removable; they win over every other rule.
	ExcludeDevices []string `yaml:"exclude_devices"`
	// IncludeMounts are globs of mount points treated as removable whatever
	// backs them.
	IncludeMounts []string `yaml:"include_mounts"`
	// MountPrefixes are directories under which a mounted block device is
	// treated as removable, as desktops mount USB media there.
	MountPrefixes []string `yaml:"mount_prefixes"`
	// FsnotifySettle is how long a file must stay unwritten, in fsnotify
	// mode, before it is hashed and reported.
	FsnotifySettle time.Duration `yaml:"fsnotify_settle"`
	// FsnotifyMaxWatches bounds the directories watched per volume in
	// fsnotify mode.
	FsnotifyMaxWatches int `yaml:"fsnotify_max_watches"`
}

// DefaultConfig returns the configuration used for keys the agent config
// does not set.
func DefaultConfig() Config {
	return Config{
		Mode:               ModeAuto,
		ProcessAttribution: AttributionPermission,
		MountPollInterval:  2 * time.Second,
		HashMaxSize:        256 << 20,
		HashWorkers:        2,
		QueueSize:          4096,
		SourceTracking:     true,
		USBDevices:         true,
		MountPrefixes:      []string{"/media", "/run/media"},
		FsnotifySettle:     time.Second,
		FsnotifyMaxWatches: 8192,
	}
}

// DecodeConfig applies the defaults, decodes node strictly over them and
// validates the result. A nil node gives the defaults.
func DecodeConfig(node *yaml.Node) (Config, error) {
	cfg := DefaultConfig()
	if err := sensors.DecodeStrict(node, &cfg); err != nil {
		return Config{}, fmt.Errorf("sensor %q: decode config: %w", Name, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("sensor %q: %w", Name, err)
	}
	return cfg, nil
}

// Validate checks the configuration and returns every problem, each naming
// its field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch c.Mode {
	case ModeAuto, ModeFanotify, ModeFsnotify:
	default:
		bad("mode", "want auto, fanotify or fsnotify, got %q", c.Mode)
	}
	switch c.ProcessAttribution {
	case AttributionPermission, AttributionNotify:
	default:
		bad("process_attribution", "want permission or notify, got %q", c.ProcessAttribution)
	}
	if c.MountPollInterval < 100*time.Millisecond || c.MountPollInterval > time.Hour {
		bad("mount_poll_interval", "want from 100ms to 1h, got %s", c.MountPollInterval)
	}
	if c.HashMaxSize < 0 {
		bad("hash_max_size", "must not be negative")
	}
	if c.HashWorkers < 1 || c.HashWorkers > 64 {
		bad("hash_workers", "want from 1 to 64, got %d", c.HashWorkers)
	}
	if c.QueueSize < 1 || c.QueueSize > 1<<20 {
		bad("queue_size", "want from 1 to 1048576, got %d", c.QueueSize)
	}
	if c.FsnotifySettle < 10*time.Millisecond || c.FsnotifySettle > time.Minute {
		bad("fsnotify_settle", "want from 10ms to 1m, got %s", c.FsnotifySettle)
	}
	if c.FsnotifyMaxWatches < 1 {
		bad("fsnotify_max_watches", "must be at least 1, got %d", c.FsnotifyMaxWatches)
	}
	for field, globs := range map[string][]string{
		"include_devices": c.IncludeDevices,
		"exclude_devices": c.ExcludeDevices,
		"include_mounts":  c.IncludeMounts,
	} {
		for i, g := range globs {
			if g == "" {
				bad(field+"["+strconv.Itoa(i)+"]", "empty pattern")
				continue
			}
			if _, err := path.Match(g, ""); err != nil {
				bad(field+"["+strconv.Itoa(i)+"]", "bad pattern %q: %v", g, err)
			}
		}
	}
	for i, d := range c.IncludeMounts {
		if d != "" && !strings.HasPrefix(d, "/") {
			bad("include_mounts["+strconv.Itoa(i)+"]", "want an absolute path pattern, got %q", d)
		}
	}
	for i, d := range c.MountPrefixes {
		if !strings.HasPrefix(d, "/") {
			bad("mount_prefixes["+strconv.Itoa(i)+"]", "want an absolute directory, got %q", d)
		}
	}
	return errors.Join(errs...)
}

// ByteSize is a number of bytes, written in YAML as a plain integer or
// with a unit: "512KiB", "64MiB", "1GiB", "10MB".
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
}

// ParseByteSize parses "64MiB", "10MB", "4096" and the like.
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse byte size %q: want an integer with an optional unit such as MiB", s)
	}
	if n < 0 || (n > 0 && mult > 1 && n > (1<<62)/mult) {
		return 0, fmt.Errorf("parse byte size %q: out of range", s)
	}
	return ByteSize(n * mult), nil
}

// UnmarshalYAML accepts an integer or a string with a unit.
func (b *ByteSize) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a byte size such as 64MiB", node.Line)
	}
	v, err := ParseByteSize(node.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", node.Line, err)
	}
	*b = v
	return nil
}

// String formats the size with the largest binary unit that divides it.
func (b ByteSize) String() string {
	n := int64(b)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
