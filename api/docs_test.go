package api

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDocsMatchTables checks docs/api.md against the route table and the
// error table, so that the page cannot drift from what the server does.
func TestDocsMatchTables(t *testing.T) {
	data, err := os.ReadFile("../docs/api.md")
	require.NoError(t, err)
	doc := string(data)
	env := newTestEnv(t)

	routeRow := regexp.MustCompile("(?m)^\\| `([A-Z]+)` \\| `([^`]+)` \\| ([a-z, ]+) \\|")
	documented := map[string]string{}
	for _, m := range routeRow.FindAllStringSubmatch(doc, -1) {
		documented[m[1]+" "+m[2]] = m[3]
	}
	require.Len(t, documented, len(env.srv.routes), "docs/api.md lists %d routes, the server has %d", len(documented), len(env.srv.routes))
	for _, rt := range env.srv.routes {
		roles, ok := documented[rt.method+" "+rt.path]
		require.True(t, ok, "docs/api.md does not list %s %s", rt.method, rt.path)
		want := "public"
		if rt.roles != nil {
			want = joinRoles(rt.roles)
		}
		require.Equal(t, want, roles, "roles of %s %s in docs/api.md", rt.method, rt.path)
	}

	codeRow := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([0-9]+) \\| (.+) \\|$")
	rows := codeRow.FindAllStringSubmatch(doc, -1)
	require.Len(t, rows, len(errorTable), "docs/api.md lists %d error codes, the table has %d", len(rows), len(errorTable))
	for i, row := range errorTable {
		m := rows[i]
		require.Equal(t, string(row.code), m[1], "error code %d in docs/api.md", i)
		require.Equal(t, strconv.Itoa(row.status), m[2], "status of %s in docs/api.md", row.code)
		require.Equal(t, row.meaning, m[3], "meaning of %s in docs/api.md", row.code)
	}
}
