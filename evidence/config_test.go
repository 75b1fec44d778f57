package evidence

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultConfigValid(t *testing.T) {
	c := DefaultConfig()
	require.NoError(t, c.Validate())
	require.Equal(t, time.Second, c.Screen.Interval.D())
	require.Equal(t, 365*24*time.Hour, c.RetentionFor("high"))
	require.Equal(t, 730*24*time.Hour, c.RetentionFor("unknown"))
}

func TestConfigDecodeAndValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error; none means valid
	}{
		{"good", `
screen: {interval: 2s, post_roll_interval: 1s, max_width: 1280, backend: x11}
masking: {patterns: [{name: emp, regex: 'EMP-\d+'}], apps: [keepassxc]}
privacy: {blocked_apps: [signal], disabled_kinds: {contractors: [keystrokes]}}
retention: {critical: 3650d}
`, nil},
		{"unknown key", "screen: {fps: 5}\n", []string{"field fps not found"}},
		{"bad values", `
buffer: {duration: 0s, screen_bytes: 10, text_bytes: 10}
screen: {interval: 10ms, post_roll_interval: 5s, max_width: 10, quality: 0, backend: vnc}
masking: {patterns: [{name: '', regex: '('}], prompt_pattern: '(', clipboard_max_text: -1}
privacy: {blocked_titles: ['['], disabled_kinds: {g: [video]}}
retention: {urgent: 1d}
max_package_bytes: 5
`, []string{"evidence.buffer.duration", "evidence.buffer.screen_bytes", "evidence.buffer.text_bytes", "evidence.screen.interval",
			"evidence.screen.post_roll_interval", "evidence.screen.max_width", "evidence.screen.quality", "evidence.screen.backend",
			"evidence.masking.patterns[0].name", "evidence.masking.patterns[0].regex", "evidence.masking.prompt_pattern",
			"evidence.masking.clipboard_max_text", "evidence.privacy.blocked_titles[0]", `unknown evidence kind "video"`,
			"evidence.retention.urgent", "evidence.max_package_bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			err := DecodeConfig([]byte(tc.yaml), &c)
			if err == nil {
				err = c.Validate()
			}
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				require.True(t, strings.Contains(err.Error(), w), "error %q lacks %q", err, w)
			}
		})
	}
}
