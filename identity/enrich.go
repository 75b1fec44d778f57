package identity

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// Enrich fills e.User with the context the directory has for e.User.Name:
// department, title, manager, groups, watchlists, employment, active,
// contractor and privileged (and email and full name when the sensor left
// them empty). An event without a user, or whose user the directory does
// not know, is left as it is. It never blocks on a directory rebuild once
// a first snapshot exists: the event gets the previous snapshot.
//
// e.User.Groups and e.User.Watchlists may share their backing array with
// the directory and other events: replace them rather than writing to
// their elements.
//
// It reports whether it changed the event: not when an agent already
// enriched it from the same directory (see BundleData).
func (d *Directory) Enrich(e *event.Event) (changed bool) {
	if e == nil || e.User == nil || e.User.Name == "" {
		return false
	}
	if en := d.current(false).lookup(e.User.Name); en != nil {
		return en.apply(e.User)
	}
	return false
}

// BundleDataVersion is the version of the BundleData document's shape.
const BundleDataVersion = 1

// BundleData returns the directory document pushed to agents inside
// bundle data (at data.vigil.directory), so that agents enrich events
// offline exactly as the server does. With logins it holds only those
// people (say, the users of one endpoint); without, everyone. The values
// are plain JSON types (map[string]any, []any, string, bool, float64).
//
// Shape (see docs/identity.md):
//
//	{"version": 1, "generated": "RFC 3339", "valid_until": "RFC 3339",
//	 "users": {"jdoe": {"name": "jdoe", "email": …, "full_name": …, "department": …,
//	           "title": …, "manager": …, "groups": […], "watchlists": […],
//	           "employment": {"status": …, "type": …, "start_date": …, "notice_date": …, "end_date": …},
//	           "active": true, "contractor": false, "privileged": false}},
//	 "aliases": {"jdoe@corp.example": "jdoe"},
//	 "watchlists": {"departing": ["jdoe"], …}}
//
// User objects use event.User's field names. Employee numbers, cost
// centres, divisions and organisations stay on the server.
func (d *Directory) BundleData(logins ...string) map[string]any {
	s := d.snapshot()
	include := s.logins
	if len(logins) > 0 {
		include = nil
		for _, l := range logins {
			if en := s.lookup(l); en != nil {
				include = append(include, en.person.Login)
			}
		}
		sort.Strings(include)
	}
	users := make(map[string]any, len(include))
	aliases := map[string]any{}
	lists := map[string][]any{}
	for name := range s.members {
		lists[name] = []any{}
	}
	for _, login := range include {
		en := s.people[login]
		users[login] = bundleUser(en)
		for _, a := range en.person.Aliases {
			if s.index[a] == en {
				aliases[a] = login
			}
		}
		for _, w := range en.person.Watchlists {
			lists[w] = append(lists[w], login)
		}
	}
	watchlists := make(map[string]any, len(lists))
	for name, members := range lists {
		watchlists[name] = members
	}
	return map[string]any{
		"version":     float64(BundleDataVersion),
		"generated":   s.built.UTC().Format(time.RFC3339),
		"valid_until": time.Unix(0, s.validUntil).UTC().Format(time.RFC3339),
		"users":       users,
		"aliases":     aliases,
		"watchlists":  watchlists,
	}
}

func bundleUser(en *entry) map[string]any {
	p := &en.person
	u := map[string]any{"name": p.Login}
	for k, v := range map[string]string{"email": p.Email, "full_name": p.FullName, "department": p.Department,
		"title": p.Title, "manager": p.Manager} {
		if v != "" {
			u[k] = v
		}
	}
	if len(p.Groups) > 0 {
		u["groups"] = anyList(p.Groups)
	}
	if len(p.Watchlists) > 0 {
		u["watchlists"] = anyList(p.Watchlists)
	}
	if en.hasEmployment {
		emp := map[string]any{}
		e := en.employment
		for k, v := range map[string]string{"status": e.Status, "type": e.Type, "start_date": e.StartDate,
			"notice_date": e.NoticeDate, "end_date": e.EndDate} {
			if v != "" {
				emp[k] = v
			}
		}
		u["employment"] = emp
	}
	if p.Active != nil {
		u["active"] = *p.Active
	}
	u["contractor"] = p.Contractor
	u["privileged"] = p.Privileged
	return u
}

func anyList(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

// BundleEnricher enriches events from a BundleData document, on an agent
// that has no directory of its own. It is immutable and safe for
// concurrent use.
type BundleEnricher struct {
	s *snapshot
}

// bundleDoc is BundleData's shape, for decoding.
type bundleDoc struct {
	Version int                      `json:"version"`
	Users   map[string]bundleUserDoc `json:"users"`
	Aliases map[string]string        `json:"aliases"`
}

type bundleUserDoc struct {
	event.User
}

// NewBundleEnricher builds an enricher from the document BundleData made,
// as found in bundle data (a map decoded from JSON or YAML, or the
// map BundleData returned). A nil document gives an enricher that knows
// nobody.
func NewBundleEnricher(data map[string]any) (*BundleEnricher, error) {
	s := &snapshot{people: map[string]*entry{}, index: map[string]*entry{}, members: map[string][]string{}}
	if data == nil {
		return &BundleEnricher{s: s}, nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("read directory bundle data: %w", err)
	}
	var doc bundleDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("read directory bundle data: %w", err)
	}
	if doc.Version != BundleDataVersion {
		return nil, fmt.Errorf("read directory bundle data: version %d: this agent reads version %d", doc.Version, BundleDataVersion)
	}
	for login, u := range doc.Users {
		login = normName(login)
		p := Person{Login: login, FullName: u.FullName, Email: u.Email, Title: u.Title, Department: u.Department,
			Manager: u.Manager, Groups: u.Groups, Watchlists: u.Watchlists, Active: u.Active,
			Contractor: u.Contractor, Privileged: u.Privileged}
		en := &entry{person: p, groups: u.Groups[:len(u.Groups):len(u.Groups)],
			watchlists: u.Watchlists[:len(u.Watchlists):len(u.Watchlists)]}
		if u.Employment != nil {
			en.hasEmployment, en.employment = true, *u.Employment
			e := Employment(*u.Employment)
			en.person.Employment = &e
		}
		s.people[login] = en
		s.index[login] = en
	}
	for alias, login := range doc.Aliases {
		if en, ok := s.people[normName(login)]; ok {
			if _, taken := s.index[normName(alias)]; !taken {
				s.index[normName(alias)] = en
			}
		}
	}
	return &BundleEnricher{s: s}, nil
}

// Enrich fills e.User as Directory.Enrich does.
func (b *BundleEnricher) Enrich(e *event.Event) {
	if e == nil || e.User == nil || e.User.Name == "" {
		return
	}
	if en := b.s.lookup(e.User.Name); en != nil {
		en.apply(e.User)
	}
}

// Len returns how many people the enricher knows.
func (b *BundleEnricher) Len() int { return len(b.s.people) }
