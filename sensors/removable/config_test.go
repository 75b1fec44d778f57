package removable

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors"
)

func decodeYAML(t *testing.T, s string) (Config, error) {
	t.Helper()
	if strings.TrimSpace(s) == "" {
		return DecodeConfig(nil)
	}
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(s), &node))
	return DecodeConfig(node.Content[0])
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := decodeYAML(t, "")
	require.NoError(t, err)
	require.Equal(t, DefaultConfig(), cfg)
	require.Equal(t, ModeAuto, cfg.Mode)
	require.Equal(t, ByteSize(256<<20), cfg.HashMaxSize)
	require.Equal(t, 2*time.Second, cfg.MountPollInterval)
}

func TestConfigDecode(t *testing.T) {
	cfg, err := decodeYAML(t, `
mode: fsnotify
process_attribution: notify
mount_poll_interval: 500ms
hash_max_size: 64MiB
hash_workers: 4
queue_size: 100
source_tracking: false
usb_devices: false
include_devices: ["loop*", sdz]
exclude_devices: [sda]
include_mounts: [/srv/usb/*]
mount_prefixes: [/media, /mnt]
fsnotify_settle: 250ms
fsnotify_max_watches: 100
`)
	require.NoError(t, err)
	require.Equal(t, Config{
		Mode: ModeFsnotify, ProcessAttribution: AttributionNotify, MountPollInterval: 500 * time.Millisecond,
		HashMaxSize: 64 << 20, HashWorkers: 4, QueueSize: 100,
		IncludeDevices: []string{"loop*", "sdz"}, ExcludeDevices: []string{"sda"}, IncludeMounts: []string{"/srv/usb/*"},
		MountPrefixes: []string{"/media", "/mnt"}, FsnotifySettle: 250 * time.Millisecond, FsnotifyMaxWatches: 100,
	}, cfg)
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		yaml string
		want []string
	}{
		{"mode: kernel", []string{`mode: want auto, fanotify or fsnotify, got "kernel"`}},
		{"process_attribution: guess", []string{"process_attribution: want permission or notify"}},
		{"mount_poll_interval: 1ms", []string{"mount_poll_interval: want from 100ms to 1h"}},
		{"hash_max_size: -1", []string{"line 1", `parse byte size "-1"`}},
		{"hash_max_size: 12 parsecs", []string{"parse byte size"}},
		{"hash_workers: 0", []string{"hash_workers: want from 1 to 64"}},
		{"queue_size: 0", []string{"queue_size: want from 1"}},
		{"fsnotify_settle: 1h", []string{"fsnotify_settle: want from 10ms to 1m"}},
		{"fsnotify_max_watches: 0", []string{"fsnotify_max_watches: must be at least 1"}},
		{"include_devices: ['[']", []string{"include_devices[0]: bad pattern"}},
		{"exclude_devices: ['']", []string{"exclude_devices[0]: empty pattern"}},
		{"include_mounts: [media/*]", []string{"include_mounts[0]: want an absolute path pattern"}},
		{"mount_prefixes: [media]", []string{"mount_prefixes[0]: want an absolute directory"}},
		{"hash_workers: 0\nqueue_size: 0", []string{"hash_workers:", "queue_size:"}},
		{"hash_max_szie: 1MiB", []string{"field hash_max_szie not found"}},
	}
	for _, tc := range cases {
		t.Run(tc.yaml, func(t *testing.T) {
			_, err := decodeYAML(t, tc.yaml)
			require.Error(t, err)
			require.ErrorContains(t, err, `sensor "removable"`)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"0": 0, "4096": 4096, "1KiB": 1024, "64MiB": 64 << 20, "1GiB": 1 << 30, "2TiB": 2 << 40,
		"10MB": 10e6, "1 GB": 1e9, "3K": 3 << 10, "5M": 5 << 20, "1G": 1 << 30, "7B": 7,
	} {
		got, err := ParseByteSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "MiB", "-1", "1.5MiB", "99999999999TiB", "x"} {
		_, err := ParseByteSize(in)
		require.Error(t, err, in)
	}
	require.Equal(t, "256MiB", ByteSize(256<<20).String())
	require.Equal(t, "1000", ByteSize(1000).String())
	require.Equal(t, "0", ByteSize(0).String())
}

func TestRegistered(t *testing.T) {
	reg, ok := sensors.Lookup(Name)
	require.True(t, ok)
	require.True(t, reg.DefaultEnabled)
	require.NotEmpty(t, reg.Description)
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte("bogus: 1"), &node))
	_, err := reg.New(node.Content[0], sensors.Env{})
	require.Error(t, err)
	require.False(t, errors.Is(err, sensors.ErrNotSupported))
}

func TestValidateProgrammatic(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.Validate())
	cfg.HashMaxSize = -1
	require.ErrorContains(t, cfg.Validate(), "hash_max_size: must not be negative")
	cfg = DefaultConfig()
	cfg.HashMaxSize = 0 // hashing off is valid
	require.NoError(t, cfg.Validate())
}
