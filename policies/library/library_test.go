package library

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies"
)

func TestExtractedLibraryLoadsLikeTheDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "library")
	require.NoError(t, Extract(dir))
	got, err := policies.Load(dir)
	require.NoError(t, err)
	want, err := policies.Load(".")
	require.NoError(t, err)
	require.Equal(t, want.Revision(), got.Revision())
	require.Equal(t, len(want.Rules), len(got.Rules))
	for i := range want.Rules {
		require.Equal(t, want.Rules[i].Hash(), got.Rules[i].Hash())
	}
	require.Equal(t, len(want.Scenarios), len(got.Scenarios))

	// Never over an existing bundle.
	require.Error(t, Extract(dir))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
}
