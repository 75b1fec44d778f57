package alerts

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// serverConfig stands for the server configuration that embeds Config.
type serverConfig struct {
	Sinks Config `yaml:"sinks"`
}

func decodeConfig(t *testing.T, text string) (Config, error) {
	t.Helper()
	var c serverConfig
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c.Sinks, err
	}
	return c.Sinks, c.Sinks.Validate()
}

const goodConfig = `
sinks:
  state_dir: /var/lib/vigil/sinks
  outputs:
    - name: qradar
      type: syslog
      format: leef
      leef_delimiter: x09
      filter: {min_severity: medium, tags: [exfiltration]}
      syslog: {address: "qradar.example:6514", tls: {server_name: qradar}}
    - name: splunk
      type: hec
      format: ocsf
      queue: {size: 500, max_attempts: 3}
      hec: {url: "https://splunk.example:8088", token: abc, index: itm, ack: {enabled: true}}
    - name: soar
      type: webhook
      webhook: {url: "https://soar.example/hook", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers: {X-Tenant: acme}}
    - name: archive
      type: file
      format: ocsf
      file: {path: /var/log/vigil/findings.jsonl}
`

func TestConfigGood(t *testing.T) {
	c, err := decodeConfig(t, goodConfig)
	require.NoError(t, err)
	require.Equal(t, 5*time.Second, c.DrainTimeout)
	require.Len(t, c.Outputs, 4)
	q := c.Outputs[0]
	require.Equal(t, "tls", q.Syslog.Network)
	require.Equal(t, "octet-counting", q.Syslog.Framing)
	require.Equal(t, "local0", q.Syslog.Facility)
	require.Equal(t, 10000, q.Queue.Size)
	require.Equal(t, time.Second, q.Queue.InitialBackoff)
	s := c.Outputs[1]
	require.Equal(t, 500, s.Queue.Size)
	require.Equal(t, 3, s.Queue.MaxAttempts)
	require.Equal(t, 5*time.Minute, s.Queue.MaxBackoff, "defaults kept beside the keys set")
	require.True(t, s.HEC.Gzip)
	require.True(t, s.HEC.Ack.Enabled)
	require.Equal(t, time.Second, s.HEC.Ack.PollInterval)
	require.Equal(t, FormatJSON, c.Outputs[2].format())
	require.Equal(t, FormatCEF, (&SinkConfig{Type: TypeSyslog}).format())
	require.Equal(t, 5, c.Outputs[3].File.MaxFiles)
}

func TestConfigBad(t *testing.T) {
	sink := func(body string) string { return "sinks:\n  outputs:\n    - " + body + "\n" }
	cases := []struct{ name, text, want string }{
		{"unknown top key", "sinks:\n  outputz: []\n", "field outputz not found"},
		{"unknown sink key", sink("{name: a, type: file, file: {path: /x}, colour: red}"), "field colour not found"},
		{"unknown section key", sink("{name: a, type: file, file: {path: /x, rotate: yes}}"), "field rotate not found"},
		{"bad name", sink("{name: 'a b', type: file, file: {path: /x}}"), `outputs[0] "a b": name: want 1-64 letters`},
		{"duplicate", "sinks:\n  outputs:\n    - {name: a, type: file, file: {path: /x}}\n    - {name: a, type: file, file: {path: /y}}\n", `outputs[1] "a": name: duplicate sink name`},
		{"bad type", sink("{name: a, type: kafka}"), `type: want syslog, hec, webhook or file, got "kafka"`},
		{"missing section", sink("{name: a, type: hec}"), "hec: required for type hec"},
		{"extra section", sink("{name: a, type: file, file: {path: /x}, hec: {url: 'http://x', token: t}}"), `hec: set, but the sink's type is "file"`},
		{"bad format", sink("{name: a, type: file, format: xml, file: {path: /x}}"), `format: want cef, leef, json or ocsf, got "xml"`},
		{"webhook cef", sink("{name: a, type: webhook, format: cef, webhook: {url: 'http://x'}}"), "format: a webhook sends JSON"},
		{"bad delimiter", sink("{name: a, type: syslog, leef_delimiter: '=', syslog: {address: 'h:1'}}"), "leef_delimiter: LEEF delimiter"},
		{"bad severity", sink("{name: a, type: file, filter: {min_severity: urgent}, file: {path: /x}}"), `filter.min_severity: want info, low, medium, high or critical, got "urgent"`},
		{"bad glob", sink("{name: a, type: file, filter: {rules: ['[']}, file: {path: /x}}"), `filter.rules: bad pattern "["`},
		{"queue size", sink("{name: a, type: file, queue: {size: -1}, file: {path: /x}}"), "queue.size: must be positive, got -1"},
		{"backoff order", sink("{name: a, type: file, queue: {initial_backoff: 1m, max_backoff: 1s}, file: {path: /x}}"), "queue.max_backoff: must be at least queue.initial_backoff"},
		{"syslog network", sink("{name: a, type: syslog, syslog: {network: sctp, address: 'h:1'}}"), `syslog.network: want tls, tcp or udp, got "sctp"`},
		{"syslog address", sink("{name: a, type: syslog, syslog: {address: nohost}}"), `syslog.address: want host:port, got "nohost"`},
		{"tls framing", sink("{name: a, type: syslog, syslog: {address: 'h:1', framing: non-transparent}}"), "syslog.framing: RFC 5425 (tls) requires octet-counting"},
		{"facility", sink("{name: a, type: syslog, syslog: {address: 'h:1', facility: local9}}"), `syslog.facility: unknown facility "local9"`},
		{"ca file", sink("{name: a, type: syslog, syslog: {address: 'h:1', tls: {ca_file: /nonexistent/ca.pem}}}"), "syslog.tls.ca_file: stat /nonexistent/ca.pem"},
		{"cert without key", sink("{name: a, type: syslog, syslog: {address: 'h:1', tls: {cert_file: /etc/hostname}}}"), "syslog.tls.cert_file: cert_file and key_file go together"},
		{"hec url", sink("{name: a, type: hec, hec: {url: 'splunk:8088', token: t}}"), `hec.url: want an http or https URL, got "splunk:8088"`},
		{"hec token", sink("{name: a, type: hec, hec: {url: 'https://s'}}"), "hec.token: want exactly one of token and token_file"},
		{"hec batch", sink("{name: a, type: hec, hec: {url: 'https://s', token: t, batch_size: 0}}"), "hec.batch_size: want 1-10000, got 0"},
		{"webhook secret", sink("{name: a, type: webhook, webhook: {url: 'https://s', secret: 'whsec_!!'}}"), "webhook.secret: whsec_ secret is not base64"},
		{"webhook header", sink("{name: a, type: webhook, webhook: {url: 'https://s', headers: {'Bad Header': x}}}"), `webhook.headers: "Bad Header" is not a valid header name`},
		{"file path", sink("{name: a, type: file, file: {max_files: 2}}"), "file.path: required"},
		{"drain", "sinks:\n  drain_timeout: -1s\n", "drain_timeout: must not be negative"},
		{"bad stream", sink("{name: a, type: file, stream: logs, file: {path: /x}}"), `outputs[0] "a": stream: want alerts, events or both, got "logs"`},
		{"events on alert sink", sink("{name: a, type: file, events: {batch_size: 10}, file: {path: /x}}"), `events: set, but the sink's stream is "alerts"`},
		{"events cef", sink("{name: a, type: syslog, stream: both, format: cef, syslog: {address: 'h:1'}}"), `format: the event stream is sent as ocsf or json, got "cef"`},
		{"unknown event key", sink("{name: a, type: file, stream: events, events: {actoins: []}, file: {path: /x}}"), "field actoins not found"},
		{"unknown action", sink("{name: a, type: file, stream: events, events: {actions: [email-sent, usb-copy]}, file: {path: /x}}"), `events.actions[1]: unknown action "usb-copy"`},
		{"unknown excluded action", sink("{name: a, type: file, stream: events, events: {exclude_actions: [typing]}, file: {path: /x}}"), `events.exclude_actions[0]: unknown action "typing"`},
		{"event queue", sink("{name: a, type: file, stream: events, events: {queue_size: 0}, file: {path: /x}}"), "events.queue_size: must be positive, got 0"},
		{"event batch", sink("{name: a, type: file, stream: events, events: {batch_size: 20000}, file: {path: /x}}"), "events.batch_size: want 1-10000, got 20000"},
		{"event batch over queue", sink("{name: a, type: file, stream: events, events: {queue_size: 10, batch_size: 20}, file: {path: /x}}"), "events.batch_size: must not exceed queue_size (10), got 20"},
		{"event batch bytes", sink("{name: a, type: webhook, stream: events, events: {max_batch_bytes: -1}, webhook: {url: 'http://x'}}"), "events.max_batch_bytes: must be positive, got -1"},
		{"alert filter on events", sink("{name: a, type: file, stream: events, filter: {min_severity: high}, file: {path: /x}}"), "filter: selects alerts, but the sink's stream is events"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeConfig(t, c.text)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

const eventsConfig = `
sinks:
  outputs:
    - name: lake
      type: file
      stream: events
      events:
        actions: [file-copied-to-removable, email-sent, clipboard-copy]
        queue_size: 5000
      file: {path: /var/log/vigil/events.ocsf.jsonl}
    - name: sentinel
      type: webhook
      stream: both
      format: json
      events: {exclude_actions: [window-focused, process-ended], batch_size: 200}
      webhook: {url: "https://sentinel.example/ingest", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    - name: splunk
      type: hec
      stream: events
      hec: {url: "https://splunk.example:8088", token: abc}
`

func TestConfigEventStream(t *testing.T) {
	c, err := decodeConfig(t, eventsConfig)
	require.NoError(t, err)
	lake, sentinel, splunk := c.Outputs[0], c.Outputs[1], c.Outputs[2]
	require.Equal(t, FormatOCSF, lake.format(), "the event stream defaults to OCSF")
	require.Equal(t, &EventStreamConfig{Actions: []string{"file-copied-to-removable", "email-sent", "clipboard-copy"},
		QueueSize: 5000, BatchSize: 500, MaxBatchBytes: 1 << 20}, lake.Events)
	require.False(t, lake.streamsAlerts())
	require.True(t, sentinel.streamsAlerts())
	require.True(t, sentinel.streamsEvents())
	require.Equal(t, FormatJSON, sentinel.format())
	require.Equal(t, 200, sentinel.Events.BatchSize)
	require.Equal(t, 100000, sentinel.Events.QueueSize)
	require.Nil(t, splunk.Events, "defaults apply when the dispatcher is built")
	require.True(t, sentinel.Events.match("email-sent"))
	require.False(t, sentinel.Events.match("window-focused"))
	require.False(t, lake.Events.match("process-started"))

	c.applyDefaults()
	require.Equal(t, &EventStreamConfig{QueueSize: 100000, BatchSize: 500, MaxBatchBytes: 1 << 20}, c.Outputs[2].Events)
	require.NoError(t, c.Validate())
	small := Config{Outputs: []SinkConfig{{Name: "f", Type: TypeFile, Stream: StreamEvents, Events: &EventStreamConfig{QueueSize: 100}, File: &FileConfig{Path: "/x"}}}}
	small.applyDefaults()
	require.Equal(t, 100, small.Outputs[0].Events.BatchSize, "the default batch fits a small queue")
	require.NoError(t, small.Validate())
}

func TestConfigDefaultsInGo(t *testing.T) {
	c := Config{Outputs: []SinkConfig{{Name: "f", Type: TypeFile, File: &FileConfig{Path: "/x"}}, {Name: "s", Type: TypeSyslog, Syslog: &SyslogConfig{Address: "h:1"}}}}
	c.applyDefaults()
	require.NoError(t, c.Validate())
	require.Equal(t, DefaultQueueConfig(), c.Outputs[0].Queue)
	require.Equal(t, "tls", c.Outputs[1].Syslog.Network)
}

func TestFilter(t *testing.T) {
	a := &Alert{Severity: "medium", RuleIDs: []string{"usb-mass-copy"}, Tags: []string{"exfiltration", "removable"}}
	cases := []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{MinSeverity: "medium"}, true},
		{Filter{MinSeverity: "high"}, false},
		{Filter{Rules: []string{"usb-*"}}, true},
		{Filter{Rules: []string{"print-*"}}, false},
		{Filter{ExcludeRules: []string{"usb-mass-copy"}}, false},
		{Filter{Tags: []string{"removable", "email"}}, true},
		{Filter{Tags: []string{"email"}}, false},
		{Filter{ExcludeTags: []string{"removable"}}, false},
		{Filter{MinSeverity: "low", Rules: []string{"*"}, Tags: []string{"exfiltration"}, ExcludeTags: []string{"test"}}, true},
	}
	for i, c := range cases {
		require.Equal(t, c.want, c.f.Match(a), "case %d: %+v", i, c.f)
	}
	require.False(t, (&Filter{MinSeverity: "info"}).Match(&Alert{Severity: "weird"}), "an unknown severity ranks below info")
}

// TestDocEventStreamExamples decodes and validates every YAML example of
// the event stream section of docs/siem.md, so that the guide cannot
// drift from the configuration.
func TestDocEventStreamExamples(t *testing.T) {
	data, err := os.ReadFile("../docs/siem.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(data), "\n## The event stream\n")
	require.True(t, ok, "docs/siem.md has a section on the event stream")
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks []string
	for rest := section; ; {
		_, after, found := strings.Cut(rest, "```yaml\n")
		if !found {
			break
		}
		block, tail, closed := strings.Cut(after, "```")
		require.True(t, closed)
		blocks, rest = append(blocks, block), tail
	}
	require.Len(t, blocks, 3)
	for i, b := range blocks {
		c, err := decodeConfig(t, "sinks:\n  outputs:\n"+b)
		require.NoError(t, err, "block %d:\n%s", i, b)
		require.Len(t, c.Outputs, 1)
		require.True(t, c.Outputs[0].streamsEvents(), "block %d", i)
	}
}
