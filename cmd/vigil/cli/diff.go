package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

// maxUserRows is how many rule+user rows the text and Markdown diffs list;
// the JSON diff has them all.
const maxUserRows = 50

func (e *env) diffCmd() *cobra.Command {
	var src eventSource
	var gitDir string
	var markdown, jsonOut, failOnChange, noProgress bool
	cmd := &cobra.Command{
		Use:   "diff OLD NEW --events PATH [--dir DIR] [--format jsonl|json|cert] [--markdown|--json] [--fail-on-change]",
		Short: "Replay the same events through two bundles and show the alerts gained and lost",
		Long: `Replay recorded events through two bundles in lockstep (the events are read
once; each one goes through both) and print the alerts the new bundle gains
and loses, per rule and per rule and user. OLD and NEW are bundle
directories or .tar.gz files or, with --dir, two git revisions of that
bundle directory (for example HEAD~1 HEAD, or main HEAD), taken from the git
repository that holds it.

The table goes to standard output; --markdown prints it as Markdown ready
to paste into a pull request review, --json as JSON. The exit code is 0
whether or not the alerts differ, unless --fail-on-change is given.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if src.path == "" {
				return &exitError{code: ExitUsage, err: errors.New("--events is required")}
			}
			if err := src.check(); err != nil {
				return err
			}
			if markdown && jsonOut {
				return &exitError{code: ExitUsage, err: errors.New("--markdown and --json: choose one")}
			}
			sides := [2]DiffSide{{Label: args[0]}, {Label: args[1]}}
			paths := [2]string{args[0], args[1]}
			if gitDir != "" {
				tmp, err := os.MkdirTemp("", "vigil-diff-")
				if err != nil {
					return cannot(err)
				}
				defer func() { _ = os.RemoveAll(tmp) }()
				for i := range 2 {
					p, commit, err := materialise(gitDir, args[i], filepath.Join(tmp, fmt.Sprint(i)))
					if err != nil {
						return cannot(err)
					}
					paths[i], sides[i].Commit = p, commit
				}
			}
			var progs [2]*engine.Program
			for i := range 2 {
				p, err := e.compileSide(paths[i], &sides[i])
				if err != nil {
					return err
				}
				progs[i] = p
			}
			rep, err := e.diff(progs, &src, noProgress)
			if err != nil {
				// A comparison of part of the events is not shown: it could
				// be taken for the whole.
				return err
			}
			rep.Old.Label, rep.Old.Commit = sides[0].Label, sides[0].Commit
			rep.New.Label, rep.New.Commit = sides[1].Label, sides[1].Commit
			switch {
			case markdown:
				err = rep.Markdown(e.stdout)
			case jsonOut:
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(rep)
			default:
				err = rep.Text(e.stdout)
			}
			if err != nil {
				return cannot(err)
			}
			if rep.Malformed > 0 {
				return failed("policy diff: %d malformed event(s) skipped", rep.Malformed)
			}
			if failOnChange && rep.Changed() {
				return failed("policy diff: alerts changed: %d gained, %d lost, %d with a changed severity", rep.Gained, rep.Lost, rep.SeverityChanged)
			}
			return nil
		},
	}
	src.addFlags(cmd)
	cmd.Flags().StringVar(&gitDir, "dir", "", "OLD and NEW are git revisions of this bundle directory")
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print Markdown, for a pull request review")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	cmd.Flags().BoolVar(&failOnChange, "fail-on-change", false, "exit 1 when any alert is gained or lost or changes severity")
	cmd.Flags().BoolVar(&noProgress, "no-progress", false, "never draw a progress bar")
	return cmd
}

// compileSide loads and compiles one side of a diff, naming it as the
// command line did (a git revision rather than its temporary directory).
func (e *env) compileSide(path string, side *DiffSide) (*engine.Program, error) {
	name := side.Label
	if side.Commit != "" {
		name = "revision " + side.title()
	}
	b, err := policies.Load(path, policies.WithVigilVersion(Version))
	if err != nil {
		return nil, cannot(fmt.Errorf("load bundle %s: %w", name, err))
	}
	p, err := engine.Compile(b, engine.WithLogger(e.logger))
	if err != nil {
		return nil, cannot(fmt.Errorf("bundle %s: %w", name, err))
	}
	return p, nil
}

// DiffReport compares the alerts two bundles raise on the same events.
type DiffReport struct {
	Old    DiffSide     `json:"old"`
	New    DiffSide     `json:"new"`
	Source SourceReport `json:"source"`
	// Events counts the events evaluated through both bundles; Malformed
	// those skipped (an event either bundle rejects is skipped for both).
	Events    int64 `json:"events"`
	Malformed int64 `json:"malformed"`
	// Gained counts the alerts (event and rule) only the new bundle raises,
	// Lost those only the old one raises, and SeverityChanged those both
	// raise with a different decision severity.
	Gained          int64 `json:"gained"`
	Lost            int64 `json:"lost"`
	SeverityChanged int64 `json:"severity_changed"`
	// Rules has every rule that alerted on either side, was added or was
	// removed: changed rules first.
	Rules []AlertDiff `json:"rules"`
	// RuleUsers has every rule and user whose alerts changed.
	RuleUsers []AlertDiff `json:"rule_users"`
}

// DiffSide is one of the two bundles compared.
type DiffSide struct {
	// Label is the path or git revision given on the command line.
	Label string `json:"label"`
	// Commit is the git commit of a revision (with --dir).
	Commit string        `json:"commit,omitempty"`
	Report *ReplayReport `json:"report"`
}

// AlertDiff counts the alerts of one rule (or one rule and user) on both
// sides.
type AlertDiff struct {
	Rule string `json:"rule"`
	User string `json:"user,omitempty"`
	// Status is "added" or "removed" for a rule in one bundle only,
	// "changed" when alerts were gained, lost or changed severity, else
	// "same".
	Status          string `json:"status"`
	Old             int64  `json:"old"`
	New             int64  `json:"new"`
	Gained          int64  `json:"gained"`
	Lost            int64  `json:"lost"`
	SeverityChanged int64  `json:"severity_changed"`
}

func (a *AlertDiff) changed() bool { return a.Gained+a.Lost+a.SeverityChanged > 0 }

// Changed reports whether any alert was gained, lost or changed severity.
func (r *DiffReport) Changed() bool { return r.Gained+r.Lost+r.SeverityChanged > 0 }

// diff reads the events of src once and evaluates each through both
// programs.
func (e *env) diff(progs [2]*engine.Program, src *eventSource, noProgress bool) (*DiffReport, error) {
	rep := &DiffReport{
		Old: DiffSide{Report: newReplayReport(progs[0], src.report())},
		New: DiffSide{Report: newReplayReport(progs[1], src.report())},
	}
	rules := map[string]*AlertDiff{}
	pairs := map[[2]string]*AlertDiff{}
	row := func(m map[string]*AlertDiff, rule string) *AlertDiff {
		if a := m[rule]; a != nil {
			return a
		}
		a := &AlertDiff{Rule: rule}
		m[rule] = a
		return a
	}
	ctx := context.Background()
	status := func() string {
		return fmt.Sprintf("%d events, %d → %d alerts", rep.Old.Report.Events, rep.Old.Report.Alerts, rep.New.Report.Alerts)
	}
	start := time.Now()
	srcRep, bad, err := e.readEvents(src, noProgress, status, func(ev *event.Event) error {
		dOld, err := progs[0].Evaluate(ctx, ev)
		if err != nil {
			return &skipError{err: fmt.Errorf("old bundle: %w", err)}
		}
		dNew, err := progs[1].Evaluate(ctx, ev)
		if err != nil {
			return &skipError{err: fmt.Errorf("new bundle: %w", err)}
		}
		rep.Old.Report.add(ev, &dOld)
		rep.New.Report.add(ev, &dNew)
		oldAlerts, newAlerts := alertRules(&dOld), alertRules(&dNew)
		if len(oldAlerts) == 0 && len(newAlerts) == 0 {
			return nil
		}
		user := userOf(&dNew)
		if len(newAlerts) == 0 {
			user = userOf(&dOld)
		}
		for rule := range union(oldAlerts, newAlerts) {
			for _, a := range []*AlertDiff{row(rules, rule), pairRow(pairs, rule, user)} {
				countAlert(a, oldAlerts, newAlerts, dOld.Severity, dNew.Severity)
			}
		}
		return nil
	})
	elapsed := time.Since(start)
	rep.Old.Report.finish(bad, srcRep, elapsed)
	rep.New.Report.finish(bad, srcRep, elapsed)
	rep.Source, rep.Events, rep.Malformed = srcRep, rep.New.Report.Events, bad

	oldIDs, newIDs := idSet(progs[0].RuleIDs()), idSet(progs[1].RuleIDs())
	for id := range union(oldIDs, newIDs) {
		row(rules, id) // added and removed rules are listed even without alerts
	}
	for _, a := range rules {
		a.Status = ruleStatus(a, oldIDs, newIDs)
		if a.Status == "same" && a.Old == 0 && a.New == 0 {
			continue
		}
		rep.Gained += a.Gained
		rep.Lost += a.Lost
		rep.SeverityChanged += a.SeverityChanged
		rep.Rules = append(rep.Rules, *a)
	}
	sortDiffs(rep.Rules)
	for _, a := range pairs {
		if a.changed() {
			a.Status = ruleStatus(a, oldIDs, newIDs)
			rep.RuleUsers = append(rep.RuleUsers, *a)
		}
	}
	// Rule and user rows follow the order of the rule rows, so a rule's
	// users read together.
	rank := make(map[string]int, len(rep.Rules))
	for i, a := range rep.Rules {
		rank[a.Rule] = i
	}
	sortDiffs(rep.RuleUsers)
	sort.SliceStable(rep.RuleUsers, func(i, j int) bool { return rank[rep.RuleUsers[i].Rule] < rank[rep.RuleUsers[j].Rule] })
	if rep.Rules == nil {
		rep.Rules = []AlertDiff{}
	}
	if rep.RuleUsers == nil {
		rep.RuleUsers = []AlertDiff{}
	}
	return rep, err
}

func pairRow(m map[[2]string]*AlertDiff, rule, user string) *AlertDiff {
	k := [2]string{rule, user}
	if a := m[k]; a != nil {
		return a
	}
	a := &AlertDiff{Rule: rule, User: user}
	m[k] = a
	return a
}

// countAlert counts one event's alert from one rule on both sides.
func countAlert(a *AlertDiff, oldAlerts, newAlerts map[string]bool, oldSev, newSev string) {
	inOld, inNew := oldAlerts[a.Rule], newAlerts[a.Rule]
	switch {
	case inOld && inNew:
		a.Old++
		a.New++
		if oldSev != newSev {
			a.SeverityChanged++
		}
	case inOld:
		a.Old++
		a.Lost++
	case inNew:
		a.New++
		a.Gained++
	}
}

// alertRules is the set of rules an alerting decision names.
func alertRules(d *engine.Decision) map[string]bool {
	if !d.Alert {
		return nil
	}
	out := make(map[string]bool, len(d.Findings))
	for _, f := range d.Findings {
		out[f.Rule] = true
	}
	return out
}

func union(a, b map[string]bool) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func idSet(ids []string) map[string]bool {
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out
}

func ruleStatus(a *AlertDiff, oldIDs, newIDs map[string]bool) string {
	switch {
	case !oldIDs[a.Rule] && newIDs[a.Rule]:
		return "added"
	case oldIDs[a.Rule] && !newIDs[a.Rule]:
		return "removed"
	case a.changed():
		return "changed"
	}
	return "same"
}

// sortDiffs puts the largest changes first, then the most alerts.
func sortDiffs(list []AlertDiff) {
	sort.Slice(list, func(i, j int) bool {
		a, b := &list[i], &list[j]
		ca, cb := a.Gained+a.Lost+a.SeverityChanged, b.Gained+b.Lost+b.SeverityChanged
		if ca != cb {
			return ca > cb
		}
		if ma, mb := max(a.Old, a.New), max(b.Old, b.New); ma != mb {
			return ma > mb
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.User < b.User
	})
}

func (s *DiffSide) title() string {
	t := s.Label
	if s.Commit != "" {
		t += " (" + s.Commit[:min(12, len(s.Commit))] + ")"
	}
	return t
}

// signed renders a gain or a loss: "+3", "-2", "0".
func signed(n int64, sign string) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%s%d", sign, n)
}

// Text writes the diff as plain text with aligned tables.
func (r *DiffReport) Text(w io.Writer) error {
	fmt.Fprintf(w, "policy diff on %d events from %s (%s), %d malformed\n", r.Events, r.Source.Path, r.Source.Format, r.Malformed)
	for _, l := range r.Source.sourceLines() {
		fmt.Fprintln(w, l)
	}
	for _, s := range []struct {
		name string
		side *DiffSide
	}{{"old", &r.Old}, {"new", &r.New}} {
		fmt.Fprintf(w, "%s: %s %s: %d alert lines, %d rule evaluation errors\n", s.name, s.side.title(), s.side.Report.Bundle, s.side.Report.Alerts, s.side.Report.RuleErrors)
	}
	if r.Changed() {
		fmt.Fprintf(w, "alerts: %d → %d: %s gained, %s lost, %d with a changed severity\n",
			r.Old.Report.Alerts, r.New.Report.Alerts, signed(r.Gained, "+"), signed(r.Lost, "-"), r.SeverityChanged)
	} else {
		fmt.Fprintf(w, "no change: both bundles raise the same %d alerts\n", r.New.Report.Alerts)
	}
	if len(r.Rules) > 0 {
		fmt.Fprintln(w)
		if err := diffTable(w, r.Rules, false); err != nil {
			return err
		}
	}
	if len(r.RuleUsers) > 0 {
		fmt.Fprintln(w)
		if err := diffTable(w, r.RuleUsers[:min(maxUserRows, len(r.RuleUsers))], true); err != nil {
			return err
		}
		if n := len(r.RuleUsers) - maxUserRows; n > 0 {
			fmt.Fprintf(w, "… and %d more rule and user rows (see --json)\n", n)
		}
	}
	return nil
}

func diffTable(w io.Writer, rows []AlertDiff, users bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if users {
		fmt.Fprintln(tw, "RULE\tUSER\tOLD\tNEW\tGAINED\tLOST\tSEVERITY CHANGED")
	} else {
		fmt.Fprintln(tw, "RULE\tSTATUS\tOLD\tNEW\tGAINED\tLOST\tSEVERITY CHANGED")
	}
	for _, a := range rows {
		second := a.Status
		if users {
			second = a.User
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%d\n", a.Rule, second, a.Old, a.New, signed(a.Gained, "+"), signed(a.Lost, "-"), a.SeverityChanged)
	}
	return tw.Flush()
}

// Markdown writes the diff as Markdown, ready to paste into a pull request
// review.
func (r *DiffReport) Markdown(w io.Writer) error {
	fmt.Fprintf(w, "### Policy diff: %s → %s\n\n", mdCode(r.Old.Label), mdCode(r.New.Label))
	fmt.Fprintf(w, "Replayed %d events from %s (%s, %d malformed) through both bundles.\n\n", r.Events, mdCode(r.Source.Path), r.Source.Format, r.Malformed)
	for _, l := range r.Source.sourceLines() {
		fmt.Fprintf(w, "- %s\n", mdEscape(l))
	}
	if r.Source.Rows != nil {
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "| | Old | New |\n|---|---|---|\n")
	side := func(s *DiffSide) string {
		out := mdCode(s.Report.Bundle)
		if s.Commit != "" {
			out += " at " + mdCode(s.Commit[:min(12, len(s.Commit))])
		}
		return out
	}
	fmt.Fprintf(w, "| Bundle | %s | %s |\n", side(&r.Old), side(&r.New))
	fmt.Fprintf(w, "| Alert lines | %d | %d |\n", r.Old.Report.Alerts, r.New.Report.Alerts)
	fmt.Fprintf(w, "| Alerting decisions | %d | %d |\n", r.Old.Report.AlertDecisions, r.New.Report.AlertDecisions)
	fmt.Fprintf(w, "| Rule evaluation errors | %d | %d |\n\n", r.Old.Report.RuleErrors, r.New.Report.RuleErrors)
	if r.Changed() {
		fmt.Fprintf(w, "**%s alerts gained, %s lost**, %d with a changed severity.\n", signed(r.Gained, "+"), signed(r.Lost, "−"), r.SeverityChanged)
	} else {
		fmt.Fprintf(w, "**No change**: both bundles raise the same %d alerts.\n", r.New.Report.Alerts)
	}
	if len(r.Rules) > 0 {
		fmt.Fprint(w, "\n| Rule | Status | Old | New | Gained | Lost | Severity changed |\n|---|---|--:|--:|--:|--:|--:|\n")
		for _, a := range r.Rules {
			fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %s | %d |\n", mdCode(a.Rule), a.Status, a.Old, a.New, signed(a.Gained, "+"), signed(a.Lost, "−"), a.SeverityChanged)
		}
	}
	if len(r.RuleUsers) > 0 {
		fmt.Fprintf(w, "\n<details><summary>By rule and user (%d changed)</summary>\n\n", len(r.RuleUsers))
		fmt.Fprint(w, "| Rule | User | Old | New | Gained | Lost | Severity changed |\n|---|---|--:|--:|--:|--:|--:|\n")
		for _, a := range r.RuleUsers[:min(maxUserRows, len(r.RuleUsers))] {
			fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %s | %d |\n", mdCode(a.Rule), mdEscape(a.User), a.Old, a.New, signed(a.Gained, "+"), signed(a.Lost, "−"), a.SeverityChanged)
		}
		if n := len(r.RuleUsers) - maxUserRows; n > 0 {
			fmt.Fprintf(w, "\n… and %d more (see `vigil policy diff --json`).\n", n)
		}
		fmt.Fprint(w, "\n</details>\n")
	}
	return nil
}

// materialise writes the bundle directory dir as it was at git revision rev
// into dest, using the git repository that holds dir. It returns dest and
// the revision's commit.
func materialise(dir, rev, dest string) (string, string, error) {
	top, rel, err := gitLocate(dir)
	if err != nil {
		return "", "", err
	}
	commit, err := git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return "", "", fmt.Errorf("git revision %q: not a commit in %s", rev, top)
	}
	treeish := commit + ":" + rel
	if kind, err := git(top, "cat-file", "-t", treeish); err != nil || kind != "tree" {
		return "", "", fmt.Errorf("git revision %q: no directory %s in commit %s", rev, rel, commit[:12])
	}
	cmd := exec.Command("git", "-C", top, "archive", "--format=tar", treeish)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", "", err
	}
	if err := cmd.Start(); err != nil {
		return "", "", fmt.Errorf("git archive: %w", err)
	}
	xerr := untar(out, dest)
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return "", "", fmt.Errorf("git archive %s: %w: %s", treeish, err, strings.TrimSpace(stderr.String()))
	}
	if xerr != nil {
		return "", "", fmt.Errorf("git archive %s: %w", treeish, xerr)
	}
	return dest, commit, nil
}

// gitLocate finds the top of the git repository holding dir (which need
// not exist in the working tree) and dir's path inside it, slash-separated
// ("" for the top itself).
func gitLocate(dir string) (top, rel string, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	existing, rest := abs, ""
	for {
		if fi, err := os.Stat(existing); err == nil && fi.IsDir() {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			return "", "", fmt.Errorf("--dir %s: no such directory", dir)
		}
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = parent
	}
	top, err = git(existing, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", "", fmt.Errorf("--dir %s: not in a git repository: %w", dir, err)
	}
	realTop, err := filepath.EvalSymlinks(top)
	if err != nil {
		return "", "", err
	}
	realDir, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return "", "", err
	}
	r, err := filepath.Rel(realTop, filepath.Join(realDir, rest))
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", "", fmt.Errorf("--dir %s: outside the git repository %s", dir, top)
	}
	if r == "." {
		r = ""
	}
	return top, filepath.ToSlash(r), nil
}

// git runs a git command in dir and returns its trimmed standard output.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("git %s: %w: %s", args[0], err, msg)
		}
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// untar extracts the regular files and directories of a tar stream into
// dest. Entries that would land outside dest, and links, are refused.
func untar(r io.Reader, dest string) error {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(h.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("%s: path outside the bundle", h.Name)
		}
		target := filepath.Join(dest, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeXGlobalHeader:
			// git archive records the commit id here.
		default:
			return fmt.Errorf("%s: a link or special file; bundles hold only files and directories", h.Name)
		}
	}
}
