package ldapsync

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/identity"
	"github.com/vigil-itm/vigil/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newDirectory(t *testing.T) *identity.Directory {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "vigil.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	d, err := identity.New(identity.Config{}, db.Identity(), nil)
	require.NoError(t, err)
	require.NoError(t, d.Load(t.Context()))
	return d
}

// testConfig is AD's default mapping, but for the id and change time,
// which OpenLDAP keeps as entryUUID and modifyTimestamp.
func testConfig(url string) Config {
	return Config{
		URL: url, BindDN: adminDN, BindPassword: adminPW, BaseDN: "ou=people," + suffix,
		Filter: "(objectClass=inetOrgPerson)", PageSize: 2,
		Attributes: Mapping{ID: "entryUUID", Modified: "modifyTimestamp"},
	}
}

func logins(d *identity.Directory) []string {
	var out []string
	for _, r := range d.Records(identity.SourceLDAP) {
		out = append(out, r.Login)
	}
	return out
}

func TestSync(t *testing.T) {
	srv := startSlapd(t)
	srv.ldif("ldapadd", seed)
	d := newDirectory(t)
	s, err := New(testConfig(srv.url), d, nil)
	require.NoError(t, err)
	pages := 0
	s.afterPage = func(int) { pages++ }

	res, err := s.Full(t.Context())
	require.NoError(t, err)
	require.Equal(t, Result{Full: true, Entries: 5, Skipped: 1}, res)
	require.Equal(t, 3, pages, "5 entries in pages of 2")
	require.ElementsMatch(t, []string{"mboss", "jdoe", "exemp", "carl"}, logins(d))

	jane, err := d.Person("jdoe@corp.example") // the UPN finds her
	require.NoError(t, err)
	require.Equal(t, "jdoe", jane.Login)
	require.Equal(t, "Jane Doe", jane.FullName)
	require.Equal(t, "jane.doe@corp.example", jane.Email)
	require.Equal(t, "Finance", jane.Department)
	require.Equal(t, "Accountant", jane.Title)
	require.Equal(t, "mboss", jane.Manager, "the manager's DN resolves to the login")
	require.Equal(t, []string{"Domain Admins", "finance"}, jane.Groups)
	require.True(t, jane.Privileged)
	require.Equal(t, true, *jane.Active)
	ex, err := d.Person("exemp")
	require.NoError(t, err)
	require.Equal(t, false, *ex.Active, "userAccountControl 514 has ACCOUNTDISABLE")
	carl, err := d.Person("carl")
	require.NoError(t, err)
	require.True(t, carl.Contractor)
	require.Contains(t, carl.Watchlists, "contractors")

	// A change is picked up by an incremental sync; a deletion waits for
	// the full reconcile.
	srv.ldif("ldapmodify", "dn: cn=Jane Doe,ou=people,dc=corp,dc=example\nchangetype: modify\nreplace: department\ndepartment: Engineering\n")
	srv.ldif("ldapdelete", "cn=Carl Contractor,ou=people,dc=corp,dc=example\n")
	res, err = s.Incremental(t.Context())
	require.NoError(t, err)
	require.False(t, res.Full)
	require.NotEmpty(t, res.Since)
	require.Less(t, res.Entries, 5, "only what changed since %s", res.Since)
	jane, err = d.Person("jdoe")
	require.NoError(t, err)
	require.Equal(t, "Engineering", jane.Department)
	require.Contains(t, logins(d), "carl")
	_, err = s.Full(t.Context())
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"mboss", "jdoe", "exemp"}, logins(d))

	// The cursor survives a restart: a new syncer goes on incrementally.
	s2, err := New(testConfig(srv.url), d, nil)
	require.NoError(t, err)
	require.NoError(t, s2.loadCursor(t.Context()))
	res, err = s2.Incremental(t.Context())
	require.NoError(t, err)
	require.False(t, res.Full)
}

func TestTLS(t *testing.T) {
	srv := startSlapd(t)
	srv.ldif("ldapadd", seed)
	cases := []struct {
		name string
		mod  func(c *Config)
		fail string
	}{
		{"StartTLS", func(c *Config) { c.StartTLS, c.TLS.CAFile = true, srv.caFile }, ""},
		{"LDAPS", func(c *Config) { c.URL, c.TLS.CAFile = srv.ldapsURL, srv.caFile }, ""},
		{"StartTLS with an untrusted certificate", func(c *Config) { c.StartTLS = true }, "certificate"},
		{"wrong password", func(c *Config) { c.BindPassword = "nope" }, "Invalid Credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDirectory(t)
			cfg := testConfig(srv.url)
			tc.mod(&cfg)
			s, err := New(cfg, d, nil)
			require.NoError(t, err)
			_, err = s.Full(t.Context())
			if tc.fail != "" {
				require.ErrorContains(t, err, tc.fail)
				require.Empty(t, d.Records(identity.SourceLDAP))
				return
			}
			require.NoError(t, err)
			require.Len(t, d.Records(identity.SourceLDAP), 4)
		})
	}
}

func TestServerGoesAwayMidSync(t *testing.T) {
	srv := startSlapd(t)
	srv.ldif("ldapadd", seed)
	d := newDirectory(t)
	s, err := New(testConfig(srv.url), d, nil)
	require.NoError(t, err)
	_, err = s.Full(t.Context())
	require.NoError(t, err)
	before := d.Records(identity.SourceLDAP)

	srv.ldif("ldapdelete", "cn=Carl Contractor,ou=people,dc=corp,dc=example\n")
	s.afterPage = func(page int) {
		if page == 1 {
			srv.stop()
		}
	}
	_, err = s.Full(t.Context())
	require.Error(t, err)
	require.Equal(t, before, d.Records(identity.SourceLDAP), "a failed sync applies nothing")
}

func TestRun(t *testing.T) {
	srv := startSlapd(t)
	srv.ldif("ldapadd", seed)
	d := newDirectory(t)
	cfg := testConfig(srv.url)
	cfg.Interval, cfg.FullInterval = 20*time.Millisecond, time.Hour
	s, err := New(cfg, d, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	require.Eventually(t, func() bool { return len(d.Records(identity.SourceLDAP)) == 4 }, 20*time.Second, 20*time.Millisecond)
	srv.ldif("ldapmodify", "dn: cn=Max Boss,ou=people,dc=corp,dc=example\nchangetype: modify\nreplace: title\ntitle: CFO\n")
	require.Eventually(t, func() bool {
		p, err := d.Person("mboss")
		return err == nil && p.Title == "CFO"
	}, 20*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{BaseDN: "dc=x"}, "url: required"},
		{Config{URL: "http://x", BaseDN: "dc=x"}, `url "http://x": want ldap://host[:port] or ldaps://host[:port]`},
		{Config{URL: "ldaps://x", StartTLS: true, BaseDN: "dc=x"}, "start_tls: not with an ldaps:// url"},
		{Config{URL: "ldap://x"}, "base_dn: required"},
		{Config{URL: "ldap://x", BaseDN: "dc=x", BindPassword: "p"}, "bind_dn: required with a password"},
		{Config{URL: "ldap://x", BaseDN: "dc=x", Filter: "uid=x"}, `filter "uid=x": want an LDAP filter in parentheses`},
		{Config{URL: "ldap://x", BaseDN: "dc=x", Interval: time.Hour, FullInterval: time.Minute}, "full_interval 1m0s: want at least interval (1h0m0s)"},
		{Config{URL: "ldap://x", BaseDN: "dc=x", Source: "hr"}, `source "hr": want ldap or ldap:NAME`},
	}
	for _, tc := range cases {
		_, err := New(tc.cfg, newDirectory(t), nil)
		require.ErrorContains(t, err, tc.want)
	}
}
