package ldapsync

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/vigil-itm/vigil/identity"
	"github.com/vigil-itm/vigil/store"
)

// Directory is where syncs go. *identity.Directory implements it.
type Directory interface {
	Apply(ctx context.Context, source string, ch identity.Change) error
	Docs(ctx context.Context, kind string) ([]store.IdentityDoc, error)
}

// Result says what a sync did.
type Result struct {
	// Full is true for a full reconcile, false for an incremental sync.
	Full bool `json:"full"`
	// Entries is how many entries the search returned.
	Entries int `json:"entries"`
	// Skipped counts entries without an id or a login.
	Skipped int `json:"skipped"`
	// Since is the change time an incremental sync started from.
	Since string `json:"since,omitempty"`
}

// cursor is the sync state kept next to the records: the latest change
// time seen, in the server's own format, for the next incremental sync.
type cursor struct {
	HighWater string    `json:"high_water"`
	LastFull  time.Time `json:"last_full"`
}

// Syncer syncs one LDAP server into the directory. Its methods are safe
// for concurrent use; syncs run one at a time.
type Syncer struct {
	cfg Config
	dir Directory
	log *slog.Logger

	mu  sync.Mutex
	cur cursor

	// afterPage, when set (by tests), runs after each page is read.
	afterPage func(page int)
}

// New builds a syncer.
func New(cfg Config, dir Directory, logger *slog.Logger) (*Syncer, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if dir == nil {
		return nil, errors.New("ldap sync: no directory")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Syncer{cfg: cfg, dir: dir, log: logger.With("component", "ldapsync", "identity_source", cfg.Source)}, nil
}

func (s *Syncer) cursorKind() string { return s.cfg.Source + ".cursor" }

// Run syncs until ctx is done: a full reconcile first (unless one ran
// within FullInterval before a restart), then incremental syncs every
// Interval and a full reconcile every FullInterval. Failures are logged
// and the directory keeps what it had.
func (s *Syncer) Run(ctx context.Context) error {
	if err := s.loadCursor(ctx); err != nil {
		s.log.Warn("no sync cursor; starting with a full sync", "err", err)
	}
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.mu.Lock()
		full := s.cur.HighWater == "" || time.Since(s.cur.LastFull) >= s.cfg.FullInterval
		s.mu.Unlock()
		var (
			res Result
			err error
		)
		if full {
			res, err = s.Full(ctx)
		} else {
			res, err = s.Incremental(ctx)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.log.Error("ldap sync failed; the directory keeps what it had", "full", full, "err", err)
		default:
			s.log.Info("ldap sync done", "full", res.Full, "entries", res.Entries, "skipped", res.Skipped)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Syncer) loadCursor(ctx context.Context) error {
	docs, err := s.dir.Docs(ctx, s.cursorKind())
	if err != nil {
		return err
	}
	for _, d := range docs {
		var c cursor
		if err := json.Unmarshal(d.Doc, &c); err != nil {
			return fmt.Errorf("read sync cursor: %w", err)
		}
		s.mu.Lock()
		s.cur = c
		s.mu.Unlock()
	}
	return nil
}

// Full reads every entry and replaces the source's records with them:
// people no longer on the server leave the directory.
func (s *Syncer) Full(ctx context.Context) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sync(ctx, "")
}

// Incremental reads the entries changed since the last sync and updates
// them; with no earlier sync it runs a full one. Deletions wait for the
// next full reconcile.
func (s *Syncer) Incremental(ctx context.Context) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.HighWater == "" || s.cfg.Attributes.Modified == "-" {
		return s.sync(ctx, "")
	}
	return s.sync(ctx, s.cur.HighWater)
}

// sync runs one search; since == "" means a full reconcile. s.mu is held.
func (s *Syncer) sync(ctx context.Context, since string) (Result, error) {
	res := Result{Full: since == "", Since: since}
	filter := s.cfg.Filter
	if since != "" {
		filter = "(&" + s.cfg.Filter + "(" + s.cfg.Attributes.Modified + ">=" + ldap.EscapeFilter(since) + "))"
	}
	entries, err := s.search(ctx, filter)
	if err != nil {
		return res, fmt.Errorf("ldap sync %s: %w", s.cfg.URL, err)
	}
	res.Entries = len(entries)
	next := s.cur
	var recs []identity.Record
	seen := map[string]bool{}
	for _, e := range entries {
		rec, ok := s.record(e)
		if !ok || seen[rec.Key] {
			res.Skipped++
			continue
		}
		seen[rec.Key] = true
		recs = append(recs, rec)
		if m := e.GetAttributeValue(s.cfg.Attributes.Modified); m != "" && later(m, next.HighWater) {
			next.HighWater = m
		}
	}
	if since == "" {
		next.LastFull = time.Now().UTC()
	}
	doc, err := json.Marshal(next)
	if err != nil {
		return res, fmt.Errorf("ldap sync: encode cursor: %w", err)
	}
	ch := identity.Change{Replace: since == "", Upserts: recs,
		Extra: []store.IdentityOp{{Kind: s.cursorKind(), ID: "cursor", Doc: doc}}}
	if err := s.dir.Apply(ctx, s.cfg.Source, ch); err != nil {
		return res, fmt.Errorf("ldap sync %s: %w", s.cfg.URL, err)
	}
	s.cur = next
	return res, nil
}

// search connects, binds and runs a paged search, returning every entry;
// any failure returns an error and no entries.
func (s *Syncer) search(ctx context.Context, filter string) ([]*ldap.Entry, error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }() // the search's outcome is what matters
	// Closing the connection is how a cancelled ctx stops a search in
	// flight; the watcher ends with the search.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			_ = conn.Close() // unblocks the search, which reports ctx's error below
		case <-stop:
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	paging := ldap.NewControlPaging(s.cfg.PageSize)
	var out []*ldap.Entry
	for page := 1; ; page++ {
		req := ldap.NewSearchRequest(s.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0,
			int(s.cfg.Timeout.Seconds()), false, filter, s.cfg.Attributes.attributes(), []ldap.Control{paging})
		res, err := conn.Search(req)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			return nil, fmt.Errorf("search %q page %d: %w", s.cfg.BaseDN, page, err)
		}
		out = append(out, res.Entries...)
		if s.afterPage != nil {
			s.afterPage(page)
		}
		pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(pc.Cookie) == 0 {
			return out, nil
		}
		paging.SetCookie(pc.Cookie)
	}
}

func (s *Syncer) connect(ctx context.Context) (*ldap.Conn, error) {
	tc, err := s.cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: s.cfg.Timeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	conn, err := ldap.DialURL(s.cfg.URL, ldap.DialWithDialer(dialer), ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	conn.SetTimeout(s.cfg.Timeout)
	if s.cfg.StartTLS {
		if err := conn.StartTLS(tc); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("start TLS: %w", err)
		}
	}
	if s.cfg.BindDN != "" {
		pw, err := s.cfg.password()
		if err != nil {
			_ = conn.Close()
			return nil, err
		}
		if err := conn.Bind(s.cfg.BindDN, pw); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("bind as %q: %w", s.cfg.BindDN, err)
		}
	}
	return conn, nil
}

// record maps an entry to a directory record; ok is false for an entry
// without an id or a login.
func (s *Syncer) record(e *ldap.Entry) (identity.Record, bool) {
	m := &s.cfg.Attributes
	get := func(attr string) string {
		if attr == "" || attr == "-" {
			return ""
		}
		return strings.TrimSpace(e.GetEqualFoldAttributeValue(attr))
	}
	id := e.GetRawAttributeValue(m.ID)
	login := strings.ToLower(get(m.Login))
	if len(id) == 0 || login == "" {
		return identity.Record{}, false
	}
	key := string(id)
	if !utf8.Valid(id) || strings.ContainsFunc(key, func(r rune) bool { return r < ' ' }) {
		key = hex.EncodeToString(id) // objectGUID is binary
	}
	rec := identity.Record{
		Key: key, Login: login, Refs: []string{normDN(e.DN)},
		Email: get(m.Email), FullName: get(m.FullName), Department: get(m.Department), Title: get(m.Title),
		EmployeeNumber: get(m.EmployeeNumber), Division: get(m.Division), Organization: get(m.Organization),
	}
	if upn := get(m.UserPrincipalName); upn != "" {
		rec.Aliases = append(rec.Aliases, strings.ToLower(upn))
	}
	if mgr := get(m.Manager); mgr != "" {
		rec.ManagerRef = normDN(mgr)
		rec.Manager = firstRDNValue(mgr)
	}
	if m.Groups != "" && m.Groups != "-" {
		for _, g := range e.GetEqualFoldAttributeValues(m.Groups) {
			if name := firstRDNValue(g); name != "" {
				rec.Groups = append(rec.Groups, name)
			}
		}
	}
	if t := get(m.EmployeeType); t != "" {
		rec.Employment.Type = strings.ToLower(t)
	}
	if v := get(m.Disabled); v != "" {
		disabled := false
		if len(m.DisabledValues) > 0 {
			for _, dv := range m.DisabledValues {
				disabled = disabled || strings.EqualFold(dv, v)
			}
		} else if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			disabled = n&m.DisabledBits != 0
		}
		active := !disabled
		rec.Active = &active
	}
	return rec, true
}

// normDN returns the form DNs are compared in.
func normDN(dn string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(dn))
	}
	parts := make([]string, 0, len(parsed.RDNs))
	for _, rdn := range parsed.RDNs {
		avs := make([]string, 0, len(rdn.Attributes))
		for _, av := range rdn.Attributes {
			avs = append(avs, strings.ToLower(av.Type)+"="+strings.ToLower(av.Value))
		}
		parts = append(parts, strings.Join(avs, "+"))
	}
	return strings.Join(parts, ",")
}

// firstRDNValue returns the value of a DN's first RDN: the group name of
// CN=Domain Admins,CN=Users,DC=corp,DC=example.
func firstRDNValue(dn string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 || len(parsed.RDNs[0].Attributes) == 0 {
		return ""
	}
	return parsed.RDNs[0].Attributes[0].Value
}

// later reports whether generalized time a is after b ("" is the
// earliest). Values that do not parse compare as strings.
func later(a, b string) bool {
	if b == "" {
		return true
	}
	ta, errA := parseGeneralizedTime(a)
	tb, errB := parseGeneralizedTime(b)
	if errA != nil || errB != nil {
		return a > b
	}
	return ta.After(tb)
}

func parseGeneralizedTime(s string) (time.Time, error) {
	var err error
	for _, layout := range []string{"20060102150405Z0700", "20060102150405.999999999Z0700"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("generalized time %q: %w", s, err)
}
