package session

import (
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func parseYAML(t *testing.T, s string) *yaml.Node {
	t.Helper()
	if s == "" {
		return nil
	}
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(s), &doc))
	return doc.Content[0]
}
