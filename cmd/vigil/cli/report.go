package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

// topUsers is how many users the text and Markdown reports list.
const topUsers = 10

// ReplayReport sums up one replay of recorded events through one bundle:
// what was read, what fired, for whom and when. replay prints it; policy
// diff builds one per bundle.
type ReplayReport struct {
	// Bundle is the bundle's name@revision.
	Bundle string       `json:"bundle"`
	Source SourceReport `json:"source"`
	// Events counts the events evaluated; Malformed those that could not be
	// decoded, validated or evaluated, and were skipped.
	Events    int64 `json:"events"`
	Malformed int64 `json:"malformed"`
	// Decisions counts the decisions with findings, AlertDecisions those
	// with alert: true, and Alerts the alert lines (one per finding of an
	// alerting decision).
	Decisions      int64 `json:"decisions"`
	AlertDecisions int64 `json:"alert_decisions"`
	Alerts         int64 `json:"alerts"`
	// RuleErrors counts the rule evaluation errors met on the way.
	RuleErrors int64 `json:"rule_errors"`
	// FirstEvent and LastEvent bound the event time of the events
	// evaluated, FirstAlert and LastAlert that of the alerts.
	FirstEvent time.Time `json:"first_event,omitzero"`
	LastEvent  time.Time `json:"last_event,omitzero"`
	FirstAlert time.Time `json:"first_alert,omitzero"`
	LastAlert  time.Time `json:"last_alert,omitzero"`
	// Elapsed is the wall-clock time of the replay; EventsPerSecond the
	// throughput.
	Elapsed         time.Duration `json:"elapsed_ns"`
	EventsPerSecond float64       `json:"events_per_second"`
	// Rules are the rules that alerted, most alerts first.
	Rules []RuleAlerts `json:"rules"`
	// BySeverity counts alert lines by the decision's severity.
	BySeverity map[string]int64 `json:"by_severity"`
	// Users are the users with alerts, highest summed risk score first.
	Users []UserAlerts `json:"users"`

	rules map[string]*RuleAlerts
	users map[string]*UserAlerts
	// ruleUsers records which users each rule alerted for.
	ruleUsers map[string]map[string]bool
}

// SourceReport says where the events came from. For --format cert it also
// has the rows read per file, the rows skipped and why, and the number of
// users met.
type SourceReport struct {
	Format string `json:"format"`
	Path   string `json:"path"`
	// Rows counts the rows read per file (cert only).
	Rows map[string]int64 `json:"rows,omitempty"`
	// Skipped counts the rows skipped, by reason (cert only).
	Skipped map[string]int64 `json:"skipped,omitempty"`
	// Events counts the events the reader produced, and Users the users
	// its directory snapshots know (cert only).
	Events int64 `json:"events,omitempty"`
	Users  int   `json:"users,omitempty"`
}

// RuleAlerts counts one rule's alerts.
type RuleAlerts struct {
	Rule string `json:"rule"`
	// Severity is the rule's own severity.
	Severity string `json:"severity"`
	Alerts   int64  `json:"alerts"`
	// Users counts the distinct users it alerted for.
	Users int `json:"users"`
}

// UserAlerts counts one user's alerts.
type UserAlerts struct {
	User string `json:"user"`
	// Risk is the sum of the risk scores of the user's alerting decisions
	// (each decision once, however many rules it has).
	Risk      float64          `json:"risk"`
	Decisions int64            `json:"decisions"`
	Alerts    int64            `json:"alerts"`
	Rules     map[string]int64 `json:"rules"`
}

func newReplayReport(p *engine.Program, src SourceReport) *ReplayReport {
	return &ReplayReport{
		Bundle: p.Name() + "@" + p.Revision(), Source: src,
		Rules: []RuleAlerts{}, Users: []UserAlerts{}, BySeverity: map[string]int64{},
		rules: map[string]*RuleAlerts{}, users: map[string]*UserAlerts{}, ruleUsers: map[string]map[string]bool{},
	}
}

// noUser names the user of events without one.
const noUser = "(no user)"

// userOf is the user name a report files a decision under.
func userOf(d *engine.Decision) string {
	if d.UserName == "" {
		return noUser
	}
	return d.UserName
}

// add records one evaluated event and its decision.
func (r *ReplayReport) add(ev *event.Event, d *engine.Decision) {
	r.Events++
	if r.FirstEvent.IsZero() || ev.Timestamp.Before(r.FirstEvent) {
		r.FirstEvent = ev.Timestamp
	}
	if ev.Timestamp.After(r.LastEvent) {
		r.LastEvent = ev.Timestamp
	}
	r.RuleErrors += int64(len(d.Errors))
	if d.DecisionID == "" {
		return
	}
	r.Decisions++
	if !d.Alert {
		return
	}
	r.AlertDecisions++
	if r.FirstAlert.IsZero() || ev.Timestamp.Before(r.FirstAlert) {
		r.FirstAlert = ev.Timestamp
	}
	if ev.Timestamp.After(r.LastAlert) {
		r.LastAlert = ev.Timestamp
	}
	user := userOf(d)
	u := r.users[user]
	if u == nil {
		u = &UserAlerts{User: user, Rules: map[string]int64{}}
		r.users[user] = u
	}
	u.Decisions++
	u.Risk += d.RiskScore
	for _, f := range d.Findings {
		r.Alerts++
		r.BySeverity[d.Severity]++
		ra := r.rules[f.Rule]
		if ra == nil {
			ra = &RuleAlerts{Rule: f.Rule}
			r.rules[f.Rule] = ra
			r.ruleUsers[f.Rule] = map[string]bool{}
		}
		ra.Severity = f.Severity
		ra.Alerts++
		r.ruleUsers[f.Rule][user] = true
		u.Alerts++
		u.Rules[f.Rule]++
	}
}

// finish fills the sorted lists and the throughput.
func (r *ReplayReport) finish(malformed int64, src SourceReport, elapsed time.Duration) {
	r.Malformed = malformed
	r.Source = src
	r.Elapsed = elapsed
	if elapsed > 0 {
		r.EventsPerSecond = float64(r.Events) / elapsed.Seconds()
	}
	r.Rules = r.Rules[:0]
	for id, ra := range r.rules {
		ra.Users = len(r.ruleUsers[id])
		r.Rules = append(r.Rules, *ra)
	}
	sort.Slice(r.Rules, func(i, j int) bool {
		if r.Rules[i].Alerts != r.Rules[j].Alerts {
			return r.Rules[i].Alerts > r.Rules[j].Alerts
		}
		return r.Rules[i].Rule < r.Rules[j].Rule
	})
	r.Users = r.Users[:0]
	for _, u := range r.users {
		r.Users = append(r.Users, *u)
	}
	sort.Slice(r.Users, func(i, j int) bool {
		a, b := r.Users[i], r.Users[j]
		if a.Risk != b.Risk {
			return a.Risk > b.Risk
		}
		if a.Alerts != b.Alerts {
			return a.Alerts > b.Alerts
		}
		return a.User < b.User
	})
}

// severityLine lists alert lines by decision severity, most serious first.
func (r *ReplayReport) severityLine() string {
	var parts []string
	for _, s := range []policies.Severity{policies.SeverityCritical, policies.SeverityHigh, policies.SeverityMedium, policies.SeverityLow, policies.SeverityInfo} {
		if n := r.BySeverity[string(s)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
	}
	for s, n := range r.BySeverity {
		if policies.Severity(s).Rank() < 0 && n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
	}
	return strings.Join(parts, ", ")
}

func (r *ReplayReport) throughput() string {
	s := fmt.Sprintf("in %s", r.Elapsed.Round(time.Millisecond))
	if r.Elapsed > 0 && r.Events > 0 {
		s += fmt.Sprintf(" (%.0f events/s)", r.EventsPerSecond)
	}
	return s
}

// sourceLines describes a cert source: rows per file, rows skipped and why.
func (s *SourceReport) sourceLines() []string {
	if s.Rows == nil && s.Skipped == nil {
		return nil
	}
	var total int64
	for _, n := range s.Rows {
		total += n
	}
	lines := []string{fmt.Sprintf("%s %s: %d rows read (%s), %d events, %d users in the directory snapshots",
		s.Format, s.Path, total, countList(s.Rows), s.Events, s.Users)}
	var skipped int64
	for _, n := range s.Skipped {
		skipped += n
	}
	if skipped > 0 {
		lines = append(lines, fmt.Sprintf("%d rows skipped: %s", skipped, countList(s.Skipped)))
	} else {
		lines = append(lines, "0 rows skipped")
	}
	return lines
}

// countList renders a map of counts as "a 3, b 1", largest first.
func countList(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// score renders a risk score without exponent or float noise.
func score(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

// userRules lists a user's rules, most alerts first.
func userRules(u *UserAlerts) string {
	return countList(u.Rules)
}

func usersNoun(n int) string {
	if n == 1 {
		return "1 user"
	}
	return fmt.Sprintf("%d users", n)
}

// Text writes the report as plain text with aligned tables.
func (r *ReplayReport) Text(w io.Writer) error {
	fmt.Fprintf(w, "\nreplayed %d events (%d malformed) %s\n", r.Events, r.Malformed, r.throughput())
	for _, l := range r.Source.sourceLines() {
		fmt.Fprintln(w, l)
	}
	if !r.FirstEvent.IsZero() {
		fmt.Fprintf(w, "event time %s … %s\n", r.FirstEvent.Format(time.RFC3339), r.LastEvent.Format(time.RFC3339))
	}
	if !r.FirstAlert.IsZero() {
		fmt.Fprintf(w, "alert time %s … %s\n", r.FirstAlert.Format(time.RFC3339), r.LastAlert.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "%d decisions with findings, %d alert lines, %d rule evaluation errors\n", r.Decisions, r.Alerts, r.RuleErrors)
	if len(r.Rules) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tALERTS\tUSERS")
	for _, ra := range r.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", ra.Rule, ra.Severity, ra.Alerts, ra.Users)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "by severity: %s\n", r.severityLine())
	fmt.Fprintf(w, "%s with alerts; top %d by summed risk score:\n", usersNoun(len(r.Users)), min(topUsers, len(r.Users)))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tRISK\tDECISIONS\tALERTS\tRULES")
	for i := range r.Users[:min(topUsers, len(r.Users))] {
		u := &r.Users[i]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", u.User, score(u.Risk), u.Decisions, u.Alerts, userRules(u))
	}
	return tw.Flush()
}

// mdEscape makes s safe inside a Markdown table cell.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", "", "`", "'", "<", "&lt;", ">", "&gt;").Replace(s)
}

// mdCode renders s as inline code in a table cell.
func mdCode(s string) string {
	return "`" + strings.NewReplacer("`", "'", "|", `\|`, "\n", " ").Replace(s) + "`"
}

// Markdown writes the report as Markdown, for an issue or a pull request.
func (r *ReplayReport) Markdown(w io.Writer) error {
	fmt.Fprintf(w, "### Replay of %s\n\n", mdCode(r.Bundle))
	fmt.Fprintln(w, "| | |")
	fmt.Fprintln(w, "|---|---|")
	fmt.Fprintf(w, "| Events | %s (%s): %d evaluated, %d malformed, %s |\n", mdCode(r.Source.Path), r.Source.Format, r.Events, r.Malformed, r.throughput())
	for _, l := range r.Source.sourceLines() {
		fmt.Fprintf(w, "| Source | %s |\n", mdEscape(l))
	}
	if !r.FirstEvent.IsZero() {
		fmt.Fprintf(w, "| Event time | %s … %s |\n", r.FirstEvent.Format(time.RFC3339), r.LastEvent.Format(time.RFC3339))
	}
	if !r.FirstAlert.IsZero() {
		fmt.Fprintf(w, "| Alert time | %s … %s |\n", r.FirstAlert.Format(time.RFC3339), r.LastAlert.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "| Decisions | %d with findings, %d alerting |\n", r.Decisions, r.AlertDecisions)
	fmt.Fprintf(w, "| Alert lines | %d |\n", r.Alerts)
	if len(r.BySeverity) > 0 {
		fmt.Fprintf(w, "| By severity | %s |\n", r.severityLine())
	}
	fmt.Fprintf(w, "| Rule evaluation errors | %d |\n", r.RuleErrors)
	if len(r.Rules) == 0 {
		return nil
	}
	fmt.Fprint(w, "\n#### Alerts by rule\n\n| Rule | Severity | Alerts | Users |\n|---|---|--:|--:|\n")
	for _, ra := range r.Rules {
		fmt.Fprintf(w, "| %s | %s | %d | %d |\n", mdCode(ra.Rule), mdEscape(ra.Severity), ra.Alerts, ra.Users)
	}
	fmt.Fprintf(w, "\n#### Top users by summed risk score (%d of %s with alerts)\n\n", min(topUsers, len(r.Users)), usersNoun(len(r.Users)))
	fmt.Fprint(w, "| User | Risk | Decisions | Alerts | Rules |\n|---|--:|--:|--:|---|\n")
	for i := range r.Users[:min(topUsers, len(r.Users))] {
		u := &r.Users[i]
		fmt.Fprintf(w, "| %s | %s | %d | %d | %s |\n", mdEscape(u.User), score(u.Risk), u.Decisions, u.Alerts, mdEscape(userRules(u)))
	}
	return nil
}

// JSON writes the report as indented JSON.
func (r *ReplayReport) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// write writes the report in a --report format.
func (r *ReplayReport) write(w io.Writer, format string) error {
	switch format {
	case "markdown":
		return r.Markdown(w)
	case "json":
		return r.JSON(w)
	}
	return r.Text(w)
}
