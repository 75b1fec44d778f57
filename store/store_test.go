package store_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/store"
)

func TestAlertStatus(t *testing.T) {
	all := []store.AlertStatus{store.StatusOpen, store.StatusAcknowledged, store.StatusResolved, store.StatusFalsePositive}
	allowed := map[[2]store.AlertStatus]bool{
		{store.StatusOpen, store.StatusAcknowledged}:          true,
		{store.StatusAcknowledged, store.StatusResolved}:      true,
		{store.StatusAcknowledged, store.StatusFalsePositive}: true,
	}
	for _, from := range all {
		require.True(t, from.Valid())
		require.Equal(t, from == store.StatusResolved || from == store.StatusFalsePositive, from.Final(), from)
		for _, to := range append(all, "closed", "") {
			require.Equal(t, allowed[[2]store.AlertStatus{from, to}], from.CanTransitionTo(to), "%s → %s", from, to)
		}
	}
	require.False(t, store.AlertStatus("closed").Valid())
	require.False(t, store.AlertStatus("").CanTransitionTo(store.StatusOpen))
}

func TestRole(t *testing.T) {
	for _, r := range []store.Role{store.RoleAdmin, store.RoleAnalyst, store.RoleAuditor, store.RoleAgent} {
		require.True(t, r.Valid(), r)
	}
	for _, r := range []store.Role{"", "root", "Admin"} {
		require.False(t, r.Valid(), r)
	}
}

func TestPageLimit(t *testing.T) {
	for in, want := range map[int]int{-5: store.DefaultLimit, 0: store.DefaultLimit, 1: 1, 250: 250, store.MaxLimit: store.MaxLimit, store.MaxLimit + 1: store.MaxLimit} {
		require.Equal(t, want, store.PageLimit(in), in)
	}
}

func TestTokenSecrets(t *testing.T) {
	a, b := store.NewTokenSecret(), store.NewTokenSecret()
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, store.TokenPrefix))
	require.True(t, store.WellFormedTokenSecret(a))
	require.Len(t, a, len(store.TokenPrefix)+43)
	for _, s := range []string{"", "vigil_", a[:len(a)-1], strings.TrimPrefix(a, store.TokenPrefix), "xxxxx_" + a[len(store.TokenPrefix):]} {
		require.False(t, store.WellFormedTokenSecret(s), s)
	}
	require.Equal(t, store.HashTokenSecret(a), store.HashTokenSecret(a))
	require.NotEqual(t, store.HashTokenSecret(a), store.HashTokenSecret(b))
}

func TestBundleETag(t *testing.T) {
	require.Equal(t, `"abc"`, store.BundleRevision{SHA256: "abc"}.ETag())
}

func TestDays(t *testing.T) {
	require.Equal(t, 48*3600*1e9, float64(store.Days(2)))
}

// TestImports holds the boundaries the package docs state: store imports
// only event from Vigil, and its implementations only event and store, so
// that the engine and the API stay free to depend on it and never the
// other way round.
func TestImports(t *testing.T) {
	const mod = "github.com/vigil-itm/vigil/"
	allowed := map[string]bool{"event": true, "store": true}
	checked := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, mod) {
				continue
			}
			top, _, _ := strings.Cut(strings.TrimPrefix(p, mod), "/")
			require.True(t, allowed[top], "%s imports %s", path, p)
		}
		return nil
	})
	require.NoError(t, err)
	require.Positive(t, checked)
}
