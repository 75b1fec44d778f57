package hr

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/identity"
	"github.com/vigil-itm/vigil/store"
	"github.com/vigil-itm/vigil/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newDirectory(t *testing.T) *identity.Directory {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "vigil.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	now := func() time.Time { return time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC) }
	d, err := identity.New(identity.Config{}, db.Identity(), nil, identity.WithClock(now))
	require.NoError(t, err)
	require.NoError(t, d.Load(t.Context()))
	return d
}

func TestImportCSV(t *testing.T) {
	d := newDirectory(t)
	im, err := New(Config{File: "testdata/people.csv"}, d, nil)
	require.NoError(t, err)
	res, err := im.Import(t.Context())
	require.NoError(t, err)
	require.Equal(t, Result{People: 3, Added: 3, SHA256: res.SHA256}, res)

	jane, err := d.Person("jdoe")
	require.NoError(t, err)
	require.Equal(t, &identity.Employment{Status: "notice", Type: "employee", StartDate: "2019-04-01",
		NoticeDate: "2026-11-20", EndDate: "2026-12-15"}, jane.Employment)
	require.Equal(t, "max.boss", jane.Manager, "the manager's employee id resolves to the login")
	require.Equal(t, "CC-1", jane.CostCenter)
	require.Contains(t, jane.Watchlists, "departing")
	require.False(t, jane.Contractor)

	bob, err := d.Person("bob.smith@corp.example")
	require.NoError(t, err)
	require.True(t, bob.Contractor)
	require.Contains(t, bob.Watchlists, "contractors")

	boss, err := d.Person("max.boss")
	require.NoError(t, err, "a row without user_name takes the email's local part")
	require.Equal(t, "Boss, Max", boss.FullName)

	again, err := im.Import(t.Context())
	require.NoError(t, err)
	require.True(t, again.Unchanged)
}

func TestBadRowsApplyNothing(t *testing.T) {
	d := newDirectory(t)
	im, err := New(Config{File: "testdata/people.csv"}, d, nil)
	require.NoError(t, err)
	_, err = im.Import(t.Context())
	require.NoError(t, err)
	before := d.Records(identity.SourceHR)

	data, err := os.ReadFile("testdata/bad.csv")
	require.NoError(t, err)
	_, err = im.ImportData(t.Context(), data, FormatCSV, "bad.csv")
	var ie *ImportError
	require.ErrorAs(t, err, &ie)
	require.ErrorIs(t, err, store.ErrInvalid)
	require.Equal(t, []RowError{
		{Line: 3, Field: "status", Msg: `"retired": want active, notice, leave, terminated or contractor`},
		{Line: 4, Field: "email", Msg: `"not-an-email" is not an email address`},
		{Line: 4, Field: "start_date", Msg: `"2020-13-01": want a date YYYY-MM-DD`},
		{Line: 4, Field: "contractor", Msg: `"maybe": want true or false (yes/no, y/n, 1/0)`},
		{Line: 5, Field: "user_name", Msg: `"ok" is also on line 2`},
	}, ie.Errors)
	require.Contains(t, err.Error(), "hr feed bad.csv refused, nothing applied: line 3: status:")
	require.Equal(t, before, d.Records(identity.SourceHR), "nothing half-applied")
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, csv string
		want      []RowError
	}{
		{"empty", "", []RowError{{Line: 1, Msg: "empty feed: want a header row"}}},
		{"no login column", "name,dept\nA,B\n", []RowError{{Line: 1, Msg: "the header has neither a user_name nor an email column (header: name,dept)"}}},
		{"duplicate columns", "login,user_name\na,b\n", []RowError{{Line: 1, Field: "user_name", Msg: `columns "login" and "user_name" both give user_name`}}},
		{"short row", "user_name,department\na,b\nc\n", []RowError{{Line: 3, Msg: "1 fields, but the header has 2"}}},
		{"bad quote", "user_name,department\na,\"b\nc,d\n", []RowError{{Line: 2, Msg: `record on line 2; parse error on line 3, column 5: extraneous or missing " in quoted-field`}}},
		{"no login", "user_name,email\n,\n", []RowError{{Line: 2, Field: "user_name", Msg: "empty: every person needs a user_name or an email"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCSV([]byte(tc.csv), nil, "feed.csv")
			var ie *ImportError
			require.ErrorAs(t, err, &ie)
			require.Equal(t, tc.want, ie.Errors)
		})
	}
}

func TestParseJSON(t *testing.T) {
	recs, err := ParseJSON([]byte(`{"generated": "today", "people": [
  {"user_name": "jdoe", "email": "jdoe@corp.example", "status": "Terminated", "end_date": "2026-10-01", "contractor": false},
  {"login": "bsmith", "employee_id": 1002, "is_contractor": true}
]}`), "feed.json")
	require.NoError(t, err)
	require.Len(t, recs, 2)
	require.Equal(t, "terminated", recs[0].Employment.Status)
	require.Equal(t, "emp:1002", recs[1].Key)
	require.True(t, *recs[1].Contractor)

	_, err = ParseJSON([]byte("[\n  {\"user_name\": \"a\"},\n  {\"user_name\": \"b\", \"end_date\": \"soon\"},\n  {\"user_name\": \"c\", \"title\": [1]}\n]"), "feed.json")
	var ie *ImportError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, []RowError{
		{Line: 3, Field: "end_date", Msg: `"soon": want a date YYYY-MM-DD`},
		{Line: 4, Field: "title", Msg: "want a string, got []interface {}"},
	}, ie.Errors)

	for _, bad := range []string{``, `{}`, `"x"`, `[1]`, `[{"user_name": "a"}`} {
		_, err := ParseJSON([]byte(bad), "feed.json")
		require.ErrorAs(t, err, &ie, bad)
	}
}

func TestTruncatedFeedRefused(t *testing.T) {
	d := newDirectory(t)
	im, err := New(Config{}, d, nil)
	require.NoError(t, err)
	_, err = im.ImportData(t.Context(), []byte("user_name\na\nb\nc\nd\n"), FormatCSV, "upload")
	require.NoError(t, err)
	_, err = im.ImportData(t.Context(), []byte("user_name\na\n"), FormatCSV, "upload")
	require.ErrorIs(t, err, store.ErrInvalid)
	require.ErrorContains(t, err, "remove 3 of the 4 people")
	require.Len(t, d.Records(identity.SourceHR), 4)
	res, err := im.ImportData(t.Context(), []byte("user_name\na\nb\nc\ne\n"), FormatCSV, "upload")
	require.NoError(t, err)
	require.Equal(t, 1, res.Added)
	require.Equal(t, 1, res.Removed)
}

func TestScheduledURLImport(t *testing.T) {
	var (
		requests atomic.Int32
		body     atomic.Value
	)
	body.Store("user_name,status\njdoe,active\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		b := body.Load().(string)
		etag := `"` + time.Now().Format("x") + b[len(b)-8:] + `"`
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/csv")
		_, _ = w.Write([]byte(b))
	}))
	defer srv.Close()
	tokFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokFile, []byte("s3cret\n"), 0o600))

	d := newDirectory(t)
	im, err := New(Config{URL: srv.URL + "/export?key=abc", BearerTokenFile: tokFile, Interval: 10 * time.Millisecond}, d, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- im.Run(ctx) }()
	require.Eventually(t, func() bool {
		p, err := d.Person("jdoe")
		return err == nil && p.Employment != nil && p.Employment.Status == "active"
	}, 10*time.Second, 10*time.Millisecond)
	body.Store("user_name,status\njdoe,notice\n")
	require.Eventually(t, func() bool {
		p, err := d.Person("jdoe")
		return err == nil && p.Employment.Status == "notice"
	}, 10*time.Second, 10*time.Millisecond)
	// A broken feed keeps the last good one.
	body.Store("user_name,status\njdoe,gone fishing\n")
	n := requests.Load()
	require.Eventually(t, func() bool { return requests.Load() > n+2 }, 10*time.Second, 10*time.Millisecond)
	p, err := d.Person("jdoe")
	require.NoError(t, err)
	require.Equal(t, "notice", p.Employment.Status)
	cancel()
	require.NoError(t, <-done)
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{File: "a", URL: "http://b"}, "file and url: set one, not both"},
		{Config{URL: "ftp://b"}, `url "ftp://b": want an http or https URL`},
		{Config{Format: "xml"}, `format "xml": want csv or json`},
		{Config{Columns: map[string]string{"shoe_size": "x"}}, `columns: unknown field "shoe_size"`},
		{Config{MaxRemoveFraction: 2}, "max_remove_fraction: want 0 to 1, got 2"},
		{Config{Source: "ldap"}, `source "ldap": want hr or hr:NAME`},
		{Config{BearerTokenFile: "t"}, "bearer_token_file: only with url"},
	}
	for _, tc := range cases {
		_, err := New(tc.cfg, nil, nil)
		require.ErrorContains(t, err, tc.want)
	}
	_, err := New(Config{}, nil, nil)
	require.NoError(t, err, "an upload-only importer needs no file or url")
}

func FuzzParseCSV(f *testing.F) {
	for _, file := range []string{"testdata/people.csv", "testdata/bad.csv"} {
		data, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte("user_name\n\"a\nb"))
	f.Add([]byte("\ufeffemail,end_date\na@b,2026-01-01\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ParseCSV(data, nil, "fuzz.csv")
		if err != nil {
			var ie *ImportError
			require.ErrorAs(t, err, &ie)
			require.NotEmpty(t, ie.Errors)
			for _, re := range ie.Errors {
				require.Positive(t, re.Line)
			}
			require.Nil(t, recs)
			return
		}
		keys := map[string]bool{}
		for i := range recs {
			require.NoError(t, recs[i].Validate())
			require.False(t, keys[recs[i].Key], "duplicate key %q", recs[i].Key)
			keys[recs[i].Key] = true
		}
	})
}
