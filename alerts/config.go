package alerts

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
)

// Sink types.
const (
	TypeSyslog  = "syslog"
	TypeHEC     = "hec"
	TypeWebhook = "webhook"
	TypeFile    = "file"
)

// Config is the SIEM delivery section of the server configuration
// (`sinks:`). The zero value delivers nowhere.
type Config struct {
	// StateDir is where each sink keeps its queue and dead letters, one
	// directory per sink, so that nothing is lost across a restart. Empty
	// keeps them in memory only: alerts still queued at exit are lost.
	StateDir string `yaml:"state_dir"`
	// Sync makes every queue and dead-letter write durable (fsync) before
	// Dispatch returns, so that alerts also survive a power loss. Without
	// it they survive a process crash or restart.
	Sync bool `yaml:"sync"`
	// DrainTimeout is how long Run keeps delivering queued alerts once it is
	// told to stop (default 5s).
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// Hostname is the HOSTNAME of syslog headers and the host of HEC
	// events (default: the machine's host name).
	Hostname string `yaml:"hostname"`
	// Outputs are the sinks.
	Outputs []SinkConfig `yaml:"outputs"`
	// Version is the Vigil version written in CEF/LEEF headers and OCSF
	// metadata. The server sets it; it is not read from YAML.
	Version string `yaml:"-"`
}

// SinkConfig configures one sink.
type SinkConfig struct {
	// Name identifies the sink in metrics, logs, the state directory and
	// the API; letters, digits, '-' and '_'. Required.
	Name string `yaml:"name"`
	// Type is syslog, hec, webhook or file. Required; the section of the
	// same name holds its settings.
	Type string `yaml:"type"`
	// Format is the payload: cef, leef, json or ocsf (webhook: json or
	// ocsf). Default: cef for syslog, json otherwise. A sink that streams
	// events sends json or ocsf (the default) for alerts and events alike.
	Format Format `yaml:"format"`
	// Stream is what the sink receives: alerts (the default), events (the
	// event stream: every newly stored event) or both.
	Stream string `yaml:"stream"`
	// LEEFDelimiter separates LEEF attributes: one character, or its hex
	// code such as x09 for a tab (default "^").
	LEEFDelimiter string `yaml:"leef_delimiter"`
	// Disabled keeps the sink configured but sends nothing to it.
	Disabled bool `yaml:"disabled"`
	// Filter selects the alerts the sink receives (default: all).
	Filter Filter `yaml:"filter"`
	// Queue bounds the sink's queue and sets its retry policy. The event
	// stream has its own queue, bounded by Events.QueueSize, with the same
	// retry policy.
	Queue QueueConfig `yaml:"queue"`
	// Events configures the event stream of a sink whose Stream is events
	// or both (default: DefaultEventStreamConfig). It must not be set for
	// other sinks.
	Events *EventStreamConfig `yaml:"events"`

	Syslog  *SyslogConfig  `yaml:"syslog"`
	HEC     *HECConfig     `yaml:"hec"`
	Webhook *WebhookConfig `yaml:"webhook"`
	File    *FileConfig    `yaml:"file"`
}

// Filter selects alerts. An alert passes when its severity is at least
// MinSeverity, one of its rules matches Rules (when set) and none matches
// ExcludeRules, and one of its tags is in Tags (when set) and none is in
// ExcludeTags. Rule patterns may use shell globs ("usb-*").
type Filter struct {
	MinSeverity  string   `yaml:"min_severity"`
	Rules        []string `yaml:"rules"`
	ExcludeRules []string `yaml:"exclude_rules"`
	Tags         []string `yaml:"tags"`
	ExcludeTags  []string `yaml:"exclude_tags"`
}

// Stream values: what a sink receives.
const (
	StreamAlerts = "alerts"
	StreamEvents = "events"
	StreamBoth   = "both"
)

// EventStreamConfig configures a sink's event stream: which events it
// takes and how its queue is bounded and batched. Events are many more
// than alerts, so their queue drops the oldest events when it is full
// (counted) instead of keeping every one as a dead letter.
type EventStreamConfig struct {
	// Actions keeps only events whose event.action is listed (default: all
	// actions); ExcludeActions leaves out those listed. Names come from the
	// action vocabulary (event/actions.go).
	Actions        []string `yaml:"actions"`
	ExcludeActions []string `yaml:"exclude_actions"`
	// QueueSize is how many events may wait for delivery (default 100000).
	// When a new batch would pass it, the oldest queued events that are not
	// being sent are dropped and counted (vigil_sink_events_dropped_total
	// and the sink's events_dropped); alerts are never dropped.
	QueueSize int `yaml:"queue_size"`
	// BatchSize is the most events in one delivery: one webhook POST, one
	// file write; HEC and syslog also keep to their own batch_size (default
	// 500).
	BatchSize int `yaml:"batch_size"`
	// MaxBatchBytes is the most payload bytes in one delivery (default 1
	// MiB); a single larger queue entry still goes out alone.
	MaxBatchBytes int `yaml:"max_batch_bytes"`
}

// QueueConfig is a sink's queue and retry policy.
type QueueConfig struct {
	// Size is how many alerts may wait for delivery (default 10000). An
	// alert that finds the queue full goes straight to the dead letters.
	Size int `yaml:"size"`
	// MaxAttempts is how many times a delivery is tried before its alerts
	// become dead letters (default 10).
	MaxAttempts int `yaml:"max_attempts"`
	// InitialBackoff is the wait after the first failure (default 1s); it
	// doubles after each further failure up to MaxBackoff (default 5m),
	// with full jitter.
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	MaxBackoff     time.Duration `yaml:"max_backoff"`
	// MaxDeadLetters bounds the dead letters kept (default 10000); beyond
	// it the oldest are discarded, and counted.
	MaxDeadLetters int `yaml:"max_dead_letters"`
}

// TLSConfig configures a TLS client.
type TLSConfig struct {
	// CAFile holds the PEM certificates that sign the server's; default:
	// the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate, for servers that ask
	// for one.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server's certificate
	// (default: the host of the address).
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns certificate checks off. For tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SyslogConfig configures a syslog sink (RFC 5424 messages).
type SyslogConfig struct {
	// Network is tls (RFC 5425, default), tcp (RFC 6587) or udp (RFC 5426).
	Network string `yaml:"network"`
	// Address is the receiver's host:port. Required.
	Address string `yaml:"address"`
	// Framing over tcp is octet-counting (default) or non-transparent (one
	// message per line). tls always counts octets; udp sends one message
	// per datagram.
	Framing string `yaml:"framing"`
	// Facility is the syslog facility name (default local0).
	Facility string `yaml:"facility"`
	// AppName is the APP-NAME of the header (default vigil).
	AppName string `yaml:"app_name"`
	// MaxMessageBytes caps a message; longer ones are cut (default 8192).
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// DialTimeout and WriteTimeout bound connecting and writing (default
	// 10s each).
	DialTimeout  time.Duration `yaml:"dial_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// BatchSize is how many queued alerts are written at once (default 100).
	BatchSize int       `yaml:"batch_size"`
	TLS       TLSConfig `yaml:"tls"`
}

// HECConfig configures a Splunk HTTP Event Collector sink.
type HECConfig struct {
	// URL is the collector's base URL, such as https://splunk:8088; events
	// go to /services/collector/event under it. Required.
	URL string `yaml:"url"`
	// Token is the HEC token; TokenFile names a file holding it instead.
	// Exactly one is required.
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// Index, Source, SourceType and Host are set on every event when not
	// empty (default source vigil, sourcetype vigil:alert, or
	// ocsf:detection_finding for the ocsf format, host Config.Hostname).
	Index      string `yaml:"index"`
	Source     string `yaml:"source"`
	SourceType string `yaml:"sourcetype"`
	Host       string `yaml:"host"`
	// Gzip compresses request bodies (default true).
	Gzip bool `yaml:"gzip"`
	// BatchSize is the most events per request (default 100) and
	// MaxBatchBytes the most bytes before compression (default 1 MiB).
	BatchSize     int `yaml:"batch_size"`
	MaxBatchBytes int `yaml:"max_batch_bytes"`
	// Timeout bounds one request (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// Ack waits for indexer acknowledgement, for collectors whose token has
	// it turned on.
	Ack HECAckConfig `yaml:"ack"`
	// Channel is the request channel (a GUID); default: one generated per
	// process. Required by collectors with acknowledgement on.
	Channel string    `yaml:"channel"`
	TLS     TLSConfig `yaml:"tls"`
}

// HECAckConfig configures HEC indexer acknowledgement.
type HECAckConfig struct {
	Enabled bool `yaml:"enabled"`
	// PollInterval is how often the ack endpoint is asked (default 1s);
	// Timeout how long a batch may wait for its ack before it is sent
	// again (default 60s).
	PollInterval time.Duration `yaml:"poll_interval"`
	Timeout      time.Duration `yaml:"timeout"`
}

// WebhookConfig configures a webhook sink: one JSON POST per alert, signed
// the Standard Webhooks way.
type WebhookConfig struct {
	// URL receives the POSTs. Required.
	URL string `yaml:"url"`
	// Secret signs requests (webhook-signature: v1,<base64 HMAC-SHA256>);
	// a "whsec_" prefix marks a base64 secret, anything else is used as
	// is. SecretFile names a file holding it instead. Without either,
	// requests are not signed.
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// Headers are added to every request.
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds one request (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	TLS     TLSConfig     `yaml:"tls"`
}

// FileConfig configures a file sink: one payload per line.
type FileConfig struct {
	// Path is the file written. Required.
	Path string `yaml:"path"`
	// MaxBytes rotates the file when it would grow past it (default 100
	// MiB); MaxFiles rotated files are kept as Path.1 … Path.N (default 5).
	MaxBytes int64 `yaml:"max_bytes"`
	MaxFiles int   `yaml:"max_files"`
}

// DefaultConfig returns the defaults of the sinks section.
func DefaultConfig() Config {
	return Config{DrainTimeout: 5 * time.Second}
}

// DefaultQueueConfig returns the default queue and retry policy.
func DefaultQueueConfig() QueueConfig {
	return QueueConfig{Size: 10000, MaxAttempts: 10, InitialBackoff: time.Second, MaxBackoff: 5 * time.Minute, MaxDeadLetters: 10000}
}

// DefaultEventStreamConfig returns the event stream defaults.
func DefaultEventStreamConfig() EventStreamConfig {
	return EventStreamConfig{QueueSize: 100000, BatchSize: 500, MaxBatchBytes: 1 << 20}
}

// DefaultSyslogConfig returns the syslog defaults.
func DefaultSyslogConfig() SyslogConfig {
	return SyslogConfig{Network: "tls", Framing: "octet-counting", Facility: "local0", AppName: "vigil",
		MaxMessageBytes: 8192, DialTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, BatchSize: 100}
}

// DefaultHECConfig returns the HEC defaults.
func DefaultHECConfig() HECConfig {
	return HECConfig{Source: "vigil", Gzip: true, BatchSize: 100, MaxBatchBytes: 1 << 20, Timeout: 30 * time.Second,
		Ack: HECAckConfig{PollInterval: time.Second, Timeout: time.Minute}}
}

// DefaultWebhookConfig returns the webhook defaults.
func DefaultWebhookConfig() WebhookConfig { return WebhookConfig{Timeout: 10 * time.Second} }

// DefaultFileConfig returns the file sink defaults.
func DefaultFileConfig() FileConfig { return FileConfig{MaxBytes: 100 << 20, MaxFiles: 5} }

// UnmarshalYAML decodes the section strictly over the defaults.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	type plain Config
	p := plain(DefaultConfig())
	if err := sensors.DecodeStrict(n, &p); err != nil {
		return err
	}
	*c = Config(p)
	return nil
}

// UnmarshalYAML decodes a sink strictly over the defaults.
func (c *SinkConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain SinkConfig
	p := plain{Queue: DefaultQueueConfig()}
	if err := sensors.DecodeStrict(n, &p); err != nil {
		return err
	}
	*c = SinkConfig(p)
	return nil
}

// UnmarshalYAML decodes the queue policy strictly over the defaults.
func (c *QueueConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain QueueConfig
	p := plain(DefaultQueueConfig())
	if err := sensors.DecodeStrict(n, &p); err != nil {
		return err
	}
	*c = QueueConfig(p)
	return nil
}

// UnmarshalYAML decodes the event stream section strictly over the
// defaults.
func (c *EventStreamConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain EventStreamConfig
	p := plain(DefaultEventStreamConfig())
	if err := sensors.DecodeStrict(n, &p); err != nil {
		return err
	}
	*c = EventStreamConfig(p)
	return nil
}

// UnmarshalYAML decodes the syslog section strictly over the defaults.
func (c *SyslogConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain SyslogConfig
	p := plain(DefaultSyslogConfig())
	if err := sensors.DecodeStrict(n, &p); err != nil {
		return err
	}
	*c = SyslogConfig(p)
	return nil
}

// UnmarshalYAML decodes the HEC section strictly over the defaults.
func (c *HECConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain HECConfig
	p := plain(DefaultHECConfig())
	if err := sensors.DecodeStrict(n, &p); err != nil {
		return err
	}
	*c = HECConfig(p)
	return nil
}

// UnmarshalYAML decodes the webhook section strictly over the defaults.
func (c *WebhookConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain WebhookConfig
	p := plain(DefaultWebhookConfig())
	if err := sensors.DecodeStrict(n, &p); err != nil {
		return err
	}
	*c = WebhookConfig(p)
	return nil
}

// UnmarshalYAML decodes the file section strictly over the defaults.
func (c *FileConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain FileConfig
	p := plain(DefaultFileConfig())
	if err := sensors.DecodeStrict(n, &p); err != nil {
		return err
	}
	*c = FileConfig(p)
	return nil
}

var sinkNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Validate reports the first problems of the configuration, each naming
// its field, such as `outputs[1] "splunk": hec.url: want an http or https
// URL, got "splunk:8088"`.
func (c *Config) Validate() error {
	var errs []error
	if c.DrainTimeout < 0 {
		errs = append(errs, fmt.Errorf("drain_timeout: must not be negative, got %s", c.DrainTimeout))
	}
	seen := map[string]bool{}
	for i := range c.Outputs {
		s := &c.Outputs[i]
		prefix := fmt.Sprintf("outputs[%d] %q", i, s.Name)
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("%s: name: duplicate sink name", prefix))
		}
		seen[s.Name] = true
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", prefix, err))
		}
	}
	return errors.Join(errs...)
}

// Validate reports the problems of one sink's configuration, each naming
// its field.
func (c *SinkConfig) Validate() error {
	s := c
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !sinkNameRE.MatchString(s.Name) {
		bad("name", "want 1-64 letters, digits, '-' or '_' starting with a letter or digit, got %q", s.Name)
	}
	sections := map[string]bool{TypeSyslog: s.Syslog != nil, TypeHEC: s.HEC != nil, TypeWebhook: s.Webhook != nil, TypeFile: s.File != nil}
	if _, ok := sections[s.Type]; !ok {
		bad("type", "want syslog, hec, webhook or file, got %q", s.Type)
	} else if !sections[s.Type] {
		bad(s.Type, "required for type %s", s.Type)
	}
	for _, t := range []string{TypeSyslog, TypeHEC, TypeWebhook, TypeFile} {
		if sections[t] && t != s.Type {
			bad(t, "set, but the sink's type is %q", s.Type)
		}
	}
	switch s.Stream {
	case "", StreamAlerts, StreamEvents, StreamBoth:
	default:
		bad("stream", "want alerts, events or both, got %q", s.Stream)
	}
	switch f := s.format(); f {
	case FormatCEF, FormatLEEF:
		switch {
		case s.streamsEvents():
			bad("format", "the event stream is sent as ocsf or json, got %q", f)
		case s.Type == TypeWebhook:
			bad("format", "a webhook sends JSON: want json or ocsf, got %q", f)
		}
	case FormatJSON, FormatOCSF:
	default:
		bad("format", "want cef, leef, json or ocsf, got %q", f)
	}
	if s.LEEFDelimiter != "" {
		if _, err := ParseLEEFDelimiter(s.LEEFDelimiter); err != nil {
			bad("leef_delimiter", "%v", err)
		}
	}
	if m := s.Filter.MinSeverity; m != "" && severityRank(m) < 0 {
		bad("filter.min_severity", "want info, low, medium, high or critical, got %q", m)
	}
	for _, p := range append(append([]string(nil), s.Filter.Rules...), s.Filter.ExcludeRules...) {
		if _, err := path.Match(p, ""); err != nil {
			bad("filter.rules", "bad pattern %q: %v", p, err)
		}
	}
	if s.Events != nil {
		if s.streamsEvents() {
			errs = append(errs, prefixErr("events", s.Events.validate()))
		} else {
			bad("events", "set, but the sink's stream is %q (want events or both)", s.stream())
		}
	}
	if !s.streamsAlerts() && !s.Filter.empty() {
		bad("filter", "selects alerts, but the sink's stream is events (use events.actions)")
	}
	q := s.Queue
	if q.Size <= 0 {
		bad("queue.size", "must be positive, got %d", q.Size)
	}
	if q.MaxAttempts <= 0 {
		bad("queue.max_attempts", "must be positive, got %d", q.MaxAttempts)
	}
	if q.InitialBackoff <= 0 {
		bad("queue.initial_backoff", "must be positive, got %s", q.InitialBackoff)
	}
	if q.MaxBackoff < q.InitialBackoff {
		bad("queue.max_backoff", "must be at least queue.initial_backoff (%s), got %s", q.InitialBackoff, q.MaxBackoff)
	}
	if q.MaxDeadLetters <= 0 {
		bad("queue.max_dead_letters", "must be positive, got %d", q.MaxDeadLetters)
	}
	if s.Syslog != nil {
		errs = append(errs, prefixErr("syslog", s.Syslog.validate()))
	}
	if s.HEC != nil {
		errs = append(errs, prefixErr("hec", s.HEC.validate()))
	}
	if s.Webhook != nil {
		errs = append(errs, prefixErr("webhook", s.Webhook.validate()))
	}
	if s.File != nil {
		errs = append(errs, prefixErr("file", s.File.validate()))
	}
	return errors.Join(errs...)
}

func (c *EventStreamConfig) validate() error {
	var errs []error
	for _, list := range []struct {
		field   string
		actions []string
	}{{"actions", c.Actions}, {"exclude_actions", c.ExcludeActions}} {
		for i, a := range list.actions {
			if _, ok := event.LookupAction(a); !ok {
				errs = append(errs, fmt.Errorf("%s[%d]: unknown action %q (see the action vocabulary in docs/event-schema.md)", list.field, i, a))
			}
		}
	}
	if c.QueueSize <= 0 {
		errs = append(errs, fmt.Errorf("queue_size: must be positive, got %d", c.QueueSize))
	}
	if c.BatchSize <= 0 || c.BatchSize > 10000 {
		errs = append(errs, fmt.Errorf("batch_size: want 1-10000, got %d", c.BatchSize))
	} else if c.QueueSize > 0 && c.BatchSize > c.QueueSize {
		errs = append(errs, fmt.Errorf("batch_size: must not exceed queue_size (%d), got %d", c.QueueSize, c.BatchSize))
	}
	if c.MaxBatchBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_batch_bytes: must be positive, got %d", c.MaxBatchBytes))
	}
	return errors.Join(errs...)
}

// empty reports whether the filter selects every alert.
func (f *Filter) empty() bool {
	return f.MinSeverity == "" && len(f.Rules) == 0 && len(f.ExcludeRules) == 0 && len(f.Tags) == 0 && len(f.ExcludeTags) == 0
}

// stream is the sink's stream with its default applied.
func (c *SinkConfig) stream() string {
	if c.Stream == "" {
		return StreamAlerts
	}
	return c.Stream
}

// streamsAlerts and streamsEvents report what the sink receives.
func (c *SinkConfig) streamsAlerts() bool { return c.stream() != StreamEvents }

func (c *SinkConfig) streamsEvents() bool {
	return c.Stream == StreamEvents || c.Stream == StreamBoth
}

// format is the sink's payload format with its default applied.
func (c *SinkConfig) format() Format {
	if c.Format != "" {
		return c.Format
	}
	if c.streamsEvents() {
		return FormatOCSF
	}
	if c.Type == TypeSyslog {
		return FormatCEF
	}
	return FormatJSON
}

func prefixErr(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range unjoin(err) {
		out = append(out, fmt.Errorf("%s.%w", prefix, e))
	}
	return errors.Join(out...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// facilities maps syslog facility names to their codes.
var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13, "console": 14,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

func (c *SyslogConfig) validate() error {
	var errs []error
	switch c.Network {
	case "tls", "tcp", "udp":
	default:
		errs = append(errs, fmt.Errorf("network: want tls, tcp or udp, got %q", c.Network))
	}
	if _, _, err := net.SplitHostPort(c.Address); err != nil || c.Address == "" {
		errs = append(errs, fmt.Errorf("address: want host:port, got %q", c.Address))
	}
	switch c.Framing {
	case "octet-counting":
	case "non-transparent":
		if c.Network == "tls" {
			errs = append(errs, errors.New("framing: RFC 5425 (tls) requires octet-counting"))
		}
	default:
		errs = append(errs, fmt.Errorf("framing: want octet-counting or non-transparent, got %q", c.Framing))
	}
	if _, ok := facilities[c.Facility]; !ok {
		errs = append(errs, fmt.Errorf("facility: unknown facility %q (want kern … local7)", c.Facility))
	}
	if c.AppName == "" || len(c.AppName) > 48 || !printUSASCII(c.AppName) {
		errs = append(errs, fmt.Errorf("app_name: want 1-48 printable ASCII characters without spaces, got %q", c.AppName))
	}
	if c.MaxMessageBytes < 480 {
		errs = append(errs, fmt.Errorf("max_message_bytes: must be at least 480, got %d", c.MaxMessageBytes))
	}
	if c.DialTimeout <= 0 {
		errs = append(errs, fmt.Errorf("dial_timeout: must be positive, got %s", c.DialTimeout))
	}
	if c.WriteTimeout <= 0 {
		errs = append(errs, fmt.Errorf("write_timeout: must be positive, got %s", c.WriteTimeout))
	}
	if c.BatchSize <= 0 {
		errs = append(errs, fmt.Errorf("batch_size: must be positive, got %d", c.BatchSize))
	}
	errs = append(errs, prefixErr("tls", c.TLS.validate()))
	return errors.Join(errs...)
}

func (c *TLSConfig) validate() error {
	var errs []error
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("cert_file: cert_file and key_file go together"))
	}
	for field, f := range map[string]string{"ca_file": c.CAFile, "cert_file": c.CertFile, "key_file": c.KeyFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
	}
	return errors.Join(errs...)
}

func validHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (c *HECConfig) validate() error {
	var errs []error
	if !validHTTPURL(c.URL) {
		errs = append(errs, fmt.Errorf("url: want an http or https URL, got %q", c.URL))
	}
	if (c.Token == "") == (c.TokenFile == "") {
		errs = append(errs, errors.New("token: want exactly one of token and token_file"))
	}
	if c.BatchSize <= 0 || c.BatchSize > 10000 {
		errs = append(errs, fmt.Errorf("batch_size: want 1-10000, got %d", c.BatchSize))
	}
	if c.MaxBatchBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_batch_bytes: must be positive, got %d", c.MaxBatchBytes))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: must be positive, got %s", c.Timeout))
	}
	if c.Ack.Enabled && (c.Ack.PollInterval <= 0 || c.Ack.Timeout < c.Ack.PollInterval) {
		errs = append(errs, fmt.Errorf("ack.timeout: want a positive poll_interval and a timeout at least as long, got %s and %s", c.Ack.PollInterval, c.Ack.Timeout))
	}
	errs = append(errs, prefixErr("tls", c.TLS.validate()))
	return errors.Join(errs...)
}

func (c *WebhookConfig) validate() error {
	var errs []error
	if !validHTTPURL(c.URL) {
		errs = append(errs, fmt.Errorf("url: want an http or https URL, got %q", c.URL))
	}
	if c.Secret != "" && c.SecretFile != "" {
		errs = append(errs, errors.New("secret: set secret or secret_file, not both"))
	}
	if c.Secret != "" {
		if _, err := webhookKey(c.Secret); err != nil {
			errs = append(errs, fmt.Errorf("secret: %w", err))
		}
	}
	for k := range c.Headers {
		if !validHeaderName(k) {
			errs = append(errs, fmt.Errorf("headers: %q is not a valid header name", k))
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: must be positive, got %s", c.Timeout))
	}
	errs = append(errs, prefixErr("tls", c.TLS.validate()))
	return errors.Join(errs...)
}

func (c *FileConfig) validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path: required"))
	}
	if c.MaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_bytes: must be positive, got %d", c.MaxBytes))
	}
	if c.MaxFiles < 0 {
		errs = append(errs, fmt.Errorf("max_files: must not be negative, got %d", c.MaxFiles))
	}
	return errors.Join(errs...)
}

func printUSASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// applyDefaults fills the zero fields of a configuration built in Go (not
// decoded from YAML) with their defaults.
func (c *Config) applyDefaults() {
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultConfig().DrainTimeout
	}
	for i := range c.Outputs {
		s := &c.Outputs[i]
		dq := DefaultQueueConfig()
		setDefault(&s.Queue.Size, dq.Size)
		setDefault(&s.Queue.MaxAttempts, dq.MaxAttempts)
		setDefault(&s.Queue.InitialBackoff, dq.InitialBackoff)
		setDefault(&s.Queue.MaxBackoff, max(dq.MaxBackoff, s.Queue.InitialBackoff))
		setDefault(&s.Queue.MaxDeadLetters, dq.MaxDeadLetters)
		if s.streamsEvents() {
			if s.Events == nil {
				s.Events = &EventStreamConfig{}
			}
			d := DefaultEventStreamConfig()
			setDefault(&s.Events.QueueSize, d.QueueSize)
			setDefault(&s.Events.BatchSize, min(d.BatchSize, s.Events.QueueSize))
			setDefault(&s.Events.MaxBatchBytes, d.MaxBatchBytes)
		}
		if c := s.Syslog; c != nil {
			d := DefaultSyslogConfig()
			setDefault(&c.Network, d.Network)
			setDefault(&c.Framing, d.Framing)
			setDefault(&c.Facility, d.Facility)
			setDefault(&c.AppName, d.AppName)
			setDefault(&c.MaxMessageBytes, d.MaxMessageBytes)
			setDefault(&c.DialTimeout, d.DialTimeout)
			setDefault(&c.WriteTimeout, d.WriteTimeout)
			setDefault(&c.BatchSize, d.BatchSize)
		}
		if c := s.HEC; c != nil {
			d := DefaultHECConfig()
			setDefault(&c.Source, d.Source)
			setDefault(&c.BatchSize, d.BatchSize)
			setDefault(&c.MaxBatchBytes, d.MaxBatchBytes)
			setDefault(&c.Timeout, d.Timeout)
			setDefault(&c.Ack.PollInterval, d.Ack.PollInterval)
			setDefault(&c.Ack.Timeout, d.Ack.Timeout)
		}
		if c := s.Webhook; c != nil {
			setDefault(&c.Timeout, DefaultWebhookConfig().Timeout)
		}
		if c := s.File; c != nil {
			d := DefaultFileConfig()
			setDefault(&c.MaxBytes, d.MaxBytes)
		}
	}
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}
