package e2e_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/alerts"
	"github.com/vigil-itm/vigil/alerts/alertstest"
	"github.com/vigil-itm/vigil/identity/sources"
	"github.com/vigil-itm/vigil/store/sqlite"
)

// integrationsDoc is the guide whose examples are checked.
const integrationsDoc = "../../docs/integrations.md"

// configMarker, on the line before a ```yaml fence, marks a block as part
// of the server configuration.
const configMarker = "<!-- server-config -->"

// docBlock is one YAML block of a Markdown file.
type docBlock struct {
	line    int    // of the opening fence
	section string // the "## " heading it is under
	marked  bool
	text    string
}

// yamlBlocks returns the ```yaml blocks of a Markdown file.
func yamlBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var (
		blocks  []docBlock
		cur     *docBlock
		fence   string
		section string
		prev    string // the last non-blank line outside blocks
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur != nil && trimmed == fence:
			blocks = append(blocks, *cur)
			cur, fence = nil, ""
		case cur != nil:
			cur.text += line + "\n"
		case fence != "" && trimmed == fence:
			fence = "" // the end of a block in another language
		case fence != "":
		case strings.HasPrefix(trimmed, "```"):
			fence = "```"
			if strings.TrimPrefix(trimmed, "```") == "yaml" {
				cur = &docBlock{line: n, section: section, marked: prev == configMarker}
			}
		case strings.HasPrefix(line, "## "):
			section = strings.TrimPrefix(line, "## ")
		}
		if cur == nil && fence == "" && trimmed != "" && !strings.HasPrefix(trimmed, "```") {
			prev = trimmed
		}
	}
	require.NoError(t, sc.Err())
	require.Nil(t, cur, "%s: a yaml block is not closed", path)
	return blocks
}

// serverConfig is what a block configures, built as the server builds it.
type serverConfig struct {
	identity *sources.Identity
	idConfig sources.Config
	sinks    *alerts.Config
}

// secretFiles names the keys whose values are files that the server reads
// when it builds the directory and the sinks, and what they hold.
var secretFiles = map[string]func(t *testing.T, dir string, certs alertstest.Certs) string{
	"token_file":         func(t *testing.T, dir string, _ alertstest.Certs) string { return writeFile(t, dir, randomHex(t)) },
	"bearer_token_file":  func(t *testing.T, dir string, _ alertstest.Certs) string { return writeFile(t, dir, randomHex(t)) },
	"bind_password_file": func(t *testing.T, dir string, _ alertstest.Certs) string { return writeFile(t, dir, randomHex(t)) },
	"secret_file": func(t *testing.T, dir string, _ alertstest.Certs) string {
		return writeFile(t, dir, "whsec_"+base64.StdEncoding.EncodeToString([]byte(randomHex(t))))
	},
	"ca_file":   func(_ *testing.T, _ string, c alertstest.Certs) string { return c.CAFile },
	"cert_file": func(_ *testing.T, _ string, c alertstest.Certs) string { return c.CertFile },
	"key_file":  func(_ *testing.T, _ string, c alertstest.Certs) string { return c.KeyFile },
	"state_dir": func(t *testing.T, _ string, _ alertstest.Certs) string { return t.TempDir() },
}

func randomHex(t *testing.T) string {
	b := make([]byte, 24)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func writeFile(t *testing.T, dir, content string) string {
	f, err := os.CreateTemp(dir, "secret-*")
	require.NoError(t, err)
	_, err = f.WriteString(content + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return f.Name()
}

// provide replaces the paths of the files the example names (tokens,
// passwords, certificates, the state directory) by files that exist with
// the right kind of content, so that building the configuration checks
// everything but their paths.
func provide(t *testing.T, n *yaml.Node, dir string, certs alertstest.Certs) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if fill, ok := secretFiles[k.Value]; ok && v.Kind == yaml.ScalarNode && v.Value != "" {
				v.Value, v.Style, v.Tag = fill(t, dir, certs), 0, "!!str"
			}
		}
	}
	for _, c := range n.Content {
		provide(t, c, dir, certs)
	}
}

// buildServerConfig decodes a server configuration block strictly (only
// identity: and sinks: at the top) and builds the identity directory with
// its sources and the sink dispatcher from it, as `vigil server` does.
func buildServerConfig(t *testing.T, text string) (serverConfig, error) {
	t.Helper()
	dir := t.TempDir()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return serverConfig{}, fmt.Errorf("parse: %w", err)
	}
	provide(t, &doc, dir, alertstest.WriteCerts(t, dir))
	raw, err := yaml.Marshal(&doc)
	require.NoError(t, err)

	var top struct {
		Identity yaml.Node      `yaml:"identity"`
		Sinks    *alerts.Config `yaml:"sinks"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&top); err != nil {
		return serverConfig{}, fmt.Errorf("decode: %w", err)
	}
	if top.Identity.Kind == 0 && top.Sinks == nil {
		return serverConfig{}, errors.New("no identity or sinks section")
	}
	var sc serverConfig
	if top.Identity.Kind != 0 {
		if sc.idConfig, err = sources.Decode(&top.Identity); err != nil {
			return sc, err
		}
		db, err := sqlite.Open(t.Context(), filepath.Join(dir, "vigil.db"), sqlite.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		if sc.identity, err = sources.New(t.Context(), sc.idConfig, db.Identity(), nil); err != nil {
			return sc, fmt.Errorf("identity: %w", err)
		}
	}
	if top.Sinks != nil {
		cfg := *top.Sinks
		cfg.Version = "docs"
		if _, err := alerts.New(cfg, nil, prometheus.NewRegistry()); err != nil {
			return sc, fmt.Errorf("sinks: %w", err)
		}
		sc.sinks = &cfg
	}
	return sc, nil
}

// hasOutput reports whether one of the sinks is what want asks for.
func (sc serverConfig) hasOutput(want func(o *alerts.SinkConfig) bool) bool {
	if sc.sinks == nil {
		return false
	}
	for i := range sc.sinks.Outputs {
		if want(&sc.sinks.Outputs[i]) {
			return true
		}
	}
	return false
}

// syslogOutput returns a test for a syslog sink with that format.
func syslogOutput(f alerts.Format) func(o *alerts.SinkConfig) bool {
	return func(o *alerts.SinkConfig) bool { return o.Type == alerts.TypeSyslog && o.Format == f }
}

// TestIntegrationExamples builds every server configuration example of
// docs/integrations.md the way the server does, and checks that each
// vendor's section configures what it is about.
func TestIntegrationExamples(t *testing.T) {
	wants := map[string]func(serverConfig) bool{
		"Okta":               func(sc serverConfig) bool { return sc.identity.SCIM != nil },
		"Microsoft Entra ID": func(sc serverConfig) bool { return sc.identity.SCIM != nil },
		"Active Directory": func(sc serverConfig) bool {
			return sc.identity.LDAP != nil && strings.HasPrefix(sc.idConfig.LDAP.URL, "ldaps://")
		},
		"Splunk": func(sc serverConfig) bool {
			return sc.hasOutput(func(o *alerts.SinkConfig) bool { return o.Type == alerts.TypeHEC })
		},
		"IBM QRadar": func(sc serverConfig) bool {
			return sc.hasOutput(func(o *alerts.SinkConfig) bool {
				return syslogOutput(alerts.FormatLEEF)(o) && o.Syslog.Network == "tls"
			})
		},
		"ArcSight":           func(sc serverConfig) bool { return sc.hasOutput(syslogOutput(alerts.FormatCEF)) },
		"Microsoft Sentinel": func(sc serverConfig) bool { return sc.hasOutput(syslogOutput(alerts.FormatCEF)) },
	}
	found := map[string]bool{}
	blocks := yamlBlocks(t, integrationsDoc)
	raw, err := os.ReadFile(integrationsDoc)
	require.NoError(t, err)
	marked := 0
	for _, b := range blocks {
		if b.marked {
			marked++
		}
	}
	require.Equal(t, strings.Count(string(raw), "\n"+configMarker+"\n"), marked,
		"every %s marker must stand on the line before a yaml block", configMarker)
	for _, b := range blocks {
		t.Run(fmt.Sprintf("line %d", b.line), func(t *testing.T) {
			if !b.marked {
				// A configuration example must be checked: mark it.
				var top map[string]any
				if yaml.Unmarshal([]byte(b.text), &top) == nil {
					require.NotContains(t, top, "identity", "%s:%d: mark the block with %s", integrationsDoc, b.line, configMarker)
					require.NotContains(t, top, "sinks", "%s:%d: mark the block with %s", integrationsDoc, b.line, configMarker)
				}
				return
			}
			sc, err := buildServerConfig(t, b.text)
			require.NoError(t, err, "%s:%d (section %q)", integrationsDoc, b.line, b.section)
			for vendor, want := range wants {
				if strings.HasPrefix(b.section, vendor) && want(sc) {
					found[vendor] = true
				}
			}
		})
	}
	for vendor := range wants {
		require.True(t, found[vendor], "%s: the %s section has no server configuration example that configures it", integrationsDoc, vendor)
	}
}

// TestBuildServerConfigRejects shows that the check above would catch a
// wrong example.
func TestBuildServerConfigRejects(t *testing.T) {
	for _, tc := range []struct{ name, yaml, err string }{
		{"unknown top-level key", "sink:\n  outputs: []\n", "field sink not found"},
		{"nothing", "{}\n", "no identity or sinks section"},
		{"unknown sink key", "sinks:\n  outputs:\n    - {name: s, type: syslog, syslog: {addr: 'h:514'}}\n", "field addr not found"},
		{"bad sink value", "sinks:\n  outputs:\n    - {name: s, type: webhook, format: cef, webhook: {url: 'https://h/'}}\n", "a webhook sends JSON"},
		{"missing syslog address", "sinks:\n  outputs:\n    - {name: s, type: syslog, syslog: {network: tls}}\n", "syslog.address"},
		{"unknown ldap key", "identity:\n  ldap: {url: 'ldaps://dc:636', base: 'DC=x'}\n", "field base not found"},
		{"ldap without base_dn", "identity:\n  ldap: {url: 'ldaps://dc:636'}\n", "base_dn: required"},
		{"short scim token", "identity:\n  scim: {token: short}\n", "at least 32 characters"},
		{"bad precedence", "identity:\n  identity_precedence: [okta]\n", `unknown source type "okta"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := buildServerConfig(t, tc.yaml)
			require.ErrorContains(t, err, tc.err)
		})
	}
}
