package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWriteReplacesWholeOrNothing: a write creates or replaces the file
// with the given mode and leaves no temporary file; a failed write leaves
// the old contents and no temporary file.
func TestWriteReplacesWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	require.NoError(t, WriteFile(path, []byte("one"), 0o600))
	require.NoError(t, WriteFile(path, []byte("two"), 0o640))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "two", string(data))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm())

	boom := errors.New("disk gave up")
	err = Write(path, 0o600, func(w io.Writer) error {
		_, _ = w.Write([]byte("half of thr"))
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Contains(t, err.Error(), path)
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "two", string(data), "the old contents stay")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")

	err = WriteFile(filepath.Join(dir, "missing", "x"), []byte("x"), 0o600)
	require.ErrorIs(t, err, os.ErrNotExist)
}
