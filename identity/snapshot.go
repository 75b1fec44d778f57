package identity

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// snapshot is an immutable merge of every source, indexed for lookups.
type snapshot struct {
	// people maps a login to its entry; logins lists them in order.
	people map[string]*entry
	logins []string
	// index maps every login and unambiguous alias, normalised, to its
	// entry.
	index map[string]*entry
	// members maps a watchlist name to its members' logins, sorted.
	members map[string][]string
	// built is when the snapshot was made; validUntil (Unix nanoseconds)
	// the next midnight UTC, when departing watchlists may change.
	built      time.Time
	validUntil int64
}

// entry is one person and what enrichment copies into events, prepared
// once so that Enrich allocates at most once.
type entry struct {
	person Person
	// groups and watchlists are shared by every enriched event; their
	// capacity equals their length, so appending to them copies.
	groups, watchlists []string
	employment         event.Employment
	hasEmployment      bool
}

// enrichAlloc holds the per-event copies Enrich hands out by pointer.
type enrichAlloc struct {
	employment event.Employment
	active     bool
}

// apply fills u with the person's context. Identity fields the sensor
// already set (email, full name) are kept; directory-owned fields
// (department, title, manager, groups, watchlists, employment, active,
// contractor, privileged) come from the directory. It reports whether
// it changed u: an agent that enriched the event from the same directory
// leaves nothing to change.
func (en *entry) apply(u *event.User) (changed bool) {
	p := &en.person
	set := func(field *string, v string) {
		if *field != v {
			*field = v
			changed = true
		}
	}
	if u.Email == "" {
		set(&u.Email, p.Email)
	}
	if u.FullName == "" {
		set(&u.FullName, p.FullName)
	}
	if p.Department != "" {
		set(&u.Department, p.Department)
	}
	if p.Title != "" {
		set(&u.Title, p.Title)
	}
	if p.Manager != "" {
		set(&u.Manager, p.Manager)
	}
	if len(en.groups) > 0 {
		groups := en.groups
		if len(u.Groups) > 0 {
			groups = unionSorted(u.Groups, en.groups)
		}
		if !slices.Equal(u.Groups, groups) {
			u.Groups = groups
			changed = true
		}
	}
	if len(en.watchlists) > 0 && !slices.Equal(u.Watchlists, en.watchlists) {
		u.Watchlists = en.watchlists
		changed = true
	}
	if p.Contractor && !u.Contractor {
		u.Contractor = true
		changed = true
	}
	if p.Privileged && !u.Privileged {
		u.Privileged = true
		changed = true
	}
	// The event gets its own copies, so that two events never share what
	// they may write to: one allocation for both.
	setEmployment := en.hasEmployment && (u.Employment == nil || *u.Employment != en.employment)
	setActive := p.Active != nil && (u.Active == nil || *u.Active != *p.Active)
	if setEmployment || setActive {
		a := &enrichAlloc{employment: en.employment}
		if setEmployment {
			u.Employment = &a.employment
		}
		if setActive {
			a.active = *p.Active
			u.Active = &a.active
		}
		changed = true
	}
	return changed
}

// lookup finds the entry of a user name as events carry it: the login or
// an alias, any case; then without a DOMAIN\ prefix; then, for
// user@domain, the local part.
func (s *snapshot) lookup(name string) *entry {
	if en, ok := s.index[name]; ok {
		return en
	}
	n := normName(name)
	if en, ok := s.index[n]; ok {
		return en
	}
	if i := strings.LastIndexByte(n, '\\'); i >= 0 {
		if en, ok := s.index[n[i+1:]]; ok {
			return en
		}
		n = n[i+1:]
	}
	if i := strings.IndexByte(n, '@'); i > 0 {
		if en, ok := s.index[n[:i]]; ok {
			return en
		}
	}
	return nil
}

// snapshot returns a current snapshot, rebuilding it when a write or the
// date made the last one stale.
func (d *Directory) snapshot() *snapshot { return d.current(true) }

// current returns the snapshot; when it is stale and wait is false and
// another goroutine is rebuilding, it returns the stale one rather than
// wait (the event path must not queue behind a rebuild).
func (d *Directory) current(wait bool) *snapshot {
	s := d.snap.Load()
	if s != nil && !d.dirty.Load() && d.now().UnixNano() < s.validUntil {
		return s
	}
	if wait {
		d.buildMu.Lock()
	} else if !d.buildMu.TryLock() {
		if s != nil {
			return s
		}
		d.buildMu.Lock()
	}
	defer d.buildMu.Unlock()
	now := d.now()
	s = d.snap.Load()
	if s != nil && !d.dirty.Load() && now.UnixNano() < s.validUntil {
		return s
	}
	d.dirty.Store(false) // a write from here on marks the new snapshot stale
	s = d.build(now)
	d.snap.Store(s)
	return s
}

// sourceRecord is one record with its source and ranks.
type sourceRecord struct {
	source         string
	identityRank   int
	employmentRank int
	rec            *Record
}

func rank(order []string, source string) int {
	if i := slices.Index(order, sourceType(source)); i >= 0 {
		return i
	}
	return len(order)
}

// build merges every source into a new snapshot.
func (d *Directory) build(now time.Time) *snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	start := time.Now()
	byLogin := map[string][]sourceRecord{}
	// refs resolves a ManagerRef within a source: source → key or ref → login.
	refs := map[string]map[string]string{}
	for src, m := range d.records {
		rs := make(map[string]string, len(m))
		refs[src] = rs
		ir, er := rank(d.cfg.IdentityPrecedence, src), rank(d.cfg.EmploymentPrecedence, src)
		for k := range m {
			r := m[k]
			login := normName(r.Login)
			byLogin[login] = append(byLogin[login], sourceRecord{source: src, identityRank: ir, employmentRank: er, rec: &r})
			rs[r.Key] = login
			for _, ref := range r.Refs {
				rs[normName(ref)] = login
			}
		}
	}
	s := &snapshot{people: make(map[string]*entry, len(byLogin)), index: make(map[string]*entry, 2*len(byLogin)),
		members: map[string][]string{}, built: now}
	for login, recs := range byLogin {
		s.people[login] = &entry{person: d.merge(login, recs)}
	}
	// Manual watchlist members the sources do not know still get their
	// watchlists.
	for _, w := range d.watchlists {
		for _, m := range w.Members {
			if _, ok := s.people[m]; !ok {
				s.people[m] = &entry{person: Person{Login: m, Sources: []string{}}}
			}
		}
	}
	s.logins = make([]string, 0, len(s.people))
	for login, en := range s.people {
		s.logins = append(s.logins, login)
		s.index[login] = en
	}
	sort.Strings(s.logins)
	ambiguous := map[string]bool{}
	for _, login := range s.logins {
		en := s.people[login]
		for _, a := range en.person.Aliases {
			if other, ok := s.index[a]; ok && other != en {
				if _, isLogin := s.people[a]; !isLogin {
					ambiguous[a] = true
				}
				continue
			}
			s.index[a] = en
		}
	}
	for a := range ambiguous {
		delete(s.index, a)
	}
	if len(ambiguous) > 0 {
		d.log.Warn("aliases shared by several people are ignored", "count", len(ambiguous))
	}
	// Managers, now that every name resolves.
	for login, recs := range byLogin {
		s.people[login].person.Manager = resolveManager(recs, refs, s)
	}
	today := now.UTC().Truncate(24 * time.Hour)
	wls := make([]Watchlist, 0, len(d.watchlists))
	for _, w := range d.watchlists {
		wls = append(wls, w)
	}
	sort.Slice(wls, func(i, j int) bool { return wls[i].Name < wls[j].Name })
	for _, login := range s.logins {
		en := s.people[login]
		p := &en.person
		p.Contractor = p.Contractor || d.isContractor(p)
		p.Privileged = d.inGroups(p.Groups, d.cfg.PrivilegedGroups)
		for _, w := range wls {
			if d.onWatchlist(&w, p, today) {
				p.Watchlists = append(p.Watchlists, w.Name)
				s.members[w.Name] = append(s.members[w.Name], login)
			}
		}
		en.groups = slices.Clip(p.Groups)
		en.watchlists = slices.Clip(p.Watchlists)
		if p.Employment != nil {
			en.hasEmployment = true
			en.employment = event.Employment(*p.Employment)
		}
	}
	s.validUntil = today.Add(24 * time.Hour).UnixNano()
	d.log.Debug("directory snapshot built", "people", len(s.people), "duration", time.Since(start))
	return s
}

// merge combines the records of one login.
func (d *Directory) merge(login string, recs []sourceRecord) Person {
	p := Person{Login: login}
	slices.SortFunc(recs, func(a, b sourceRecord) int {
		return cmp.Or(cmp.Compare(a.identityRank, b.identityRank), cmp.Compare(a.source, b.source))
	})
	aliases := map[string]bool{}
	var anyActive, anyInactive bool
	for _, sr := range recs {
		r := sr.rec
		p.Sources = append(p.Sources, sr.source)
		first(&p.FullName, r.FullName)
		first(&p.Email, r.Email)
		first(&p.Title, r.Title)
		first(&p.Department, r.Department)
		first(&p.EmployeeNumber, r.EmployeeNumber)
		first(&p.CostCenter, r.CostCenter)
		first(&p.Division, r.Division)
		first(&p.Organization, r.Organization)
		p.Groups = append(p.Groups, r.Groups...)
		for _, a := range r.Aliases {
			aliases[normName(a)] = true
		}
		if r.Email != "" {
			aliases[normName(r.Email)] = true
		}
		if r.Active != nil {
			anyActive = anyActive || *r.Active
			anyInactive = anyInactive || !*r.Active
		}
	}
	delete(aliases, login)
	delete(aliases, "")
	for a := range aliases {
		p.Aliases = append(p.Aliases, a)
	}
	sort.Strings(p.Aliases)
	p.Groups = unionSorted(nil, p.Groups)
	switch {
	case anyInactive:
		p.Active = new(false)
	case anyActive:
		p.Active = new(true)
	}
	slices.SortFunc(recs, func(a, b sourceRecord) int {
		return cmp.Or(cmp.Compare(a.employmentRank, b.employmentRank), cmp.Compare(a.source, b.source))
	})
	var emp Employment
	var contractor *bool
	for _, sr := range recs {
		r := sr.rec
		first(&emp.Status, r.Employment.Status)
		first(&emp.Type, r.Employment.Type)
		first(&emp.StartDate, r.Employment.StartDate)
		first(&emp.NoticeDate, r.Employment.NoticeDate)
		first(&emp.EndDate, r.Employment.EndDate)
		if contractor == nil {
			contractor = r.Contractor
		}
	}
	if !emp.empty() {
		p.Employment = &emp
	}
	p.Contractor = contractor != nil && *contractor
	return p
}

// resolveManager returns the manager's login, from the first source (by
// identity precedence; recs are in that order after merge) that names one.
func resolveManager(recs []sourceRecord, refs map[string]map[string]string, s *snapshot) string {
	slices.SortFunc(recs, func(a, b sourceRecord) int {
		return cmp.Or(cmp.Compare(a.identityRank, b.identityRank), cmp.Compare(a.source, b.source))
	})
	for _, sr := range recs {
		r := sr.rec
		if r.ManagerRef != "" {
			rs := refs[sr.source]
			if login, ok := rs[r.ManagerRef]; ok {
				return login
			}
			if login, ok := rs[normName(r.ManagerRef)]; ok {
				return login
			}
		}
		if r.Manager != "" {
			if en := s.lookup(r.Manager); en != nil {
				return en.person.Login
			}
			return r.Manager
		}
	}
	return ""
}

func (d *Directory) isContractor(p *Person) bool {
	if p.Employment != nil {
		switch strings.ToLower(p.Employment.Type) {
		case "contractor", "contract":
			return true
		}
		if p.Employment.Status == StatusContractor {
			return true
		}
	}
	return d.inGroups(p.Groups, d.cfg.ContractorGroups)
}

func (d *Directory) inGroups(groups, wanted []string) bool {
	for _, g := range groups {
		ng := normGroup(g)
		for _, w := range wanted {
			if ng == normGroup(w) {
				return true
			}
		}
	}
	return false
}

// departing reports whether p is leaving or recently left on the day
// today (midnight UTC).
func (d *Directory) departing(p *Person, today time.Time) bool {
	e := p.Employment
	if e == nil {
		return false
	}
	if e.EndDate != "" {
		if end, err := time.Parse(time.DateOnly, e.EndDate); err == nil {
			if today.After(end.AddDate(0, 0, d.cfg.DepartedDays)) {
				return false
			}
			if !end.After(today.AddDate(0, 0, d.cfg.DepartingWindowDays)) {
				return true
			}
		}
	}
	if e.Status == StatusNotice || e.Status == StatusTerminated {
		return true
	}
	if e.NoticeDate != "" {
		if nd, err := time.Parse(time.DateOnly, e.NoticeDate); err == nil && !nd.After(today) {
			return true
		}
	}
	return false
}

func first(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// unionSorted returns the union of a and b, without duplicates (ignoring
// case; the first spelling wins), sorted.
func unionSorted(a, b []string) []string {
	seen := make(map[string]bool, len(a)+len(b))
	out := make([]string, 0, len(a)+len(b))
	for _, list := range [][]string{a, b} {
		for _, g := range list {
			k := strings.ToLower(g)
			if g == "" || seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return slices.Clip(out)
}
