package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/agent"
	"github.com/vigil-itm/vigil/identity/sources"
)

// TestOperationsExamplesLoad checks that the configuration files shown in
// docs/operations.md are accepted as they are, so the page cannot drift
// from the code.
func TestOperationsExamplesLoad(t *testing.T) {
	data, err := os.ReadFile("../../../docs/operations.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	var server, agentCfg string
	for _, b := range blocks {
		switch {
		case strings.HasPrefix(b[1], "data_dir:"):
			server = b[1]
		case strings.HasPrefix(b[1], "server:"):
			agentCfg = b[1]
		}
	}
	require.NotEmpty(t, server, "the vigil server example")
	require.NotEmpty(t, agentCfg, "the vigil agent example")
	dir := t.TempDir()

	p := filepath.Join(dir, "server.yml")
	require.NoError(t, os.WriteFile(p, []byte(server), 0o600))
	c, err := loadServerConfig(p)
	require.NoError(t, err)
	_, err = sources.Decode(&c.Identity)
	require.NoError(t, err)
	require.NoError(t, c.Sinks.Validate())
	require.Len(t, c.Sinks.Outputs, 1)

	p = filepath.Join(dir, "agent.yml")
	require.NoError(t, os.WriteFile(p, []byte(agentCfg), 0o600))
	ac, err := agent.LoadConfig(p)
	require.NoError(t, err)
	require.Equal(t, "https://vigil.corp:8470", ac.Server)
}
