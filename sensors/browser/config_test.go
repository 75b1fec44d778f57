package browser

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
)

func TestRegistered(t *testing.T) {
	r, ok := sensors.Lookup(Name)
	require.True(t, ok)
	require.True(t, r.DefaultEnabled)
	s, err := r.New(nil, sensors.Env{})
	require.NoError(t, err)
	require.Equal(t, Name, s.Name())
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
		check   func(*testing.T, Config)
	}{
		{name: "empty section takes the defaults", yaml: "", check: func(t *testing.T, c Config) {
			require.Equal(t, DefaultConfig(), c)
			require.Equal(t, AllBrowsers, c.Browsers)
			require.Equal(t, 15*time.Second, c.PollInterval)
			require.True(t, c.Downloads)
			require.False(t, c.IncludeQuery)
			require.Len(t, c.IncludeCategories, 4)
		}},
		{name: "every key", yaml: `
homes: ["/srv/homes/*"]
browsers: [firefox, edge]
poll_interval: 1m
debounce: 5s
rescan: 10m
include_categories: [all]
downloads: false
domains: [{domain: share.partner.example, category: file-sharing, provider: partner}]
include_query: true
include_titles: false
max_rows_per_poll: 100
backfill: 24h
temp_dir: /run/vigil
resume: false
`, check: func(t *testing.T, c Config) {
			require.Equal(t, []string{"/srv/homes/*"}, c.Homes)
			require.Equal(t, []string{Firefox, Edge}, c.Browsers)
			require.Equal(t, time.Minute, c.PollInterval)
			require.Equal(t, []string{IncludeAll}, c.IncludeCategories)
			require.Equal(t, "partner", c.Domains[0].Provider)
			require.True(t, c.IncludeQuery)
			require.False(t, c.IncludeTitles)
			require.Equal(t, 100, c.MaxRowsPerPoll)
			require.Equal(t, "/run/vigil", c.TempDir)
			require.False(t, c.Resume)
		}},
		{name: "no visits", yaml: "include_categories: []", check: func(t *testing.T, c Config) {
			require.Empty(t, c.IncludeCategories)
		}},
		{name: "unknown key", yaml: "include_queries: true", wantErr: "field include_queries not found"},
		{name: "unknown browser", yaml: "browsers: [firefox, opera]", wantErr: `browsers[1]: "opera" is not one of firefox, chrome, chromium, edge, brave`},
		{name: "unknown category", yaml: "include_categories: [social]", wantErr: `include_categories[0]: "social"`},
		{name: "bad home pattern", yaml: `homes: ["/home/["]`, wantErr: "homes[0]"},
		{name: "bad domain", yaml: "domains: [{domain: 'a b', category: paste}]", wantErr: `domains[0]: domain: "a b"`},
		{name: "bad domain category", yaml: "domains: [{domain: a.example, category: news}]", wantErr: `domains[0]: category: "news"`},
		{name: "poll too fast", yaml: "poll_interval: 1ms", wantErr: "poll_interval: 1ms is below"},
		{name: "negative debounce", yaml: "debounce: -1s", wantErr: "debounce: -1s is negative"},
		{name: "rescan too fast", yaml: "rescan: 1ms", wantErr: "rescan: 1ms is below"},
		{name: "no rows", yaml: "max_rows_per_poll: 0", wantErr: "max_rows_per_poll: 0 is below 1"},
		{name: "negative backfill", yaml: "backfill: -1h", wantErr: "backfill: -1h0m0s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var node *yaml.Node
			if tt.yaml != "" {
				var doc yaml.Node
				require.NoError(t, yaml.Unmarshal([]byte(tt.yaml), &doc))
				node = doc.Content[0]
			}
			c, err := ParseConfig(node)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.ErrorContains(t, err, "browser: ")
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestDefaultHomesPerOS(t *testing.T) {
	c := DefaultConfig()
	require.NotEmpty(t, c.Homes)
	require.True(t, slices.ContainsFunc(c.Homes, func(h string) bool { return h == "/home/*" || h == "/Users/*" || h == `C:\Users\*` }))
}
