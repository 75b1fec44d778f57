package identity

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
	"github.com/vigil-itm/vigil/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type fixture struct {
	db    *sqlite.DB
	path  string
	clock *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "vigil.db"), clock: &clock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}}
	db, err := sqlite.Open(t.Context(), f.path, sqlite.Options{})
	require.NoError(t, err)
	f.db = db
	t.Cleanup(func() { require.NoError(t, f.db.Close()) })
	return f
}

func (f *fixture) directory(t testing.TB, cfg Config) *Directory {
	t.Helper()
	d, err := New(cfg, f.db.Identity(), nil, WithClock(f.clock.Now))
	require.NoError(t, err)
	require.NoError(t, d.Load(t.Context()))
	return d
}

func ptr[T any](v T) *T { return &v }

// sources writes what SCIM, LDAP and HR say about jdoe and others.
func sources(t testing.TB, d *Directory) {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, d.Apply(ctx, SourceSCIM, Change{Upserts: []Record{
		{Key: "s1", Login: "jdoe", Aliases: []string{"jdoe@corp.example"}, FullName: "Jane Doe (SCIM)",
			Email: "jdoe@corp.example", Department: "Finance", Groups: []string{"Okta Users"}, Active: ptr(true),
			Employment: Employment{Status: "active"}},
		{Key: "s2", Login: "boss", FullName: "Max Boss"},
	}}))
	require.NoError(t, d.Apply(ctx, SourceLDAP, Change{Upserts: []Record{
		{Key: "l1", Login: "JDOE", Refs: []string{"cn=jane doe,dc=corp"}, FullName: "Jane Doe (AD)", Title: "Accountant",
			Department: "Accounting", ManagerRef: "cn=max boss,dc=corp", Groups: []string{"Domain Admins", "okta users"}},
		{Key: "l2", Login: "boss", Refs: []string{"cn=max boss,dc=corp"}},
	}}))
	require.NoError(t, d.Apply(ctx, SourceHR, Change{Upserts: []Record{
		{Key: "emp:1", Login: "jdoe", Department: "HR says Finance", Contractor: ptr(false),
			Employment: Employment{Status: "notice", StartDate: "2019-04-01", NoticeDate: "2026-11-20", EndDate: "2026-12-15"}},
		{Key: "emp:2", Login: "cathy", Contractor: ptr(true), Manager: "JDOE@corp.example"},
	}}))
}

func TestMergePrecedence(t *testing.T) {
	f := newFixture(t)
	d := f.directory(t, Config{})
	sources(t, d)
	p, err := d.Person("jdoe")
	require.NoError(t, err)
	require.Equal(t, Person{
		Login: "jdoe", Aliases: []string{"jdoe@corp.example"},
		FullName: "Jane Doe (SCIM)", Email: "jdoe@corp.example", Title: "Accountant", Department: "Finance",
		Manager: "boss", Groups: []string{"Domain Admins", "Okta Users"}, Active: ptr(true),
		Employment: &Employment{Status: "notice", StartDate: "2019-04-01", NoticeDate: "2026-11-20", EndDate: "2026-12-15"},
		Privileged: true, Watchlists: []string{"departing", "privileged"}, Sources: []string{"scim", "ldap", "hr"},
	}, p)
	cathy, err := d.Person("cathy")
	require.NoError(t, err)
	require.True(t, cathy.Contractor)
	require.Equal(t, "jdoe", cathy.Manager, "an email resolves to the login")
	require.Equal(t, []string{"contractors"}, cathy.Watchlists)

	// Other precedence: LDAP first for identity, SCIM first for employment.
	d2 := f.directory(t, Config{IdentityPrecedence: []string{"ldap", "scim", "hr"}, EmploymentPrecedence: []string{"scim", "hr", "ldap"}})
	p, err = d2.Person("jdoe")
	require.NoError(t, err)
	require.Equal(t, "Jane Doe (AD)", p.FullName)
	require.Equal(t, "Accounting", p.Department)
	require.Equal(t, "active", p.Employment.Status)
	require.Equal(t, "2026-12-15", p.Employment.EndDate, "fields SCIM leaves empty come from HR")

	// Any source saying inactive wins.
	require.NoError(t, d.Apply(t.Context(), SourceLDAP, Change{Upserts: []Record{{Key: "l2", Login: "boss", Active: ptr(false)}}}))
	boss, err := d.Person("boss")
	require.NoError(t, err)
	require.Equal(t, false, *boss.Active)
}

func TestDepartingFollowsTheDate(t *testing.T) {
	f := newFixture(t)
	d := f.directory(t, Config{DepartingWindowDays: 10, DepartedDays: 5})
	require.NoError(t, d.Apply(t.Context(), SourceHR, Change{Upserts: []Record{
		{Key: "a", Login: "leaver", Employment: Employment{Status: "active", EndDate: "2026-12-15"}},
	}}))
	on := func() bool {
		p, err := d.Person("leaver")
		require.NoError(t, err)
		return len(p.Watchlists) == 1 && p.Watchlists[0] == "departing"
	}
	for _, tc := range []struct {
		day  string
		want bool
	}{
		{"2026-11-28", false}, {"2026-12-04", false}, {"2026-12-05", true}, {"2026-12-15", true},
		{"2026-12-20", true}, {"2026-12-21", false},
	} {
		day, err := time.Parse(time.DateOnly, tc.day)
		require.NoError(t, err)
		f.clock.Set(day.Add(9 * time.Hour))
		require.Equal(t, tc.want, on(), tc.day)
	}
}

func TestPersistence(t *testing.T) {
	f := newFixture(t)
	d := f.directory(t, Config{})
	sources(t, d)
	_, err := d.CreateWatchlist(t.Context(), Watchlist{Name: "investigation", Kind: KindManual, Description: "Open HR cases."})
	require.NoError(t, err)
	_, err = d.AddToWatchlist(t.Context(), "investigation", "JDOE@corp.example", "case 42")
	require.NoError(t, err)
	require.NoError(t, d.DeleteWatchlist(t.Context(), "privileged"))
	want, _ := d.People(PeopleFilter{})

	d2 := f.directory(t, Config{})
	got, _ := d2.People(PeopleFilter{})
	require.Equal(t, want, got)
	w, err := d2.Watchlist("investigation")
	require.NoError(t, err)
	require.Equal(t, []string{"jdoe"}, w.Members)
	require.Equal(t, map[string]string{"jdoe": "case 42"}, w.Reasons)
	_, err = d2.Watchlist("privileged")
	require.ErrorIs(t, err, store.ErrNotFound, "a deleted built-in does not come back")
}

func TestWatchlists(t *testing.T) {
	f := newFixture(t)
	d := f.directory(t, Config{})
	sources(t, d)
	ctx := t.Context()
	names := func() []string {
		var out []string
		for _, w := range d.Watchlists() {
			out = append(out, w.Name+"="+fmt.Sprint(w.Members))
		}
		return out
	}
	require.Equal(t, []string{"contractors=[cathy]", "departing=[jdoe]", "privileged=[jdoe]"}, names())

	w, err := d.CreateWatchlist(ctx, Watchlist{Name: "hr-case", Kind: KindManual, Members: []string{"Boss", "ghost"}})
	require.NoError(t, err)
	require.Equal(t, []string{"boss", "ghost"}, w.Members)
	_, err = d.AddToWatchlist(ctx, "hr-case", "cathy", "")
	require.NoError(t, err)
	_, err = d.RemoveFromWatchlist(ctx, "hr-case", "boss")
	require.NoError(t, err)
	require.Contains(t, names(), "hr-case=[cathy ghost]")

	// A manual member the sources do not know is still enriched.
	e := &event.Event{User: &event.User{Name: "ghost"}}
	d.Enrich(e)
	require.Equal(t, []string{"hr-case"}, e.User.Watchlists)

	people, next := d.People(PeopleFilter{Watchlist: "hr-case"})
	require.Empty(t, next)
	require.Len(t, people, 2)

	for _, tc := range []struct {
		err  error
		want error
	}{
		{func() error {
			_, err := d.CreateWatchlist(ctx, Watchlist{Name: "hr-case", Kind: KindManual})
			return err
		}(), store.ErrConflict},
		{func() error {
			_, err := d.CreateWatchlist(ctx, Watchlist{Name: "Bad Name", Kind: KindManual})
			return err
		}(), store.ErrInvalid},
		{func() error { _, err := d.CreateWatchlist(ctx, Watchlist{Name: "x", Kind: "weird"}); return err }(), store.ErrInvalid},
		{func() error {
			_, err := d.CreateWatchlist(ctx, Watchlist{Name: "x", Kind: KindDeparting, Members: []string{"a"}})
			return err
		}(), store.ErrInvalid},
		{func() error { _, err := d.AddToWatchlist(ctx, "departing", "a", ""); return err }(), store.ErrInvalid},
		{func() error { _, err := d.AddToWatchlist(ctx, "nope", "a", ""); return err }(), store.ErrNotFound},
		{func() error { _, err := d.RemoveFromWatchlist(ctx, "hr-case", "nobody"); return err }(), store.ErrNotFound},
		{d.DeleteWatchlist(ctx, "nope"), store.ErrNotFound},
	} {
		require.ErrorIs(t, tc.err, tc.want)
	}
}

func TestPeoplePaging(t *testing.T) {
	f := newFixture(t)
	d := f.directory(t, Config{})
	var recs []Record
	for i := range 25 {
		recs = append(recs, Record{Key: fmt.Sprint(i), Login: fmt.Sprintf("user%02d", i), Department: []string{"a", "b"}[i%2]})
	}
	require.NoError(t, d.Apply(t.Context(), SourceHR, Change{Upserts: recs}))
	var all []string
	cursor := ""
	for {
		page, next := d.People(PeopleFilter{Department: "A", Limit: 5, Cursor: cursor})
		for _, p := range page {
			all = append(all, p.Login)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, all, 13)
	require.Equal(t, "user00", all[0])
	require.Equal(t, "user24", all[12])
	page, _ := d.People(PeopleFilter{Query: "USER1"})
	require.Len(t, page, 10)
}

func TestApplyValidation(t *testing.T) {
	f := newFixture(t)
	d := f.directory(t, Config{})
	ctx := t.Context()
	for _, tc := range []struct {
		source string
		ch     Change
		want   string
	}{
		{"crm", Change{}, `source "crm": store: invalid argument: want scim, ldap or hr`},
		{"ldap:Bad", Change{}, "instance name"},
		{"hr", Change{Upserts: []Record{{Login: "a"}}}, "key is required"},
		{"hr", Change{Upserts: []Record{{Key: "a"}}}, "login is required"},
		{"hr", Change{Upserts: []Record{{Key: "a", Login: "a", Employment: Employment{EndDate: "soon"}}}}, `end_date "soon"`},
		{"hr", Change{Upserts: []Record{{Key: "a", Login: "a"}, {Key: "a", Login: "b"}}}, `record "a" given twice`},
	} {
		err := d.Apply(ctx, tc.source, tc.ch)
		require.ErrorIs(t, err, store.ErrInvalid)
		require.ErrorContains(t, err, tc.want)
	}
	require.Empty(t, d.Records(SourceHR))
	_, err := d.Docs(ctx, "watchlist")
	require.ErrorIs(t, err, store.ErrInvalid)
}

func TestEnrich(t *testing.T) {
	f := newFixture(t)
	d := f.directory(t, Config{})
	sources(t, d)
	for _, name := range []string{"jdoe", "JDoe", `CORP\jdoe`, "jdoe@corp.example", "jdoe@elsewhere.example"} {
		e := &event.Event{User: &event.User{Name: name, ID: "1000", Groups: []string{"sudo"}}}
		require.True(t, d.Enrich(e), name)
		require.Equal(t, &event.User{Name: name, ID: "1000", Email: "jdoe@corp.example", FullName: "Jane Doe (SCIM)",
			Department: "Finance", Title: "Accountant", Manager: "boss", Groups: []string{"Domain Admins", "Okta Users", "sudo"},
			Watchlists: []string{"departing", "privileged"}, Privileged: true, Active: ptr(true),
			Employment: &event.Employment{Status: "notice", StartDate: "2019-04-01", NoticeDate: "2026-11-20", EndDate: "2026-12-15"},
		}, e.User, name)
		// Enriched once, as an agent does from the same directory: nothing
		// left to change.
		before := *e.User
		require.False(t, d.Enrich(e), name)
		require.Equal(t, before, *e.User)
		// Any field the directory owns that differs is changed.
		for _, edit := range []func(u *event.User){
			func(u *event.User) { u.Department = "Sales" },
			func(u *event.User) { u.Groups = u.Groups[1:] },
			func(u *event.User) { u.Watchlists = nil },
			func(u *event.User) { u.Privileged = false },
			func(u *event.User) { u.Employment = &event.Employment{Status: "active"} },
			func(u *event.User) { u.Active = nil },
		} {
			u := before
			edit(&u)
			e := &event.Event{User: &u}
			require.True(t, d.Enrich(e), name)
			require.Equal(t, before, *e.User)
		}
	}
	unknown := &event.Event{User: &event.User{Name: "stranger"}}
	require.False(t, d.Enrich(unknown))
	require.Equal(t, &event.User{Name: "stranger"}, unknown.User)
	require.False(t, d.Enrich(&event.Event{}))
	require.False(t, d.Enrich(nil))

	// Two events never share what they may write to.
	a := &event.Event{User: &event.User{Name: "jdoe"}}
	b := &event.Event{User: &event.User{Name: "jdoe"}}
	d.Enrich(a)
	d.Enrich(b)
	a.User.Employment.Status = "changed"
	*a.User.Active = false
	a.User.Groups = append(a.User.Groups, "extra")
	require.Equal(t, "notice", b.User.Employment.Status)
	require.True(t, *b.User.Active)
	require.Len(t, b.User.Groups, 2)
}

func TestBundleData(t *testing.T) {
	f := newFixture(t)
	d := f.directory(t, Config{})
	sources(t, d)
	data := d.BundleData()
	// It is plain JSON data.
	raw, err := json.Marshal(data)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, back, data)
	require.Equal(t, map[string]any{"jdoe@corp.example": "jdoe"}, data["aliases"])
	require.Equal(t, []any{"cathy"}, data["watchlists"].(map[string]any)["contractors"])
	require.Equal(t, "2026-11-29T00:00:00Z", data["valid_until"])

	en, err := NewBundleEnricher(data)
	require.NoError(t, err)
	require.Equal(t, 3, en.Len())
	for _, name := range []string{"jdoe", "JDOE@corp.example", "cathy", "boss", "nobody"} {
		fromServer := &event.Event{User: &event.User{Name: name}}
		onAgent := &event.Event{User: &event.User{Name: name}}
		d.Enrich(fromServer)
		en.Enrich(onAgent)
		require.Equal(t, fromServer.User, onAgent.User, name)
	}

	one := d.BundleData("JDoe")
	require.Len(t, one["users"], 1)
	require.Equal(t, []any{}, one["watchlists"].(map[string]any)["contractors"])

	_, err = NewBundleEnricher(map[string]any{"version": 2.0})
	require.ErrorContains(t, err, "version 2")
	empty, err := NewBundleEnricher(nil)
	require.NoError(t, err)
	require.Zero(t, empty.Len())
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{IdentityPrecedence: []string{"scim", "crm"}}, `identity_precedence: unknown source type "crm"`},
		{Config{EmploymentPrecedence: []string{"hr", "hr"}}, `employment_precedence: "hr" listed twice`},
		{Config{DepartingWindowDays: -1}, "departing_window_days: must not be negative"},
		{Config{DepartedDays: -1}, "departed_days: must not be negative"},
	} {
		_, err := New(tc.cfg, newFixture(t).db.Identity(), nil)
		require.ErrorContains(t, err, tc.want)
	}
	_, err := New(Config{}, nil, nil)
	require.ErrorIs(t, err, store.ErrInvalid)
}

func BenchmarkEnrich(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("people=%d", n), func(b *testing.B) {
			f := newFixture(b)
			d := f.directory(b, Config{})
			recs := make([]Record, n)
			for i := range recs {
				recs[i] = Record{Key: fmt.Sprint(i), Login: fmt.Sprintf("user%d", i), Department: "Finance",
					Groups: []string{"staff", "finance"}, Active: ptr(true), Employment: Employment{Status: "active", StartDate: "2020-01-01"}}
			}
			require.NoError(b, d.Apply(b.Context(), SourceHR, Change{Upserts: recs}))
			d.Enrich(&event.Event{User: &event.User{Name: "user0"}}) // build the snapshot
			u := &event.User{}
			e := &event.Event{User: u}
			name := fmt.Sprintf("user%d", n/2)
			b.ReportAllocs()
			for b.Loop() {
				*u = event.User{Name: name}
				d.Enrich(e)
			}
			if u.Department != "Finance" {
				b.Fatal("not enriched")
			}
		})
	}
}
