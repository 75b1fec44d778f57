package removable

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
)

func TestDescribeFile(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HashMaxSize = 1 << 20
	s, err := New(cfg, sensors.Env{})
	require.NoError(t, err)
	dir := t.TempDir()
	dst := filepath.Join(dir, "dst.pdf")
	sum := writeFile(t, dst, 1000)
	// Three candidate sources: two of the copied size, one the same content.
	same := filepath.Join(dir, "same.pdf")
	require.NoError(t, os.Link(dst, same))
	other := filepath.Join(dir, "other.pdf")
	writeFile(t, other, 1000)
	small := filepath.Join(dir, "small.txt")
	writeFile(t, small, 10)
	vol := &volume{ev: event.Volume{Removable: true, MountPoint: dir}, user: "jdoe"}

	describe := func(j hashJob) (*event.Event, bool) {
		f, err := os.Open(dst)
		require.NoError(t, err)
		defer f.Close()
		return s.describeFile(f, &j)
	}

	e, ok := describe(hashJob{fd: -1, path: dst, vol: vol, srcs: []srcFile{{other, 1000}, {same, 1000}, {small, 10}}})
	require.True(t, ok)
	require.Equal(t, sum, e.File.Hash.SHA256)
	require.Equal(t, same, e.File.SourcePath, "the one candidate of the same size and hash")
	require.Equal(t, "jdoe", e.User.Name, "no process: the user the volume was mounted for")
	require.Nil(t, e.Process)

	_, ok = describe(hashJob{fd: -1, path: dst, vol: vol})
	require.False(t, ok, "unchanged since reported")

	s.dedupe.m = nil
	e, ok = describe(hashJob{fd: -1, path: dst, vol: vol, noHash: true, srcs: []srcFile{{small, 10}, {other, 1000}},
		proc: &procInfo{PID: 7, Name: "cp", Executable: "/usr/bin/cp", Args: []string{"cp", "a", "b"}, UID: "0", EUID: "1000"}})
	require.True(t, ok)
	require.Nil(t, e.File.Hash)
	require.Equal(t, "hash queue full", e.Labels["hash_skipped"])
	require.Equal(t, other, e.File.SourcePath, "the only candidate of the same size")
	require.Equal(t, "cp a b", e.Process.CommandLine)
	require.Equal(t, "root", e.User.Name)
	require.Equal(t, "1000", e.User.EffectiveID)

	s.dedupe.m = nil
	e, ok = describe(hashJob{fd: -1, path: dst, vol: vol, srcs: []srcFile{{other, 1000}, {filepath.Join(dir, "gone"), 1000}}})
	require.True(t, ok)
	require.Empty(t, e.File.SourcePath, "the only same-size candidate that can be read has another hash")
}
