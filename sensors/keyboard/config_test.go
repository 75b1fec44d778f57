package keyboard

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

func TestKeyboardConfig(t *testing.T) {
	cases := []struct{ name, yaml, err string }{
		{"defaults", "", ""},
		{"all", "display: ':2.0'\nkeystrokes: false\nchunk_idle: 5s\nmax_chunk_bytes: 64\ncombo_wait: 500ms\n" +
			"mask_apps: ['vault*']\nmask_titles: ['(?i)secret']\nmask_builtin: false\n", ""},
		{"unknown key", "keystroke: true\n", "field keystroke not found"},
		{"idle", "chunk_idle: 0s\n", "keyboard.chunk_idle"},
		{"chunk", "max_chunk_bytes: 2\n", "keyboard.max_chunk_bytes"},
		{"combo wait", "combo_wait: 2h\n", "keyboard.combo_wait"},
		{"title pattern", "mask_titles: ['a(']\n", "keyboard.mask_titles[0]"},
		{"display", "display: here\n", "keyboard.display"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig(sensortest.YAML(t, tc.yaml))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			if tc.name == "all" {
				require.Equal(t, 500*time.Millisecond, cfg.ComboWait)
				require.False(t, cfg.MaskBuiltin)
				require.Equal(t, []string{"vault*"}, cfg.MaskApps)
			}
		})
	}
	reg, ok := sensors.Lookup(Name)
	require.True(t, ok)
	require.True(t, reg.DefaultEnabled)
}
