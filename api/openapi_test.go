package api

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

const openAPIGolden = "testdata/openapi.golden.json"

func TestOpenAPIGolden(t *testing.T) {
	env := newTestEnv(t)
	r := env.do("", http.MethodGet, "/api/v1/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.True(t, json.Valid(r.body))
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(openAPIGolden), 0o755))
		require.NoError(t, os.WriteFile(openAPIGolden, r.body, 0o644))
	}
	want, err := os.ReadFile(openAPIGolden)
	require.NoError(t, err, "run go test ./api -run TestOpenAPIGolden -update to create it")
	require.Equal(t, string(want), string(r.body), "the OpenAPI document changed: review, then run go test ./api -run TestOpenAPIGolden -update")
}

// openAPIDoc is the part of the document the route checks read.
type openAPIDoc struct {
	Paths map[string]map[string]struct {
		OperationID string                      `json:"operationId"`
		Roles       []string                    `json:"x-vigil-roles"`
		Security    []map[string]any            `json:"security"`
		Parameters  []struct{ Name, In string } `json:"parameters"`
		Responses   map[string]any              `json:"responses"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]any `json:"schemas"`
	} `json:"components"`
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	env := newTestEnv(t)
	var doc openAPIDoc
	require.NoError(t, json.Unmarshal(env.srv.openapi, &doc))

	// Every gin route is documented...
	router, ok := env.srv.Handler().(*gin.Engine)
	require.True(t, ok)
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	registered := map[string]bool{}
	for _, ri := range router.Routes() {
		p := param.ReplaceAllString(ri.Path, "{$1}")
		key := strings.ToLower(ri.Method) + " " + p
		registered[key] = true
		op, ok := doc.Paths[p][strings.ToLower(ri.Method)]
		require.True(t, ok, "route %s %s is not in the OpenAPI document", ri.Method, ri.Path)
		for _, name := range param.FindAllStringSubmatch(ri.Path, -1) {
			require.True(t, slices.ContainsFunc(op.Parameters, func(p struct{ Name, In string }) bool {
				return p.Name == name[1] && p.In == "path"
			}), "%s %s: path parameter %s undocumented", ri.Method, ri.Path, name[1])
		}
	}
	// ...and every documented operation is a gin route.
	ops := map[string]bool{}
	for p, item := range doc.Paths {
		for method, op := range item {
			require.True(t, registered[method+" "+p], "the OpenAPI document has %s %s, which no route serves", method, p)
			require.False(t, ops[op.OperationID], "operationId %s used twice", op.OperationID)
			ops[op.OperationID] = true
			require.NotEmpty(t, op.Responses)
		}
	}
	require.Len(t, ops, len(router.Routes()))

	// The roles in the document are the ones enforced: check every route
	// with every role.
	for _, rt := range env.srv.routes {
		op := doc.Paths[rt.path][strings.ToLower(rt.method)]
		if rt.roles == nil {
			require.Empty(t, op.Roles, rt.path)
			require.Empty(t, op.Security, rt.path)
			continue
		}
		require.Equal(t, rolesStrings(rt.roles), op.Roles, rt.path)
		path := strings.NewReplacer("{id}", "x", "{name}", "x", "{revision}", "x").Replace(rt.path)
		for _, role := range []store.Role{store.RoleAdmin, store.RoleAnalyst, store.RoleAuditor, store.RoleAgent} {
			// A bad body or a missing record may follow, but never a 401, and
			// a 403 exactly for the roles left out.
			r := env.do(role, rt.method, path, "{}")
			if slices.Contains(rt.roles, role) {
				require.NotEqual(t, http.StatusForbidden, r.status, "%s %s as %s: %s", rt.method, path, role, r.body)
				require.NotEqual(t, http.StatusUnauthorized, r.status, "%s %s as %s: %s", rt.method, path, role, r.body)
			} else {
				require.Equal(t, http.StatusForbidden, r.status, "%s %s as %s: %s", rt.method, path, role, r.body)
			}
		}
		r := env.do("", rt.method, path, nil)
		require.Equal(t, http.StatusUnauthorized, r.status, "%s %s without a token", rt.method, path)
	}

	// The event schema is the event package's.
	require.Contains(t, doc.Components.Schemas, "Event")
	require.Contains(t, doc.Components.Schemas, "Decision")
	require.Contains(t, doc.Components.Schemas, "ErrorBody")
}

// TestErrorTable checks that every code has one row and that sentinels
// land where the table says.
func TestErrorTable(t *testing.T) {
	seen := map[Code]bool{}
	for _, row := range errorTable {
		require.False(t, seen[row.code], "code %s has two rows", row.code)
		seen[row.code] = true
		require.NotZero(t, row.status)
		require.NotEmpty(t, row.meaning)
		for _, s := range row.sentinels {
			code, status, _, _ := classify(fmt.Errorf("doing something: %w", s))
			require.Equal(t, row.code, code, "sentinel %v", s)
			require.Equal(t, row.status, status)
		}
	}
	code, status, msg, _ := classify(fmt.Errorf("open file: %w", os.ErrPermission))
	require.Equal(t, CodeInternal, code)
	require.Equal(t, http.StatusInternalServerError, status)
	require.NotContains(t, msg, "open file", "internal details stay in the log")
	// The more specific store error wins over the general one.
	code, _, _, _ = classify(fmt.Errorf("x: %w: %w", store.ErrInvalidTransition, store.ErrConflict))
	require.Equal(t, CodeInvalidTransition, code)
}
