package scim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/identity"
	"github.com/vigil-itm/vigil/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testToken = "test-token-0123456789abcdef0123456789"

// env is a SCIM server on a real SQLite store and directory.
type env struct {
	t    *testing.T
	dir  *identity.Directory
	srv  *Server
	http *httptest.Server
	path string
	db   *sqlite.DB
}

func newEnv(t *testing.T) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vigil.db")
	e := &env{t: t, path: path}
	e.open()
	t.Cleanup(func() { e.close() })
	return e
}

func (e *env) open() {
	t := e.t
	db, err := sqlite.Open(t.Context(), e.path, sqlite.Options{})
	require.NoError(t, err)
	e.db = db
	e.dir, err = identity.New(identity.Config{}, db.Identity(), nil)
	require.NoError(t, err)
	require.NoError(t, e.dir.Load(t.Context()))
	e.srv, err = New(Config{Token: testToken, BaseURL: "https://vigil.example/scim/v2"}, e.dir, nil)
	require.NoError(t, err)
	require.NoError(t, e.srv.Load(t.Context()))
	e.http = httptest.NewServer(e.srv)
}

func (e *env) close() {
	if e.http != nil {
		e.http.Close()
		require.NoError(e.t, e.db.Close())
		e.http = nil
	}
}

// do sends a request and returns the status and decoded body.
func (e *env) do(method, path, body string) (int, map[string]any, http.Header) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.http.URL+"/scim/v2"+path, strings.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	resp, err := e.http.Client().Do(req)
	require.NoError(e.t, err)
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	var out map[string]any
	if len(bytes.TrimSpace(data)) > 0 {
		require.NoError(e.t, json.Unmarshal(data, &out), "body: %s", data)
		require.Equal(e.t, MediaType, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, out, resp.Header
}

// step is one request of a replayed provisioning conversation.
type step struct {
	Name    string            `yaml:"name"`
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Body    string            `yaml:"body"`
	Status  int               `yaml:"status"`
	Expect  any               `yaml:"expect"`
	Absent  []string          `yaml:"absent"`
	Capture map[string]string `yaml:"capture"`
}

// replay runs the steps of a testdata file against e and returns the
// captured values.
func replay(t *testing.T, e *env, file string) map[string]string {
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var steps []step
	require.NoError(t, yaml.Unmarshal(data, &steps))
	require.NotEmpty(t, steps)
	vars := map[string]string{}
	subst := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "{{"+k+"}}", v)
		}
		return s
	}
	for i, st := range steps {
		status, body, _ := e.do(st.Method, subst(st.Path), subst(st.Body))
		require.Equal(t, st.Status, status, "step %d %q: body %v", i, st.Name, body)
		if st.Expect != nil {
			var want any
			require.NoError(t, json.Unmarshal([]byte(subst(mustJSON(st.Expect))), &want), "step %d", i)
			requireSubset(t, want, any(body), st.Name)
		}
		for _, a := range st.Absent {
			_, has := body[a]
			require.False(t, has, "step %q: %q should be absent from %v", st.Name, a, body)
		}
		for name, field := range st.Capture {
			v, ok := body[field].(string)
			require.True(t, ok, "step %q: capture %s", st.Name, field)
			vars[name] = v
		}
	}
	return vars
}

// requireSubset checks that every field of want is in got: objects by key,
// lists element-wise in any order (an empty wanted list wants an empty one).
func requireSubset(t *testing.T, want, got any, where string) {
	t.Helper()
	require.True(t, subset(want, got), "%s:\nwant a superset of %s\ngot %s", where, mustJSON(want), mustJSON(got))
}

func subset(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !subset(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || (len(w) == 0 && len(g) != 0) {
			return false
		}
		for _, wv := range w {
			found := false
			for _, gv := range g {
				if subset(wv, gv) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	return want == got
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestOktaConversation(t *testing.T) {
	e := newEnv(t)
	vars := replay(t, e, "testdata/okta.yaml")

	jane, err := e.dir.Person("jane.doe")
	require.NoError(t, err)
	require.Equal(t, "Jane Doe", jane.FullName)
	require.Equal(t, "jane.doe@example.com", jane.Email)
	require.Equal(t, "Finance", jane.Department)
	require.Equal(t, "Accountant", jane.Title)
	require.Equal(t, "1234", jane.EmployeeNumber)
	require.Equal(t, "CC-42", jane.CostCenter)
	require.Equal(t, "EMEA", jane.Division)
	require.Equal(t, "Example", jane.Organization)
	require.Equal(t, "max.boss", jane.Manager, "the manager's SCIM id resolves to the login")
	require.Equal(t, []string{"Finance"}, jane.Groups, "the rename reaches the members")
	require.NotNil(t, jane.Active)
	require.False(t, *jane.Active)
	// The full userName finds her too.
	byUPN, err := e.dir.Person("JANE.DOE@example.com")
	require.NoError(t, err)
	require.Equal(t, "jane.doe", byUPN.Login)

	// Everything survives a restart.
	e.close()
	e.open()
	status, body, _ := e.do(http.MethodGet, "/Users/"+vars["jane"], "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, false, body["active"])
	jane, err = e.dir.Person("jane.doe")
	require.NoError(t, err)
	require.Equal(t, []string{"Finance"}, jane.Groups)

	// Delete the group and the user: the directory forgets them.
	status, _, _ = e.do(http.MethodDelete, "/Groups/"+vars["finance"], "")
	require.Equal(t, http.StatusNoContent, status)
	jane, err = e.dir.Person("jane.doe")
	require.NoError(t, err)
	require.Empty(t, jane.Groups)
	status, _, _ = e.do(http.MethodDelete, "/Users/"+vars["jane"], "")
	require.Equal(t, http.StatusNoContent, status)
	_, err = e.dir.Person("jane.doe")
	require.Error(t, err)
}

func TestEntraConversation(t *testing.T) {
	e := newEnv(t)
	vars := replay(t, e, "testdata/entra.yaml")

	u, err := e.dir.Person("test_user_ab6490ee")
	require.NoError(t, err)
	require.Equal(t, "Engineering", u.Department)
	require.Equal(t, "Engineer", u.Title)
	require.Equal(t, "100009", u.EmployeeNumber)
	require.Equal(t, "updatedEmail@contoso.com", u.Email)
	require.Equal(t, []string{"Domain Admins"}, u.Groups)
	require.True(t, u.Privileged, "Domain Admins is a privileged group")
	require.Contains(t, u.Watchlists, "privileged")
	// The manager was deleted: the reference no longer resolves.
	require.Empty(t, u.Manager)
	_, err = e.dir.Person("boss_user")
	require.Error(t, err)

	// The deleted user left the group's members.
	status, body, _ := e.do(http.MethodGet, "/Groups/"+vars["g1"], "")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, body["members"], 1)
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	status, body, _ := e.do(http.MethodGet, "/ServiceProviderConfig", "")
	require.Equal(t, http.StatusOK, status)
	requireSubset(t, map[string]any{"patch": map[string]any{"supported": true}, "bulk": map[string]any{"supported": false},
		"filter": map[string]any{"supported": true, "maxResults": float64(DefaultMaxResults)}}, body, "spconfig")

	status, body, _ = e.do(http.MethodGet, "/ResourceTypes", "")
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 2, body["totalResults"])
	status, body, _ = e.do(http.MethodGet, "/ResourceTypes/User", "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "/Users", body["endpoint"])

	status, body, _ = e.do(http.MethodGet, "/Schemas", "")
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 3, body["totalResults"])
	status, body, _ = e.do(http.MethodGet, "/Schemas/"+urnEnterprise, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "EnterpriseUser", body["name"])
	names := []string{}
	for _, a := range body["attributes"].([]any) {
		names = append(names, a.(map[string]any)["name"].(string))
	}
	require.Equal(t, []string{"employeeNumber", "costCenter", "organization", "division", "department", "manager"}, names)
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	// No token, wrong token.
	for _, auth := range []string{"", "Bearer nope", "Basic " + testToken} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.http.URL+"/scim/v2/Users", nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := e.http.Client().Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, auth)
	}
	status, _, _ := e.do(http.MethodPost, "/Users", `{"userName": "taken@y"}`)
	require.Equal(t, http.StatusCreated, status)
	var x string
	cases := []struct {
		name, method, path, body string
		status                   int
		scimType                 string
	}{
		{"not JSON", http.MethodPost, "/Users", `{"userName": `, 400, "invalidSyntax"},
		{"not an object", http.MethodPost, "/Users", `[1]`, 400, "invalidSyntax"},
		{"no userName", http.MethodPost, "/Users", `{"active": true}`, 400, "invalidValue"},
		{"userName not a string", http.MethodPost, "/Users", `{"userName": 7}`, 400, "invalidValue"},
		{"active not a boolean", http.MethodPost, "/Users", `{"userName": "a", "active": "maybe"}`, 400, "invalidValue"},
		{"group without name", http.MethodPost, "/Groups", `{"members": []}`, 400, "invalidValue"},
		{"member without value", http.MethodPost, "/Groups", `{"displayName": "g", "members": [{"display": "x"}]}`, 400, "invalidValue"},
		{"unknown endpoint", http.MethodGet, "/Widgets", ``, 404, ""},
		{"PATCH a missing user", http.MethodPatch, "/Users/nope", `{"Operations": [{"op": "add", "path": "title", "value": "x"}]}`, 404, ""},
		{"create a user for the PATCH cases", http.MethodPost, "/Users", `{"userName": "x@y", "id": "mine"}`, 201, ""},
		{"PATCH without operations", http.MethodPatch, "/Users/{{x}}", `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, 400, "invalidValue"},
		{"PATCH remove without path", http.MethodPatch, "/Users/{{x}}", `{"Operations": [{"op": "remove"}]}`, 400, "noTarget"},
		{"PATCH replace without path and not an object", http.MethodPatch, "/Users/{{x}}", `{"Operations": [{"op": "replace", "value": "x"}]}`, 400, "invalidValue"},
		{"PATCH the id", http.MethodPatch, "/Users/{{x}}", `{"Operations": [{"op": "replace", "path": "id", "value": "x"}]}`, 400, "mutability"},
		{"PATCH to a taken userName", http.MethodPatch, "/Users/{{x}}", `{"Operations": [{"op": "replace", "path": "userName", "value": "taken@y"}]}`, 409, "uniqueness"},
		{"PATCH a filter that matches nothing and pins nothing", http.MethodPatch, "/Users/{{x}}", `{"Operations": [{"op": "replace", "path": "emails[value co \"x\"].type", "value": "home"}]}`, 400, "noTarget"},
		{"bad startIndex", http.MethodGet, "/Users?startIndex=x", ``, 400, "invalidValue"},
		{"filter with unknown operator", http.MethodGet, "/Users?filter=userName%20xx%20%22a%22", ``, 400, "invalidFilter"},
		{"DELETE the collection", http.MethodDelete, "/Users", ``, 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := e.do(tc.method, strings.ReplaceAll(tc.path, "{{x}}", x), tc.body)
			require.Equal(t, tc.status, status, "%v", body)
			if status == http.StatusCreated {
				x = body["id"].(string)
				require.NotEqual(t, "mine", x, "the server chooses ids")
			}
			if status >= 400 {
				require.Equal(t, []any{urnError}, body["schemas"])
				require.Equal(t, strconv.Itoa(status), body["status"])
				require.NotEmpty(t, body["detail"])
				if tc.scimType != "" {
					require.Equal(t, tc.scimType, body["scimType"])
				}
			}
		})
	}
	// Wrong media type.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.http.URL+"/scim/v2/Users", strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := e.http.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
}
