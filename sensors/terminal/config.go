package terminal

import (
	"fmt"
	"path/filepath"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
)

// Name is the sensor's registered name and the key of its config section.
const Name = "terminal"

// DefaultSocket is where the sensor listens and `vigil shell` connects.
const DefaultSocket = "/run/vigil/shell.sock"

// Config is the terminal sensor's configuration section.
type Config struct {
	// Socket is the unix socket `vigil shell` connects to.
	Socket string `yaml:"socket"`
	// SocketMode is the socket's permission bits, in octal. Every user
	// whose shell is wrapped must be able to connect; the peer's uid is
	// checked on each connection, so 0666 is the default.
	SocketMode string `yaml:"socket_mode"`
	// RecordInput keeps what users type (masked while the terminal does not
	// echo) in the recording, not only what the terminal shows.
	RecordInput bool `yaml:"record_input"`
	// MaxConnections bounds the shells connected at once.
	MaxConnections int `yaml:"max_connections"`
	// MaxFrameBytes bounds one protocol frame.
	MaxFrameBytes int `yaml:"max_frame_bytes"`
	// MaxCommandBytes truncates command lines in events.
	MaxCommandBytes int `yaml:"max_command_bytes"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Socket:          DefaultSocket,
		SocketMode:      "0666",
		RecordInput:     true,
		MaxConnections:  256,
		MaxFrameBytes:   DefaultMaxFrame,
		MaxCommandBytes: 16 << 10,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if c.Socket == "" || !filepath.IsAbs(c.Socket) {
		return fmt.Errorf("terminal: socket: %q must be an absolute path", c.Socket)
	}
	if _, err := c.mode(); err != nil {
		return err
	}
	switch {
	case c.MaxConnections < 1:
		return fmt.Errorf("terminal: max_connections: %d must be at least 1", c.MaxConnections)
	case c.MaxFrameBytes < 4096 || c.MaxFrameBytes > 64<<20:
		return fmt.Errorf("terminal: max_frame_bytes: %d is outside 4096..67108864", c.MaxFrameBytes)
	case c.MaxCommandBytes < 64:
		return fmt.Errorf("terminal: max_command_bytes: %d must be at least 64", c.MaxCommandBytes)
	}
	return nil
}

func (c Config) mode() (uint32, error) {
	m, err := strconv.ParseUint(c.SocketMode, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("terminal: socket_mode: %q is not octal permission bits such as \"0666\"", c.SocketMode)
	}
	return uint32(m), nil
}

// ParseConfig applies the defaults, decodes node strictly and validates.
func ParseConfig(node *yaml.Node) (Config, error) {
	c := DefaultConfig()
	if err := sensors.DecodeStrict(node, &c); err != nil {
		return Config{}, fmt.Errorf("terminal: decode config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func init() {
	sensors.Register(sensors.Registration{
		Name:           Name,
		Description:    "terminal sessions recorded by `vigil shell`: commands and asciicast recordings",
		New:            newSensor,
		DefaultEnabled: true,
	})
}
