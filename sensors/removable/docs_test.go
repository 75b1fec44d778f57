package removable

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestDocumentedDefaults checks that the configuration block in
// docs/sensor-removable.md decodes to exactly the defaults.
func TestDocumentedDefaults(t *testing.T) {
	data, err := os.ReadFile("../../docs/sensor-removable.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(data), "```yaml\n")
	require.True(t, ok, "no yaml block")
	block, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	var doc map[string]yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(block), &doc))
	node := doc[Name]
	cfg, err := DecodeConfig(&node)
	require.NoError(t, err)
	want := DefaultConfig()
	want.IncludeDevices, want.ExcludeDevices, want.IncludeMounts = []string{}, []string{}, []string{}
	require.Equal(t, want, cfg)
}
