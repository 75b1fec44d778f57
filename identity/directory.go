package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-itm/vigil/store"
)

// Document kinds the directory keeps in store.Identity.
const (
	kindSourcePrefix = "src."
	kindWatchlist    = "watchlist"
	kindSources      = "sources" // one document per source name, so Load finds them
	kindState        = "state"   // the directory's own flags
	stateInitialised = "initialised"
)

// Person is the merged view of one person: every source's record with the
// same login, combined by the configured precedence, with the watchlists
// the person is on. Its JSON names follow event.User where the event has
// the field.
type Person struct {
	// Login is the login name, lower-cased: the user.name events carry.
	Login string `json:"name"`
	// Aliases are other names that find the person (email, UPN, ...).
	Aliases        []string    `json:"aliases,omitempty"`
	FullName       string      `json:"full_name,omitempty"`
	Email          string      `json:"email,omitempty"`
	Title          string      `json:"title,omitempty"`
	Department     string      `json:"department,omitempty"`
	Manager        string      `json:"manager,omitempty"`
	EmployeeNumber string      `json:"employee_number,omitempty"`
	CostCenter     string      `json:"cost_center,omitempty"`
	Division       string      `json:"division,omitempty"`
	Organization   string      `json:"organization,omitempty"`
	Groups         []string    `json:"groups,omitempty"`
	Active         *bool       `json:"active,omitempty"`
	Employment     *Employment `json:"employment,omitempty"`
	Contractor     bool        `json:"contractor,omitempty"`
	Privileged     bool        `json:"privileged,omitempty"`
	Watchlists     []string    `json:"watchlists,omitempty"`
	// Sources names the sources that know the person, by precedence; a
	// person only on a manual watchlist has none.
	Sources []string `json:"sources"`
}

// StoreUser converts p to the store's directory entry, for code that still
// reads store.Users.
func (p *Person) StoreUser() store.User {
	u := store.User{ID: p.Login, Name: p.Login, FullName: p.FullName, Email: p.Email, Department: p.Department,
		Manager: p.Manager, Groups: p.Groups, Contractor: p.Contractor}
	if p.Employment != nil {
		u.EmploymentStatus, u.EndDate = p.Employment.Status, p.Employment.EndDate
	}
	return u
}

// Change is one write of a source to the directory.
type Change struct {
	// Replace says Upserts are every record the source has: records of the
	// source that are not among them are removed (an HR import, an LDAP
	// full reconcile).
	Replace bool
	// Upserts are records to create or replace, by Key.
	Upserts []Record
	// Deletes are keys of records to remove.
	Deletes []string
	// Extra are the source's own documents (SCIM resources, sync
	// cursors), committed in the same transaction as the records.
	Extra []store.IdentityOp
}

// Directory is the merged user directory. Sources write to it with Apply;
// the API reads it with People, Person and the watchlist methods; the
// server enriches every event with Enrich. All methods are safe for
// concurrent use. Reads use an immutable in-memory snapshot, rebuilt after
// a write (on the next read) and at midnight UTC (the departing watchlists
// depend on the date).
type Directory struct {
	cfg   Config
	store store.Identity
	log   *slog.Logger
	now   func() time.Time

	// mu serialises writes and guards the fields below.
	mu         sync.Mutex
	records    map[string]map[string]Record // source → key → record
	watchlists map[string]Watchlist         // name → definition (manual members included)

	snap    atomic.Pointer[snapshot]
	dirty   atomic.Bool
	buildMu sync.Mutex // one rebuild at a time
}

// Option changes how a Directory is built.
type Option func(*Directory)

// WithClock sets the clock the directory reads the date from (default
// time.Now), for tests.
func WithClock(now func() time.Time) Option { return func(d *Directory) { d.now = now } }

// New builds a directory on st. Call Load before use.
func New(cfg Config, st store.Identity, logger *slog.Logger, opts ...Option) (*Directory, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("identity: %w: no store", store.ErrInvalid)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Directory{
		cfg:        cfg,
		store:      st,
		log:        logger.With("component", "identity"),
		now:        time.Now,
		records:    map[string]map[string]Record{},
		watchlists: map[string]Watchlist{},
	}
	for _, o := range opts {
		o(d)
	}
	d.dirty.Store(true)
	return d, nil
}

// Load reads every source's records and the watchlists from the store,
// creating the built-in watchlists (departing, contractors, privileged)
// the first time.
func (d *Directory) Load(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	srcs, err := d.store.List(ctx, kindSources)
	if err != nil {
		return fmt.Errorf("load directory: %w", err)
	}
	records := map[string]map[string]Record{}
	for _, s := range srcs {
		docs, err := d.store.List(ctx, kindSourcePrefix+s.ID)
		if err != nil {
			return fmt.Errorf("load directory source %q: %w", s.ID, err)
		}
		m := make(map[string]Record, len(docs))
		for _, doc := range docs {
			var r Record
			if err := json.Unmarshal(doc.Doc, &r); err != nil {
				return fmt.Errorf("load directory source %q: record %q: %w", s.ID, doc.ID, err)
			}
			m[r.Key] = r
		}
		records[s.ID] = m
	}
	wdocs, err := d.store.List(ctx, kindWatchlist)
	if err != nil {
		return fmt.Errorf("load watchlists: %w", err)
	}
	watchlists := map[string]Watchlist{}
	for _, doc := range wdocs {
		var w Watchlist
		if err := json.Unmarshal(doc.Doc, &w); err != nil {
			return fmt.Errorf("load watchlist %q: %w", doc.ID, err)
		}
		watchlists[w.Name] = w
	}
	state, err := d.store.List(ctx, kindState)
	if err != nil {
		return fmt.Errorf("load directory state: %w", err)
	}
	if !slices.ContainsFunc(state, func(doc store.IdentityDoc) bool { return doc.ID == stateInitialised }) {
		ops := []store.IdentityOp{{Kind: kindState, ID: stateInitialised, Doc: json.RawMessage(`{}`)}}
		now := d.now().UTC()
		for _, w := range builtinWatchlists() {
			w.Created, w.Updated = now, now
			doc, err := json.Marshal(w)
			if err != nil {
				return fmt.Errorf("create watchlist %q: %w", w.Name, err)
			}
			ops = append(ops, store.IdentityOp{Kind: kindWatchlist, ID: w.Name, Doc: doc})
			watchlists[w.Name] = w
		}
		if err := d.store.Apply(ctx, ops); err != nil {
			return fmt.Errorf("create the built-in watchlists: %w", err)
		}
	}
	d.records, d.watchlists = records, watchlists
	d.dirty.Store(true)
	n := 0
	for _, m := range records {
		n += len(m)
	}
	d.log.Info("directory loaded", "sources", len(records), "records", n, "watchlists", len(watchlists))
	return nil
}

// Docs returns the documents of kind, for sources that keep state of their
// own next to their records (through Change.Extra).
func (d *Directory) Docs(ctx context.Context, kind string) ([]store.IdentityDoc, error) {
	if strings.HasPrefix(kind, kindSourcePrefix) || kind == kindWatchlist || kind == kindSources || kind == kindState {
		return nil, fmt.Errorf("read identity documents %q: %w: kind reserved by the directory", kind, store.ErrInvalid)
	}
	return d.store.List(ctx, kind)
}

// Records returns the records of source, ordered by key.
func (d *Directory) Records(source string) []Record {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Record, 0, len(d.records[source]))
	for _, r := range d.records[source] {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Apply writes a source's change: persisted in one transaction, then
// visible to readers. Invalid records fail the whole change, naming the
// record; nothing is applied.
func (d *Directory) Apply(ctx context.Context, source string, ch Change) error {
	if err := validSourceName(source); err != nil {
		return err
	}
	seen := make(map[string]bool, len(ch.Upserts))
	for i := range ch.Upserts {
		r := &ch.Upserts[i]
		if err := r.Validate(); err != nil {
			return fmt.Errorf("apply %s change: %w: %w", source, store.ErrInvalid, err)
		}
		if seen[r.Key] {
			return fmt.Errorf("apply %s change: %w: record %q given twice", source, store.ErrInvalid, r.Key)
		}
		seen[r.Key] = true
	}
	kind := kindSourcePrefix + source
	ops := make([]store.IdentityOp, 0, len(ch.Upserts)+len(ch.Deletes)+len(ch.Extra)+2)
	ops = append(ops, store.IdentityOp{Kind: kindSources, ID: source, Doc: json.RawMessage(`{}`)})
	if ch.Replace {
		ops = append(ops, store.IdentityOp{Kind: kind, Clear: true})
	}
	for _, k := range ch.Deletes {
		ops = append(ops, store.IdentityOp{Kind: kind, ID: k})
	}
	for i := range ch.Upserts {
		doc, err := json.Marshal(&ch.Upserts[i])
		if err != nil {
			return fmt.Errorf("apply %s change: record %q: %w", source, ch.Upserts[i].Key, err)
		}
		ops = append(ops, store.IdentityOp{Kind: kind, ID: ch.Upserts[i].Key, Doc: doc})
	}
	ops = append(ops, ch.Extra...)

	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.store.Apply(ctx, ops); err != nil {
		return fmt.Errorf("apply %s change: %w", source, err)
	}
	m := d.records[source]
	if m == nil || ch.Replace {
		m = make(map[string]Record, len(ch.Upserts))
	}
	for _, k := range ch.Deletes {
		delete(m, k)
	}
	for _, r := range ch.Upserts {
		m[r.Key] = r
	}
	d.records[source] = m
	d.dirty.Store(true)
	d.log.Debug("source change applied", "identity_source", source, "upserts", len(ch.Upserts), "deletes", len(ch.Deletes),
		"replace", ch.Replace)
	return nil
}

func validSourceName(source string) error {
	t, inst, hasInst := strings.Cut(source, ":")
	switch t {
	case SourceSCIM, SourceLDAP, SourceHR:
	default:
		return fmt.Errorf("source %q: %w: want scim, ldap or hr, optionally followed by :name", source, store.ErrInvalid)
	}
	if hasInst && !validName(inst) {
		return fmt.Errorf("source %q: %w: instance name: want lower-case letters, digits, '.', '_' or '-'", source, store.ErrInvalid)
	}
	return nil
}

// validName accepts names of watchlists and source instances.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || i > 0 && strings.ContainsRune("._-", r)
		if !ok {
			return false
		}
	}
	return true
}

// PeopleFilter selects people. Empty fields do not filter.
type PeopleFilter struct {
	Department string
	// Status is an employment status.
	Status string
	// Watchlist keeps the members of the named watchlist.
	Watchlist string
	// Contractor, when not nil, keeps only contractors (true) or only
	// employees (false).
	Contractor *bool
	// Source keeps people known to a source of this type or name.
	Source string
	// Query keeps people whose login, full name or email contains it,
	// ignoring case.
	Query string
	// Limit is the page size (store.PageLimit applies); Cursor the next
	// value of the previous page.
	Limit  int
	Cursor string
}

// People returns a page of people ordered by login, and the cursor of the
// next page ("" on the last).
func (d *Directory) People(f PeopleFilter) ([]Person, string) {
	s := d.snapshot()
	limit := store.PageLimit(f.Limit)
	q := normName(f.Query)
	var out []Person
	start := sort.SearchStrings(s.logins, f.Cursor)
	for _, login := range s.logins[start:] {
		if login == f.Cursor {
			continue
		}
		p := &s.people[login].person
		if !f.match(p, q) {
			continue
		}
		if len(out) == limit {
			return out, out[len(out)-1].Login
		}
		out = append(out, p.clone())
	}
	return out, ""
}

func (f *PeopleFilter) match(p *Person, q string) bool {
	if f.Department != "" && !strings.EqualFold(p.Department, f.Department) {
		return false
	}
	if f.Status != "" && (p.Employment == nil || p.Employment.Status != f.Status) {
		return false
	}
	if f.Contractor != nil && p.Contractor != *f.Contractor {
		return false
	}
	if f.Watchlist != "" && !slices.Contains(p.Watchlists, f.Watchlist) {
		return false
	}
	if f.Source != "" && !slices.ContainsFunc(p.Sources, func(s string) bool { return s == f.Source || sourceType(s) == f.Source }) {
		return false
	}
	if q != "" && !strings.Contains(p.Login, q) && !strings.Contains(strings.ToLower(p.FullName), q) &&
		!strings.Contains(strings.ToLower(p.Email), q) {
		return false
	}
	return true
}

// Person returns the person with login name or alias name (case-insensitive,
// DOMAIN\ prefixes ignored), or an error wrapping store.ErrNotFound.
func (d *Directory) Person(name string) (Person, error) {
	p := d.snapshot().lookup(name)
	if p == nil {
		return Person{}, fmt.Errorf("person %q: %w", name, store.ErrNotFound)
	}
	return p.person.clone(), nil
}

func (p *Person) clone() Person {
	c := *p
	c.Aliases = append([]string(nil), p.Aliases...)
	c.Groups = append([]string(nil), p.Groups...)
	c.Watchlists = append([]string(nil), p.Watchlists...)
	c.Sources = append([]string(nil), p.Sources...)
	if p.Employment != nil {
		e := *p.Employment
		c.Employment = &e
	}
	if p.Active != nil {
		a := *p.Active
		c.Active = &a
	}
	return c
}
