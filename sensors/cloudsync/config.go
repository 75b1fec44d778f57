package cloudsync

import (
	"fmt"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/owner"
)

// Name is the sensor's registered name and the key of its config section.
const Name = "cloudsync"

// Folder is a synchronised folder to watch.
type Folder struct {
	// Path is the folder's root.
	Path string `yaml:"path"`
	// Provider is reported as destination.cloud_provider, such as
	// "dropbox" or "onedrive-business".
	Provider string `yaml:"provider"`
}

// Config is the cloud-sync sensor's configuration section.
type Config struct {
	// Homes are glob patterns of the home directories searched for the
	// default sync folders.
	Homes []string `yaml:"homes"`
	// DefaultFolders turns on the search of Homes for the sync folders of
	// known clients, at their default places and where the clients'
	// settings say they were moved.
	DefaultFolders bool `yaml:"default_folders"`
	// Folders are watched in addition to the default ones.
	Folders []Folder `yaml:"folders"`
	// Ignore are file-name patterns (path.Match syntax, matched against the
	// base name) of files and directories never reported: the clients'
	// own caches and temporary files, editors' lock files.
	Ignore []string `yaml:"ignore"`
	// HashMaxBytes bounds hashing: larger files are reported without
	// file.hash. Hashing streams, so memory does not grow with it.
	HashMaxBytes int64 `yaml:"hash_max_bytes"`
	// Settle is how long a file must be left alone before it is reported,
	// so a copy in progress is reported once, when it is complete.
	Settle time.Duration `yaml:"settle"`
	// Rescan is how often Homes are searched again for sync folders that
	// appeared.
	Rescan time.Duration `yaml:"rescan"`
	// MaxWatches bounds the directories watched; beyond it deeper
	// directories are not watched and the health says so.
	MaxWatches int `yaml:"max_watches"`
}

// DefaultIgnore are the default Ignore patterns.
var DefaultIgnore = []string{
	".dropbox", ".dropbox.cache", ".dropbox.attr", ".tmp.drivedownload", ".tmp.driveupload",
	".sync_*.db*", "._sync_*.db*", ".owncloudsync.log*", ".nextcloudsync.log*", ".sync",
	".debris", ".megaignore", ".~lock.*#", "~$*", "*.part", "*.crdownload", "*.tmp", "*.swp",
	".DS_Store", "desktop.ini", "Thumbs.db", ".goutputstream-*",
}

// DefaultConfig returns the defaults for the OS the agent runs on.
func DefaultConfig() Config {
	return Config{
		DefaultFolders: true,
		Ignore:         append([]string(nil), DefaultIgnore...),
		HashMaxBytes:   64 << 20,
		Settle:         2 * time.Second,
		Rescan:         time.Minute,
		MaxWatches:     8192,
		Homes:          owner.HomeGlobs(),
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	for i, f := range c.Folders {
		switch {
		case f.Path == "":
			return fmt.Errorf("cloudsync: folders[%d].path: must be set", i)
		case f.Provider == "":
			return fmt.Errorf("cloudsync: folders[%d].provider: must be set", i)
		}
	}
	for i, p := range c.Ignore {
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("cloudsync: ignore[%d]: %q: %w", i, p, err)
		}
	}
	for i, p := range c.Homes {
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("cloudsync: homes[%d]: %q: %w", i, p, err)
		}
	}
	switch {
	case c.HashMaxBytes < 0:
		return fmt.Errorf("cloudsync: hash_max_bytes: %d is negative", c.HashMaxBytes)
	case c.Settle < 0:
		return fmt.Errorf("cloudsync: settle: %v is negative", c.Settle)
	case c.Rescan < time.Second:
		return fmt.Errorf("cloudsync: rescan: %v is below the minimum of 1s", c.Rescan)
	case c.MaxWatches < 1:
		return fmt.Errorf("cloudsync: max_watches: %d is below 1", c.MaxWatches)
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
		Description:    "files written into the sync folders of Dropbox, OneDrive, Google Drive, Nextcloud, MEGA, Box, iCloud",
		New:            sensors.NewFactory(ParseConfig, sensors.Infallible(New)),
		DefaultEnabled: true,
	})
}
