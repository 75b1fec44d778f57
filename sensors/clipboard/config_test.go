package clipboard

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

func TestClipboardConfig(t *testing.T) {
	cases := []struct {
		name, yaml, err string
	}{
		{"defaults", "", ""},
		{"all", "display: ':3'\nselections: [CLIPBOARD]\nemit_primary: true\ninclude_text: true\nevidence_text: false\n" +
			"max_text_bytes: 100\nmax_read_bytes: 2048\ntimeout: 1s\ncombo_window: 3s\nmask_apps: [vault]\nmask_titles: ['(?i)secret']\nmask_builtin: false\n", ""},
		{"unknown key", "includetext: true\n", "field includetext not found"},
		{"bad selection", "selections: [SECONDARY]\n", "clipboard.selections[0]"},
		{"bad cap", "max_read_bytes: 10\n", "clipboard.max_read_bytes"},
		{"bad title", "mask_titles: ['(']\n", "clipboard.mask_titles[0]"},
		{"bad app", "mask_apps: ['[']\n", "clipboard.mask_apps[0]"},
		{"bad display", "display: 'nope'\n", "clipboard.display"},
		{"bad timeout", "timeout: 0s\n", "clipboard.timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig(sensortest.YAML(t, tc.yaml))
			if tc.err == "" {
				require.NoError(t, err)
				require.NoError(t, cfg.Validate())
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}
