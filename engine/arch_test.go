package engine

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportRules holds the package boundaries the package docs state: the
// flow runs event → policies → engine → (alerts, api, store), never back.
func TestImportRules(t *testing.T) {
	const mod = "github.com/vigil-itm/vigil/"
	forbidden := map[string][]string{
		"event":    {"policies", "engine", "alerts", "api", "store", "agent", "sensors", "evidence", "identity", "cmd"},
		"policies": {"engine", "alerts", "api", "store", "agent", "sensors", "evidence", "identity", "cmd"},
		"engine":   {"alerts", "api", "store", "agent", "sensors", "evidence", "identity", "cmd"},
		"sensors":  {"engine", "alerts", "api", "store"},
	}
	// policies/policytest runs bundles through the engine on purpose.
	allowed := map[string]bool{"policies/policytest": true}
	root := ".."
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == "node_modules" || strings.HasPrefix(n, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if allowed[rel] {
			return nil
		}
		top, _, _ := strings.Cut(rel, "/")
		rules, ok := forbidden[top]
		if !ok {
			return nil
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
			target, _, _ := strings.Cut(strings.TrimPrefix(p, mod), "/")
			for _, bad := range rules {
				require.NotEqual(t, bad, target, "%s imports %s: %s must not import %s", path, p, top, bad)
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Positive(t, checked)
}
