package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/vigil-itm/vigil/store"
)

// WatchlistKind says how a watchlist's members are found.
type WatchlistKind string

// Watchlist kinds. The first three are computed from directory attributes
// on every snapshot; manual watchlists hold the members added through the
// API.
const (
	// KindDeparting holds people with notice given, terminated, or whose end
	// date is within departing_window_days ahead (and up to departed_days
	// past).
	KindDeparting WatchlistKind = "departing"
	// KindContractors holds contractors: the contractor flag, employment
	// type contractor/contract, status contractor, or a contractor group.
	KindContractors WatchlistKind = "contractors"
	// KindPrivileged holds members of the privileged groups.
	KindPrivileged WatchlistKind = "privileged"
	// KindManual holds the members added by hand.
	KindManual WatchlistKind = "manual"
)

// Valid reports whether k is a known kind.
func (k WatchlistKind) Valid() bool {
	switch k {
	case KindDeparting, KindContractors, KindPrivileged, KindManual:
		return true
	}
	return false
}

// Watchlist is a named list of people that events about them carry in
// user.watchlists, and that policies weigh.
type Watchlist struct {
	// Name is what events carry: lower-case letters, digits, '.', '_', '-'.
	Name        string        `json:"name"`
	Kind        WatchlistKind `json:"kind"`
	Description string        `json:"description,omitempty"`
	// Members are the logins on the list: for a manual list those added,
	// for a computed one those the directory finds now.
	Members []string `json:"members"`
	// Reasons says, for a manual list, why each member was added, by login.
	Reasons map[string]string `json:"reasons,omitempty"`
	Created time.Time         `json:"created"`
	Updated time.Time         `json:"updated"`
}

func builtinWatchlists() []Watchlist {
	return []Watchlist{
		{Name: "departing", Kind: KindDeparting, Description: "People leaving or recently gone (HR and directory dates).", Members: []string{}},
		{Name: "contractors", Kind: KindContractors, Description: "Contractors and other external staff.", Members: []string{}},
		{Name: "privileged", Kind: KindPrivileged, Description: "Members of privileged groups.", Members: []string{}},
	}
}

func (d *Directory) onWatchlist(w *Watchlist, p *Person, today time.Time) bool {
	switch w.Kind {
	case KindDeparting:
		return d.departing(p, today)
	case KindContractors:
		return p.Contractor
	case KindPrivileged:
		return p.Privileged
	case KindManual:
		_, found := slices.BinarySearch(w.Members, p.Login)
		return found
	}
	return false
}

// Watchlists returns every watchlist, by name, with its current members.
func (d *Directory) Watchlists() []Watchlist {
	s := d.snapshot()
	d.mu.Lock()
	out := make([]Watchlist, 0, len(d.watchlists))
	for _, w := range d.watchlists {
		out = append(out, w)
	}
	d.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := range out {
		out[i] = s.withMembers(out[i])
	}
	return out
}

// withMembers returns w with the members of the snapshot.
func (s *snapshot) withMembers(w Watchlist) Watchlist {
	w.Members = append([]string{}, s.members[w.Name]...)
	if w.Reasons != nil {
		r := make(map[string]string, len(w.Reasons))
		for k, v := range w.Reasons {
			r[k] = v
		}
		w.Reasons = r
	}
	return w
}

// Watchlist returns one watchlist with its current members, or an error
// wrapping store.ErrNotFound.
func (d *Directory) Watchlist(name string) (Watchlist, error) {
	s := d.snapshot()
	d.mu.Lock()
	w, ok := d.watchlists[name]
	d.mu.Unlock()
	if !ok {
		return Watchlist{}, fmt.Errorf("watchlist %q: %w", name, store.ErrNotFound)
	}
	return s.withMembers(w), nil
}

// CreateWatchlist creates a watchlist. Name and Kind are required (else
// store.ErrInvalid); a taken name is store.ErrConflict. Members may be
// given only for a manual list.
func (d *Directory) CreateWatchlist(ctx context.Context, w Watchlist) (Watchlist, error) {
	switch {
	case !validName(w.Name):
		return Watchlist{}, fmt.Errorf("create watchlist %q: %w: name: want 1 to 64 lower-case letters, digits, '.', '_' or '-'", w.Name, store.ErrInvalid)
	case !w.Kind.Valid():
		return Watchlist{}, fmt.Errorf("create watchlist %q: %w: kind %q: want departing, contractors, privileged or manual", w.Name, store.ErrInvalid, w.Kind)
	case w.Kind != KindManual && len(w.Members) > 0:
		return Watchlist{}, fmt.Errorf("create watchlist %q: %w: members: a %s watchlist is computed; only manual ones take members", w.Name, store.ErrInvalid, w.Kind)
	}
	members := make([]string, 0, len(w.Members))
	for _, m := range w.Members {
		if m = normName(m); m == "" {
			return Watchlist{}, fmt.Errorf("create watchlist %q: %w: empty member", w.Name, store.ErrInvalid)
		}
		members = append(members, m)
	}
	slices.Sort(members)
	w.Members = slices.Compact(members)
	w.Reasons = nil
	now := d.now().UTC()
	w.Created, w.Updated = now, now
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.watchlists[w.Name]; ok {
		return Watchlist{}, fmt.Errorf("create watchlist %q: %w: a watchlist with that name exists", w.Name, store.ErrConflict)
	}
	if err := d.saveWatchlist(ctx, w); err != nil {
		return Watchlist{}, fmt.Errorf("create watchlist %q: %w", w.Name, err)
	}
	return w, nil
}

// AddToWatchlist adds a login (or alias, resolved to the login when the
// directory knows it) to a manual watchlist, with an optional reason.
// Adding a member twice updates the reason. Computed watchlists refuse
// with store.ErrInvalid.
func (d *Directory) AddToWatchlist(ctx context.Context, name, user, reason string) (Watchlist, error) {
	return d.changeMembers(ctx, name, user, func(w *Watchlist, login string) {
		if _, found := slices.BinarySearch(w.Members, login); !found {
			w.Members = append(w.Members, login)
			slices.Sort(w.Members)
		}
		if reason != "" {
			if w.Reasons == nil {
				w.Reasons = map[string]string{}
			}
			w.Reasons[login] = reason
		}
	})
}

// RemoveFromWatchlist removes a login from a manual watchlist; a login that
// is not on it is store.ErrNotFound.
func (d *Directory) RemoveFromWatchlist(ctx context.Context, name, user string) (Watchlist, error) {
	var missing bool
	w, err := d.changeMembers(ctx, name, user, func(w *Watchlist, login string) {
		i, found := slices.BinarySearch(w.Members, login)
		if !found {
			missing = true
			return
		}
		w.Members = slices.Delete(w.Members, i, i+1)
		delete(w.Reasons, login)
	})
	if err == nil && missing {
		return Watchlist{}, fmt.Errorf("remove %q from watchlist %q: %w: not a member", user, name, store.ErrNotFound)
	}
	return w, err
}

func (d *Directory) changeMembers(ctx context.Context, name, user string, change func(w *Watchlist, login string)) (Watchlist, error) {
	login := normName(user)
	if login == "" {
		return Watchlist{}, fmt.Errorf("watchlist %q: %w: empty user", name, store.ErrInvalid)
	}
	if en := d.snapshot().lookup(user); en != nil {
		login = en.person.Login
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	w, ok := d.watchlists[name]
	if !ok {
		return Watchlist{}, fmt.Errorf("watchlist %q: %w", name, store.ErrNotFound)
	}
	if w.Kind != KindManual {
		return Watchlist{}, fmt.Errorf("watchlist %q: %w: a %s watchlist is computed from the directory; only manual ones take members", name, store.ErrInvalid, w.Kind)
	}
	w.Members = slices.Clone(w.Members)
	if w.Reasons != nil {
		r := make(map[string]string, len(w.Reasons))
		for k, v := range w.Reasons {
			r[k] = v
		}
		w.Reasons = r
	}
	change(&w, login)
	w.Updated = d.now().UTC()
	if err := d.saveWatchlist(ctx, w); err != nil {
		return Watchlist{}, fmt.Errorf("watchlist %q: %w", name, err)
	}
	return w, nil
}

// saveWatchlist persists w and installs it; d.mu is held.
func (d *Directory) saveWatchlist(ctx context.Context, w Watchlist) error {
	if w.Kind != KindManual {
		w.Members = []string{}
	}
	doc, err := json.Marshal(w)
	if err != nil {
		return err
	}
	if err := d.store.Apply(ctx, []store.IdentityOp{{Kind: kindWatchlist, ID: w.Name, Doc: doc}}); err != nil {
		return err
	}
	d.watchlists[w.Name] = w
	d.dirty.Store(true)
	return nil
}

// DeleteWatchlist removes a watchlist. Built-in ones may be deleted too;
// Load creates them only once, on a new directory.
func (d *Directory) DeleteWatchlist(ctx context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.watchlists[name]; !ok {
		return fmt.Errorf("delete watchlist %q: %w", name, store.ErrNotFound)
	}
	if err := d.store.Apply(ctx, []store.IdentityOp{{Kind: kindWatchlist, ID: name}}); err != nil {
		return fmt.Errorf("delete watchlist %q: %w", name, err)
	}
	delete(d.watchlists, name)
	d.dirty.Store(true)
	return nil
}
