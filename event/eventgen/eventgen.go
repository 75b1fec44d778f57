// Package eventgen generates realistic, deterministic streams of events for
// benchmarks, tests and demos: a population of users on their workstations
// doing ordinary work (browsing, editing files, running programs, sending
// mail) with the occasional USB copy, cloud upload, large print job or
// paste-site visit mixed in, across time zones so that some activity falls
// outside working hours.
//
// Every action of the vocabulary occurs, every event passes
// (*event.Event).Validate, and a given seed and Options always produce the
// same stream. The package imports only event.
package eventgen

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// Options shape the generated population and stream. Zero values take the
// defaults.
type Options struct {
	// Users is the number of distinct users (default 1000).
	Users int
	// Hosts is the number of workstations (default: one per user). Users
	// share hosts round-robin when there are fewer hosts than users.
	Hosts int
	// Start is the event time of the first event (default Monday
	// 2026-11-02 13:00 UTC, working hours in Europe and the Americas).
	Start time.Time
	// Rate is the mean number of events per second of event time (default
	// 20); gaps between events are exponentially distributed.
	Rate float64
}

// DefaultStart is the event time the stream starts at unless Options.Start
// says otherwise.
var DefaultStart = time.Date(2026, 11, 2, 13, 0, 0, 0, time.UTC)

// Generator produces events. It is not safe for concurrent use.
type Generator struct {
	rng   *rand.Rand
	now   time.Time
	gap   float64 // mean seconds between events
	users []*user
	hosts []*host
	// cumulative activity weights of the users, for weighted choice
	userWeights []float64
}

type user struct {
	id, name, domain, email, fullName string
	department, title, manager        string
	timezone                          string
	groups                            []string
	contractor, privileged            bool
	status                            string
	startDate, noticeDate, endDate    string
	host                              *host
	usb                               *usbStick // the user's own stick, if any
	riskScore                         float64
}

type host struct {
	id, name, ip, osFamily, osName, osVersion, timezone string
	agentID                                             string
	seq                                                 int64
	pid                                                 int64
}

type usbStick struct {
	vendor, product, vendorID, productID, serial, label, fs string
	size                                                    int64
}

// New returns a generator for the given seed and options.
func New(seed int64, opts Options) *Generator {
	if opts.Users <= 0 {
		opts.Users = 1000
	}
	if opts.Hosts <= 0 {
		opts.Hosts = opts.Users
	}
	if opts.Start.IsZero() {
		opts.Start = DefaultStart
	}
	if opts.Rate <= 0 {
		opts.Rate = 20
	}
	g := &Generator{
		rng: rand.New(rand.NewPCG(uint64(seed), 0x76696769_6c2d6576)),
		now: opts.Start.UTC(),
		gap: 1 / opts.Rate,
	}
	for i := range opts.Hosts {
		g.hosts = append(g.hosts, g.newHost(i))
	}
	total := 0.0
	for i := range opts.Users {
		u := g.newUser(i, g.hosts[i%len(g.hosts)])
		g.users = append(g.users, u)
		// A few people do most of the work: Pareto-like activity weights.
		total += 1 / math.Pow(1-g.rng.Float64()*0.95, 0.8)
		g.userWeights = append(g.userWeights, total)
	}
	return g
}

// Batch returns the next n events.
func (g *Generator) Batch(n int) []*event.Event {
	out := make([]*event.Event, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// Next returns the next event of the stream, normalised.
func (g *Generator) Next() *event.Event {
	g.now = g.now.Add(time.Duration(g.rng.ExpFloat64() * g.gap * float64(time.Second)))
	u := g.pickUser()
	h := u.host
	h.seq++
	action := g.pickAction()
	e := &event.Event{
		Timestamp: g.now.Truncate(time.Microsecond),
		Event: event.Meta{
			ID:       g.ulid(g.now),
			Action:   action,
			Outcome:  "success",
			Sequence: h.seq,
		},
		Host: &event.Host{
			ID: h.id, Name: h.name, IP: []string{h.ip}, Timezone: h.timezone,
			OS: &event.OS{Family: h.osFamily, Name: h.osName, Version: h.osVersion},
		},
		User: g.userFields(u),
	}
	g.fill(e, u, h)
	e.Normalize()
	return e
}

// actionWeights is the relative frequency of each action, per mille of a
// typical working day's events.
var actionWeights = []struct {
	action string
	weight float64
}{
	{event.ActionWebVisit, 180}, {event.ActionWindowFocused, 110}, {event.ActionFileModified, 120},
	{event.ActionFileCreated, 80}, {event.ActionProcessStarted, 70}, {event.ActionProcessEnded, 65},
	{event.ActionConnectionOpened, 60}, {event.ActionCommandExecuted, 40}, {event.ActionClipboardCopy, 35},
	{event.ActionClipboardPaste, 35}, {event.ActionEmailSent, 30}, {event.ActionFileDeleted, 25},
	{event.ActionFileRenamed, 20}, {event.ActionWebDownload, 20}, {event.ActionWebUpload, 10},
	{event.ActionScreenLock, 10}, {event.ActionScreenUnlock, 10}, {event.ActionLogon, 8},
	{event.ActionLogoff, 7}, {event.ActionFileCopiedToRemovable, 8}, {event.ActionFileCopiedToCloudSync, 8},
	{event.ActionPrintJob, 8}, {event.ActionClipboardCut, 6}, {event.ActionDeviceConnected, 3},
	{event.ActionDeviceDisconnected, 3}, {event.ActionVolumeMounted, 3}, {event.ActionVolumeUnmounted, 3},
	{event.ActionAgentStarted, 1}, {event.ActionAgentStopped, 1}, {event.ActionSensorFailed, 1},
	{event.ActionEventsDropped, 1}, {event.ActionPolicyActivated, 1},
}

var actionCumulative = func() []float64 {
	out := make([]float64, len(actionWeights))
	total := 0.0
	for i, a := range actionWeights {
		total += a.weight
		out[i] = total
	}
	return out
}()

func (g *Generator) pickAction() string {
	return actionWeights[pickCumulative(actionCumulative, g.rng.Float64())].action
}

func (g *Generator) pickUser() *user {
	return g.users[pickCumulative(g.userWeights, g.rng.Float64())]
}

// pickCumulative returns the index whose share of the cumulative weights
// holds x, a number in [0, 1).
func pickCumulative(cum []float64, x float64) int {
	target := x * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] <= target {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

func (g *Generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *Generator) chance(p float64) bool { return g.rng.Float64() < p }

// logNormal draws a log-normally distributed integer around median with
// the given spread (the standard deviation of its logarithm), within
// [lo, hi].
func (g *Generator) logNormal(median, spread float64, lo, hi int64) int64 {
	v := int64(median * math.Exp(g.rng.NormFloat64()*spread))
	return min(max(v, lo), hi)
}

func (g *Generator) hexString(n int) string {
	b := make([]byte, (n+1)/2)
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	return hex.EncodeToString(b)[:n]
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ulid returns a ULID for t with random bits from the generator, so that
// IDs are unique, sort by time and are reproducible.
func (g *Generator) ulid(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	binary.BigEndian.PutUint16(b[6:8], uint16(g.rng.UintN(1<<16)))
	binary.BigEndian.PutUint64(b[8:], g.rng.Uint64())
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// Population.

var (
	firstNames = []string{
		"James", "Mary", "Aisha", "Wei", "Olga", "Carlos", "Priya", "Tomasz", "Fatima", "Kenji",
		"Emma", "Liam", "Sofia", "Noah", "Chloe", "Mateo", "Ingrid", "Ravi", "Zanele", "Hannah",
		"Lucas", "Yuki", "Amara", "Diego", "Elif", "Jonas", "Mei", "Oscar", "Leila", "Sean",
	}
	lastNames = []string{
		"Smith", "Garcia", "Okafor", "Chen", "Novak", "Silva", "Patel", "Kowalski", "Haddad", "Tanaka",
		"Johnson", "Müller", "Rossi", "Dubois", "Nguyen", "Andersson", "Khan", "O'Brien", "Moreau", "Schmidt",
		"Fernández", "Ivanova", "Mensah", "Yamamoto", "Kaya", "Larsen", "Wong", "Costa", "Nasser", "Walsh",
	}
	departments = []string{
		"Engineering", "Engineering", "Engineering", "Sales", "Sales", "Finance", "Legal", "HR",
		"Marketing", "Support", "Operations", "Research", "Executive", "IT",
	}
	titles = map[string][]string{
		"Engineering": {"Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager", "SRE"},
		"Sales":       {"Account Executive", "Sales Engineer", "Regional Sales Director"},
		"Finance":     {"Financial Analyst", "Controller", "Accounts Payable Specialist"},
		"Legal":       {"Counsel", "Paralegal"},
		"HR":          {"HR Business Partner", "Recruiter", "Payroll Specialist"},
		"Marketing":   {"Product Marketing Manager", "Content Strategist"},
		"Support":     {"Support Engineer", "Customer Success Manager"},
		"Operations":  {"Operations Analyst", "Facilities Coordinator"},
		"Research":    {"Research Scientist", "Data Scientist"},
		"Executive":   {"Chief Financial Officer", "VP Engineering", "Chief of Staff"},
		"IT":          {"Systems Administrator", "Helpdesk Technician", "Security Engineer"},
	}
	// Time zones spread over the globe, so that at any hour some users
	// are outside their working hours.
	timezones = []string{
		"America/Los_Angeles", "America/New_York", "America/Sao_Paulo", "Europe/London",
		"Europe/Paris", "Europe/Warsaw", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
	}
	usbModels = []usbStick{
		{vendor: "Kingston", product: "DataTraveler 3.0", vendorID: "0951", productID: "1666", fs: "vfat", size: 32 << 30},
		{vendor: "SanDisk", product: "Cruzer Blade", vendorID: "0781", productID: "5567", fs: "vfat", size: 16 << 30},
		{vendor: "SanDisk", product: "Ultra USB 3.0", vendorID: "0781", productID: "5581", fs: "exfat", size: 128 << 30},
		{vendor: "Samsung", product: "Portable SSD T7", vendorID: "04e8", productID: "4001", fs: "exfat", size: 1 << 40},
		{vendor: "Western Digital", product: "My Passport", vendorID: "1058", productID: "25e2", fs: "ntfs", size: 2 << 40},
		{vendor: "Lexar", product: "JumpDrive S47", vendorID: "21c4", productID: "0cd1", fs: "vfat", size: 64 << 30},
		{vendor: "Verbatim", product: "Store 'n' Go", vendorID: "18a5", productID: "0302", fs: "vfat", size: 8 << 30},
	}
	usbLabels = []string{"KINGSTON", "SANDISK", "T7", "BACKUP", "USB DISK", "NO NAME", "PHOTOS", "WORK", "JDRIVE"}
)

const corpDomain = "acme.example"

func (g *Generator) newHost(i int) *host {
	h := &host{
		id:       g.hexString(32),
		ip:       "10." + strconv.Itoa(20+i/65536%200) + "." + strconv.Itoa(i/256%256) + "." + strconv.Itoa(i%256),
		timezone: g.pick(timezones),
		agentID:  g.hexString(16),
		pid:      1000 + int64(g.rng.IntN(30000)),
	}
	switch r := g.rng.Float64(); {
	case r < 0.55:
		h.osFamily, h.osName, h.osVersion = "windows", "Windows 11 Enterprise", g.pick([]string{"10.0.22631", "10.0.26100"})
		h.name = "WS-" + strconv.Itoa(1000+i)
	case r < 0.8:
		h.osFamily, h.osName, h.osVersion = "macos", "macOS", g.pick([]string{"14.7.1", "15.1", "15.6"})
		h.name = "mbp-" + strconv.Itoa(1000+i)
	default:
		h.osFamily, h.osName, h.osVersion = "linux", g.pick([]string{"Ubuntu", "Fedora Linux", "Debian GNU/Linux"}), g.pick([]string{"24.04", "41", "12"})
		h.name = "ws-" + strconv.Itoa(1000+i)
	}
	return h
}

func (g *Generator) newUser(i int, h *host) *user {
	first, last := g.pick(firstNames), g.pick(lastNames)
	login := strings.ToLower(asciiFold(first[:1]+last)) + strconv.Itoa(i)
	dept := g.pick(departments)
	u := &user{
		id:         strconv.Itoa(10000 + i),
		name:       login,
		domain:     "CORP",
		email:      login + "@" + corpDomain,
		fullName:   first + " " + last,
		department: dept,
		title:      g.pick(titles[dept]),
		manager:    "mgr" + strconv.Itoa(i/12),
		timezone:   h.timezone,
		groups:     []string{"all-staff", strings.ToLower(dept)},
		status:     "active",
		host:       h,
		startDate:  time.Date(2015+g.rng.IntN(11), time.Month(1+g.rng.IntN(12)), 1+g.rng.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
		riskScore:  math.Round(g.rng.Float64()*g.rng.Float64()*1000) / 10,
	}
	if h.osFamily == "windows" {
		u.id = "S-1-5-21-3623811015-3361044348-30300820-" + strconv.Itoa(1100+i)
	}
	switch r := g.rng.Float64(); {
	case r < 0.08:
		u.contractor, u.status = true, "contractor"
		u.groups = append(u.groups, "contractors")
	case r < 0.12:
		// A leaver: notice given, last day a few weeks away.
		u.status = "notice"
		notice := DefaultStart.AddDate(0, 0, -g.rng.IntN(20))
		u.noticeDate = notice.Format(time.DateOnly)
		u.endDate = notice.AddDate(0, 1, 0).Format(time.DateOnly)
		u.groups = append(u.groups, "leavers")
	}
	if dept == "IT" || g.chance(0.03) {
		u.privileged = true
		u.groups = append(u.groups, "admins")
	}
	if g.chance(0.3) {
		m := usbModels[g.rng.IntN(len(usbModels))]
		m.serial = strings.ToUpper(g.hexString(8 + 2*g.rng.IntN(7)))
		m.label = g.pick(usbLabels)
		u.usb = &m
	}
	return u
}

// asciiFold strips the accents that login names do not carry.
func asciiFold(s string) string {
	r := strings.NewReplacer("ü", "u", "á", "a", "é", "e", "í", "i", "ó", "o", "'", "")
	return r.Replace(s)
}

func (g *Generator) userFields(u *user) *event.User {
	eu := &event.User{
		ID: u.id, Name: u.name, Domain: u.domain, Email: u.email, FullName: u.fullName,
		Department: u.department, Title: u.title, Manager: u.manager, Timezone: u.timezone,
		Groups:     append([]string(nil), u.groups...),
		Privileged: u.privileged, Contractor: u.contractor, RiskScore: u.riskScore,
		Employment: &event.Employment{
			Status: u.status, StartDate: u.startDate, NoticeDate: u.noticeDate, EndDate: u.endDate,
		},
	}
	if u.contractor {
		eu.Employment.Type = "contract"
	} else {
		eu.Employment.Type = "full-time"
	}
	if u.status == "notice" {
		eu.Watchlists = []string{"leavers"}
	}
	active := true
	eu.Active = &active
	return eu
}
