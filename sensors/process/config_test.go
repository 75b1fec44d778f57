package process

import (
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name, yaml, err string
	}{
		{name: "defaults"},
		{name: "all keys", yaml: `
mode: procscan
scan_interval: 2s
exclude_executables: [sleep, "/usr/lib/*"]
exclude_users: [nobody, "0"]
emit_ended: false
hash: false
hash_max_bytes: 1024
hash_cache_entries: 10
max_events_per_second: 0
max_tracked: 100
`},
		{name: "unknown key", yaml: "nope: 1", err: "field nope not found"},
		{name: "bad mode", yaml: "mode: ebpf", err: "mode"},
		{name: "bad pattern", yaml: "exclude_executables: ['[']", err: "exclude_executables[0]"},
		{name: "small interval", yaml: "scan_interval: 1ms", err: "scan_interval"},
		{name: "negative rate", yaml: "max_events_per_second: -1", err: "max_events_per_second"},
		{name: "zero cache", yaml: "hash_cache_entries: 0", err: "hash_cache_entries"},
		{name: "zero tracked", yaml: "max_tracked: 0", err: "max_tracked"},
		{name: "negative hash size", yaml: "hash_max_bytes: -1", err: "hash_max_bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var node *yaml.Node
			if tc.yaml != "" {
				var doc yaml.Node
				require.NoError(t, yaml.Unmarshal([]byte(tc.yaml), &doc))
				node = doc.Content[0]
			}
			_, err := ParseConfig(node)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}
