package sources

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFromConfig(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "people.csv")
	require.NoError(t, os.WriteFile(feed, []byte("user_name,department,status,end_date\njdoe,Finance,notice,2026-12-15\n"), 0o600))
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(`
departing_window_days: 10
scim:
  token: "0123456789abcdef0123456789abcdef"
hr:
  file: `+feed+`
  interval: 10ms
`), &node))
	cfg, err := Decode(node.Content[0])
	require.NoError(t, err)
	require.Equal(t, 10, cfg.DepartingWindowDays)
	require.Nil(t, cfg.LDAP)

	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "vigil.db"), sqlite.Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()
	id, err := New(t.Context(), cfg, db.Identity(), nil)
	require.NoError(t, err)
	require.NotNil(t, id.SCIM)
	require.NotNil(t, id.HR)
	require.Nil(t, id.LDAP)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- id.Run(ctx) }()
	require.Eventually(t, func() bool {
		e := &event.Event{User: &event.User{Name: "jdoe"}}
		id.Directory.Enrich(e)
		return e.User.Department == "Finance"
	}, 10*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/scim/v2/ServiceProviderConfig", nil)
	req.Header.Set("Authorization", "Bearer 0123456789abcdef0123456789abcdef")
	id.SCIMHandler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
}

func TestDecodeStrict(t *testing.T) {
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte("scim:\n  tokn: x\n"), &node))
	_, err := Decode(node.Content[0])
	require.ErrorContains(t, err, "field tokn not found")
	cfg, err := Decode(nil)
	require.NoError(t, err)
	require.Nil(t, cfg.SCIM)
}
