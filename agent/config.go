package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/sensors"
)

// Defaults for Config.
const (
	DefaultBatchSize          = 500
	DefaultFlushInterval      = time.Second
	DefaultHeartbeatInterval  = 30 * time.Second
	DefaultBundleInterval     = 5 * time.Minute
	DefaultSpoolMaxBytes      = 1 << 30
	DefaultQueueSize          = 8192
	DefaultRequestTimeout     = 60 * time.Second
	DefaultDrainTimeout       = 15 * time.Second
	DefaultRetryFirst         = time.Second
	DefaultRetryLongest       = time.Minute
	DefaultSensorRestartFirst = time.Second
	DefaultSensorRestartMax   = 5 * time.Minute
	DefaultStateInterval      = engine.DefaultStateInterval
)

// Config is the configuration of `vigil agent` (strict YAML: unknown keys
// are errors).
type Config struct {
	// Server is the URL of the Vigil server, such as https://vigil.corp:8443.
	Server string `yaml:"server"`
	// ServerCAFile names PEM certificates the server's TLS certificate must
	// chain to; without it the system's roots are used.
	ServerCAFile string `yaml:"server_ca_file"`
	// EnrollToken is the enrollment token used on first start, when the
	// data directory holds no credentials yet. EnrollTokenFile names a
	// file holding it instead.
	EnrollToken     string `yaml:"enroll_token"`
	EnrollTokenFile string `yaml:"enroll_token_file"`
	// DataDir holds the credentials, the evidence key, the last good bundle
	// and the spool.
	DataDir string `yaml:"data_dir"`
	// BundleKeyFile names the PEM public key bundles must be signed with.
	// Without it, the agent trusts the bundle its (TLS-verified) server
	// serves.
	BundleKeyFile string `yaml:"bundle_key_file"`
	BundleKeyAlg  string `yaml:"bundle_key_alg"`

	// BatchSize is how many events go into one upload; FlushInterval how
	// long a partial batch may wait.
	BatchSize     int           `yaml:"batch_size"`
	FlushInterval time.Duration `yaml:"flush_interval"`
	// HeartbeatInterval and BundleInterval pace the reports and the polling
	// of the active bundle.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	BundleInterval    time.Duration `yaml:"bundle_interval"`
	// SpoolMaxBytes bounds the on-disk queue.
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
	// QueueSize bounds the in-memory queue between sensors and the engine;
	// events beyond it are dropped and counted.
	QueueSize int `yaml:"queue_size"`
	// RequestTimeout bounds one request to the server; DrainTimeout how
	// long a stopping agent keeps uploading what is queued.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	DrainTimeout   time.Duration `yaml:"drain_timeout"`
	// RetryMin and RetryMax bound the backoff between failed uploads.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// SensorRestartMin and SensorRestartMax bound the backoff before a
	// failed sensor is started again.
	SensorRestartMin time.Duration `yaml:"sensor_restart_min"`
	SensorRestartMax time.Duration `yaml:"sensor_restart_max"`
	// StateInterval is how often the rule state (windows, sequences,
	// first-seen values, baselines) is saved to the data directory, so that
	// a restarted agent goes on where it stopped; it is saved at stop too.
	StateInterval time.Duration `yaml:"state_interval"`
	// SealEvidence seals evidence packages to the server's X25519 key
	// before they wait in the spool, so that only the server can read
	// them (default true; false keeps them as plain zip archives).
	SealEvidence *bool `yaml:"seal_evidence"`

	// Sensors enables and configures sensors by name. Each section may say
	// `enabled: false`; the rest of it is the sensor's own configuration.
	// A sensor not named here runs when it is on by default.
	Sensors map[string]yaml.Node `yaml:"sensors"`
	// OnlySensors, when set, runs exactly these sensors and no default
	// ones (the --sensors flag).
	OnlySensors []string `yaml:"only_sensors"`
}

// SetDefaults fills in zero values.
func (c *Config) SetDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.SpoolMaxBytes == 0 {
		c.SpoolMaxBytes = DefaultSpoolMaxBytes
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	def(&c.FlushInterval, DefaultFlushInterval)
	def(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	def(&c.BundleInterval, DefaultBundleInterval)
	def(&c.RequestTimeout, DefaultRequestTimeout)
	def(&c.DrainTimeout, DefaultDrainTimeout)
	def(&c.RetryMin, DefaultRetryFirst)
	def(&c.RetryMax, DefaultRetryLongest)
	def(&c.SensorRestartMin, DefaultSensorRestartFirst)
	def(&c.SensorRestartMax, DefaultSensorRestartMax)
	def(&c.StateInterval, DefaultStateInterval)
	if c.SealEvidence == nil {
		seal := true
		c.SealEvidence = &seal
	}
}

// Validate reports settings that cannot work, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	if c.Server == "" {
		errs = append(errs, errors.New("server: required (the Vigil server's URL)"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: required"))
	}
	if c.EnrollToken != "" && c.EnrollTokenFile != "" {
		errs = append(errs, errors.New("enroll_token and enroll_token_file: set one"))
	}
	if c.BatchSize < 1 || c.BatchSize > 10_000 {
		errs = append(errs, fmt.Errorf("batch_size: want 1 to 10000, got %d", c.BatchSize))
	}
	if c.SpoolMaxBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("spool_max_bytes: want at least 1 MiB, got %d", c.SpoolMaxBytes))
	}
	if c.QueueSize < 1 {
		errs = append(errs, fmt.Errorf("queue_size: want at least 1, got %d", c.QueueSize))
	}
	for name, d := range map[string]time.Duration{
		"flush_interval": c.FlushInterval, "heartbeat_interval": c.HeartbeatInterval, "bundle_interval": c.BundleInterval,
		"request_timeout": c.RequestTimeout, "drain_timeout": c.DrainTimeout, "retry_min": c.RetryMin, "retry_max": c.RetryMax,
		"sensor_restart_min": c.SensorRestartMin, "sensor_restart_max": c.SensorRestartMax, "state_interval": c.StateInterval,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %s", name, d))
		}
	}
	if c.RetryMax < c.RetryMin {
		errs = append(errs, fmt.Errorf("retry_max (%s) is below retry_min (%s)", c.RetryMax, c.RetryMin))
	}
	if c.SensorRestartMax < c.SensorRestartMin {
		errs = append(errs, fmt.Errorf("sensor_restart_max (%s) is below sensor_restart_min (%s)", c.SensorRestartMax, c.SensorRestartMin))
	}
	for name := range c.Sensors {
		if _, ok := sensors.Lookup(name); !ok {
			errs = append(errs, fmt.Errorf("sensors.%s: no such sensor (known: %s)", name, sensorNames()))
		}
	}
	for _, name := range c.OnlySensors {
		if _, ok := sensors.Lookup(name); !ok {
			errs = append(errs, fmt.Errorf("only_sensors: %q: no such sensor (known: %s)", name, sensorNames()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("agent config: %w", err)
	}
	return nil
}

func sensorNames() string {
	var b bytes.Buffer
	for i, r := range sensors.Registered() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.Name)
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// LoadConfig reads a strict YAML configuration file, applies the defaults
// and validates it.
func LoadConfig(path string) (*Config, error) { return LoadConfigFor(path, "", "") }

// LoadConfigFor is LoadConfig for a file that may leave out the server and
// the data directory, which the caller gives instead (`vigil run`'s local
// agent).
func LoadConfigFor(path, server, dataDir string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("agent config: %w", err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("agent config %s: %w", path, err)
	}
	if server != "" {
		c.Server = server
	}
	if dataDir != "" {
		c.DataDir = dataDir
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}
