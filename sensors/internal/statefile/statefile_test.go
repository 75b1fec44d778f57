package statefile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

type state struct {
	Offset int64    `json:"offset"`
	Recent []string `json:"recent,omitempty"`
}

func TestPath(t *testing.T) {
	require.Empty(t, Path("", "email"))
	dir := t.TempDir()
	require.Equal(t, filepath.Join(dir, "email.state.json"), Path(dir, "email"))
}

func TestRoundTrip(t *testing.T) {
	p := Path(t.TempDir(), "printing")
	require.Nil(t, Load[state](p), "no file yet")

	want := state{Offset: 42, Recent: []string{"P-1"}}
	require.NoError(t, Save(p, want))
	require.Equal(t, &want, Load[state](p))
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.JSONEq(t, `{"offset":42,"recent":["P-1"]}`, string(data))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	_, err = os.Stat(p + ".tmp")
	require.ErrorIs(t, err, os.ErrNotExist, "the temporary file was renamed")

	// A pointer is saved like the value it points at.
	want.Offset = 43
	require.NoError(t, Save(p, &want))
	require.Equal(t, &want, Load[state](p))

	require.NoError(t, os.WriteFile(p, []byte("{"), 0o600))
	require.Nil(t, Load[state](p), "a damaged file is no state")
}

func TestEmptyPathKeepsNothing(t *testing.T) {
	require.NoError(t, Save("", state{Offset: 1}))
	require.Nil(t, Load[state](""))
}

func TestSaveErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	err := Save(filepath.Join(dir, "x.state.json"), state{})
	require.ErrorContains(t, err, "write state")
	require.ErrorIs(t, err, os.ErrNotExist)

	require.ErrorContains(t, Save(filepath.Join(t.TempDir(), "x"), func() {}), "encode state")
}

func TestRecent(t *testing.T) {
	r := NewRecent(3)
	require.Empty(t, r.Keys())
	for _, k := range []string{"a", "b", "c"} {
		require.True(t, r.Add(k))
	}
	require.False(t, r.Add("b"), "already remembered")
	require.Equal(t, []string{"a", "b", "c"}, r.Keys())

	require.True(t, r.Add("d"))
	require.Equal(t, []string{"b", "c", "d"}, r.Keys(), "the oldest is forgotten")
	require.False(t, r.Has("a"))
	require.True(t, r.Has("d"))
	require.True(t, r.Add("a"), "a forgotten key is new again")

	// What is saved and loaded restores the same memory.
	p := Path(t.TempDir(), "test")
	require.NoError(t, Save(p, state{Recent: r.Keys()}))
	st := Load[state](p)
	require.NotNil(t, st)
	r2 := NewRecent(3)
	for _, k := range st.Recent {
		r2.Add(k)
	}
	require.Equal(t, r.Keys(), r2.Keys())
}
