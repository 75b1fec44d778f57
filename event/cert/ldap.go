package cert

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// person is what one snapshot says about a user.
type person struct {
	fullName, email, department, title string
	supervisor                         string // as written: the supervisor's name
	manager                            string // the supervisor's user id when resolvable, else the name
}

// entry is what the directory says about a user during one snapshot's month.
type entry struct {
	rec *person
	// end is the index of the snapshot the user is first missing from after
	// the record's run of presence, or -1 when they never go missing.
	end int
}

// directory is the LDAP snapshots, month by month.
type directory struct {
	months []time.Time // first instant of each snapshot's month, ascending
	dates  []string    // the same as calendar dates, "2010-02-01"
	users  map[string][]entry
}

var snapshotName = regexp.MustCompile(`^(\d{4})-(\d{2})\.csv$`)

// ldapColumns are the LDAP columns read; the rest are ignored.
type ldapColumns struct {
	name, userID, email, role, functionalUnit, department, supervisor int
}

// loadDirectory reads every LDAP/YYYY-MM.csv snapshot in dir, fully: they
// are small. It returns an empty directory when dir is "".
func loadDirectory(dir string, loc *time.Location, st *Stats, counter *atomic.Int64) (*directory, error) {
	d := &directory{users: map[string][]entry{}}
	if dir == "" {
		return d, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cert: read LDAP snapshots: %w", err)
	}
	type snap struct {
		month time.Time
		file  string
	}
	var snaps []snap
	for _, e := range ents {
		m := snapshotName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		var y, mo int
		_, _ = fmt.Sscanf(m[1]+" "+m[2], "%d %d", &y, &mo)
		if mo < 1 || mo > 12 {
			continue
		}
		snaps = append(snaps, snap{time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, loc), e.Name()})
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].month.Before(snaps[j].month) })

	// recs[user][i] is the user's record in snapshot i, or nil.
	recs := map[string][]*person{}
	// byName[i] maps employee names to user ids in snapshot i ("" when two share a name).
	byName := make([]map[string]string, len(snaps))
	allNames := map[string]string{}
	people := map[person]*person{} // identical records are shared
	for i, s := range snaps {
		d.months = append(d.months, s.month)
		d.dates = append(d.dates, s.month.Format(time.DateOnly))
		byName[i] = map[string]string{}
		key := "LDAP/" + s.file
		err := readSnapshot(filepath.Join(dir, s.file), key, st, counter, func(id string, p person) {
			if p.fullName != "" {
				addName(byName[i], p.fullName, id)
				addName(allNames, p.fullName, id)
			}
			r, ok := people[p]
			if !ok {
				r = &p
				people[p] = r
			}
			if recs[id] == nil {
				recs[id] = make([]*person, len(snaps))
			}
			recs[id][i] = r
		})
		if err != nil {
			return nil, err
		}
	}
	// Managers: the supervisor's user id, looked up by name in the same
	// snapshot, then in any; the name itself when that is ambiguous or unknown.
	resolved := map[person]*person{}
	for _, rs := range recs {
		for i, r := range rs {
			if r == nil {
				continue
			}
			p := *r
			p.manager = p.supervisor
			if id := byName[i][p.supervisor]; id != "" {
				p.manager = id
			} else if id := allNames[p.supervisor]; id != "" {
				p.manager = id
			}
			shared, ok := resolved[p]
			if !ok {
				shared = &p
				resolved[p] = shared
			}
			rs[i] = shared
		}
	}
	for id, rs := range recs {
		d.users[id] = entries(rs)
	}
	st.Users = len(d.users)
	return d, nil
}

func addName(m map[string]string, name, id string) {
	if prev, ok := m[name]; ok && prev != id {
		m[name] = "" // ambiguous
		return
	}
	m[name] = id
}

// entries derives, for every snapshot, the record that applies and when
// the user left: a user missing from a snapshot after being present left on
// the first day of that snapshot's month.
func entries(rs []*person) []entry {
	out := make([]entry, len(rs))
	last := -1 // last index present so far
	for i, r := range rs {
		switch {
		case r != nil:
			end := -1
			for j := i + 1; j < len(rs); j++ {
				if rs[j] == nil {
					end = j
					break
				}
			}
			out[i] = entry{rec: r, end: end}
			last = i
		case last >= 0: // gone: the last record, and the month they went missing
			out[i] = entry{rec: rs[last], end: last + 1}
		}
	}
	// Before their first snapshot users get their first record.
	for i := range out {
		if out[i].rec != nil {
			for j := range i {
				out[j] = out[i]
			}
			break
		}
	}
	return out
}

// lookup fills what the directory knows about user name at time t.
func (d *directory) lookup(u *event.User, name string, t time.Time) {
	es := d.users[name]
	if es == nil {
		return
	}
	// The snapshot in force: the last one starting at or before t, or the first.
	i := sort.Search(len(d.months), func(i int) bool { return d.months[i].After(t) }) - 1
	i = max(i, 0)
	e := es[i]
	if e.rec == nil {
		return
	}
	u.FullName = e.rec.fullName
	u.Email = e.rec.email
	u.Department = e.rec.department
	u.Title = e.rec.title
	u.Manager = e.rec.manager
	if e.end >= 0 {
		status := "active"
		if !t.Before(d.months[e.end]) {
			status = "terminated"
		}
		u.Employment = &event.Employment{Status: status, EndDate: d.dates[e.end]}
	}
}

// readSnapshot reads one LDAP snapshot and calls add for every usable row.
func readSnapshot(path, key string, st *Stats, counter *atomic.Int64, add func(id string, p person)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	defer func() { _ = f.Close() }() // read only
	r := newCSVReader(f, counter)
	if !r.next() {
		if r.err != nil {
			return fmt.Errorf("cert: read %s: %w", key, r.err)
		}
		return nil // empty file
	}
	cols := headerIndex(r)
	c := ldapColumns{
		name: cols.get("employee_name"), userID: cols.get("user_id"), email: cols.get("email"),
		role: cols.get("role"), functionalUnit: cols.get("functional_unit"),
		department: cols.get("department"), supervisor: cols.get("supervisor"),
	}
	if c.userID < 0 {
		return fmt.Errorf("cert: %s: no user_id column in the header", key)
	}
	width := r.nfields
	for r.next() {
		st.Rows[key]++
		if reason := recordProblem(r, width); reason != "" {
			st.Skipped[reason]++
			continue
		}
		id := strings.TrimSpace(string(r.field(c.userID)))
		if id == "" {
			st.Skipped[reasonMissingField]++
			continue
		}
		get := func(i int) string { return strings.TrimSpace(string(r.field(i))) }
		p := person{
			fullName:   get(c.name),
			email:      get(c.email),
			title:      get(c.role),
			department: get(c.department),
			supervisor: get(c.supervisor),
		}
		if p.department == "" {
			p.department = get(c.functionalUnit)
		}
		add(id, p)
	}
	if r.err != nil {
		return fmt.Errorf("cert: read %s: %w", key, r.err)
	}
	return nil
}
