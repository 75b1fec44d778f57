package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

// AlertLine is one line of replay output: one rule of one alerting decision.
type AlertLine struct {
	Timestamp  time.Time `json:"@timestamp"`
	Rule       string    `json:"rule"`
	Severity   string    `json:"severity"`
	RiskScore  float64   `json:"risk_score"`
	DecisionID string    `json:"decision_id"`
	EventID    string    `json:"event_id"`
	Action     string    `json:"action"`
	User       nameRef   `json:"user"`
	Host       nameRef   `json:"host"`
	Message    string    `json:"message"`
	Bundle     string    `json:"bundle"`
}

type nameRef struct {
	Name string `json:"name"`
}

func (e *env) replayCmd() *cobra.Command {
	var bundlePath, eventsPath, format, alertsPath, pubKey, alg string
	var noProgress bool
	cmd := &cobra.Command{
		Use:   "replay --bundle B --events PATH [--alerts OUT.jsonl|-]",
		Short: "Replay recorded events through a bundle on event time and write the alerts it raises",
		Long: `Replay a file of recorded events (JSON lines, or one JSON array) through a
bundle, in file order and on event time, so last month's events give the
answers they would have given live. Alerts go to --alerts as JSON lines (one
per rule of each alerting decision); a summary goes to standard error. A
malformed line is reported with its line number and skipped; the exit code
is then 1, but every good event was still evaluated.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bundlePath == "" || eventsPath == "" {
				return &exitError{code: ExitUsage, err: errors.New("--bundle and --events are required")}
			}
			if format != "jsonl" && format != "json" {
				return &exitError{code: ExitUsage, err: fmt.Errorf("--format %q: want jsonl or json", format)}
			}
			p, err := e.compileBundle(bundlePath, pubKey, alg)
			if err != nil {
				return err
			}
			in, size, err := openInput(eventsPath, e.stdin)
			if err != nil {
				return cannot(err)
			}
			defer func() { _ = in.Close() }()
			out := io.Discard
			var outFile *os.File
			switch alertsPath {
			case "":
			case "-":
				out = e.stdout
			default:
				outFile, err = os.Create(alertsPath)
				if err != nil {
					return cannot(err)
				}
				defer func() { _ = outFile.Close() }()
				out = outFile
			}
			bw := bufio.NewWriterSize(out, 64<<10)
			st, err := e.replay(p, in, size, format, bw, noProgress)
			if ferr := bw.Flush(); err == nil && ferr != nil {
				err = cannot(ferr)
			}
			if outFile != nil {
				if cerr := outFile.Close(); err == nil && cerr != nil {
					err = cannot(cerr)
				}
			}
			st.print(e.stderr)
			if err != nil {
				return err
			}
			if st.bad > 0 {
				return failed("replay %s: %d malformed event(s) skipped", eventsPath, st.bad)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&bundlePath, "bundle", "", "bundle directory or .tar.gz")
	cmd.Flags().StringVar(&eventsPath, "events", "", "events file (JSON lines or a JSON array), or - for standard input")
	cmd.Flags().StringVar(&format, "format", "jsonl", "events file format: jsonl or json (an array)")
	cmd.Flags().StringVar(&alertsPath, "alerts", "", "write alerts as JSON lines to this file, or - for standard output")
	cmd.Flags().StringVar(&pubKey, "verification-key", "", "verify the bundle with this PEM public key")
	cmd.Flags().StringVar(&alg, "signing-alg", "ES256", algHelp)
	cmd.Flags().BoolVar(&noProgress, "no-progress", false, "never draw a progress bar")
	return cmd
}

type replayStats struct {
	events, bad, decisions, alerts int
	byRule                         map[string]int
	bySeverity                     map[string]int
	ruleSeverity                   map[string]string
	first, last                    time.Time
	elapsed                        time.Duration
	ruleErrors                     int
}

func (st *replayStats) print(w io.Writer) {
	fmt.Fprintf(w, "\nreplayed %d events (%d malformed) in %s", st.events, st.bad, st.elapsed.Round(time.Millisecond))
	if st.elapsed > 0 && st.events > 0 {
		fmt.Fprintf(w, " (%.0f events/s)", float64(st.events)/st.elapsed.Seconds())
	}
	fmt.Fprintln(w)
	if !st.first.IsZero() {
		fmt.Fprintf(w, "event time %s … %s\n", st.first.Format(time.RFC3339), st.last.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "%d decisions with findings, %d alert lines, %d rule evaluation errors\n", st.decisions, st.alerts, st.ruleErrors)
	if len(st.byRule) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tALERTS")
	rules := make([]string, 0, len(st.byRule))
	for r := range st.byRule {
		rules = append(rules, r)
	}
	sort.Slice(rules, func(i, j int) bool {
		if st.byRule[rules[i]] != st.byRule[rules[j]] {
			return st.byRule[rules[i]] > st.byRule[rules[j]]
		}
		return rules[i] < rules[j]
	})
	for _, r := range rules {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", r, st.ruleSeverity[r], st.byRule[r])
	}
	_ = tw.Flush()
	sev := make([]string, 0, len(st.bySeverity))
	for _, s := range []policies.Severity{policies.SeverityCritical, policies.SeverityHigh, policies.SeverityMedium, policies.SeverityLow, policies.SeverityInfo} {
		if n := st.bySeverity[string(s)]; n > 0 {
			sev = append(sev, fmt.Sprintf("%s %d", s, n))
		}
	}
	fmt.Fprintf(w, "by severity: %s\n", strings.Join(sev, ", "))
}

// countingReader counts bytes read, for the progress bar.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (e *env) replay(p *engine.Program, in io.Reader, size int64, format string, out *bufio.Writer, noProgress bool) (*replayStats, error) {
	st := &replayStats{byRule: map[string]int{}, bySeverity: map[string]int{}, ruleSeverity: map[string]string{}}
	start := time.Now()
	cr := &countingReader{r: in}
	progress := func() {}
	if f, ok := e.stderr.(*os.File); ok && !noProgress && size > 0 && term.IsTerminal(int(f.Fd())) {
		last := time.Time{}
		progress = func() {
			if time.Since(last) < 200*time.Millisecond {
				return
			}
			last = time.Now()
			pct := float64(cr.n) / float64(size)
			bar := strings.Repeat("█", int(pct*30)) + strings.Repeat("░", 30-int(pct*30))
			fmt.Fprintf(f, "\r%s %5.1f%% %d events, %d alerts", bar, pct*100, st.events, st.alerts)
		}
		defer fmt.Fprint(f, "\r\033[K")
	}
	enc := json.NewEncoder(out)
	ctx := context.Background()
	handle := func(line int, ev *event.Event, err error) error {
		if err != nil {
			st.bad++
			fmt.Fprintf(e.stderr, "events line %d: %v\n", line, err)
			return nil
		}
		ev.Normalize()
		st.events++
		if st.first.IsZero() || ev.Timestamp.Before(st.first) {
			st.first = ev.Timestamp
		}
		if ev.Timestamp.After(st.last) {
			st.last = ev.Timestamp
		}
		d, err := p.Evaluate(ctx, ev)
		if err != nil {
			st.bad++
			fmt.Fprintf(e.stderr, "events line %d: %v\n", line, err)
			return nil
		}
		st.ruleErrors += len(d.Errors)
		progress()
		if d.DecisionID == "" {
			return nil
		}
		st.decisions++
		if !d.Alert {
			return nil
		}
		for _, f := range d.Findings {
			st.alerts++
			st.byRule[f.Rule]++
			st.ruleSeverity[f.Rule] = f.Severity
			st.bySeverity[d.Severity]++
			if err := enc.Encode(AlertLine{
				Timestamp: ev.Timestamp, Rule: f.Rule, Severity: d.Severity, RiskScore: d.RiskScore,
				DecisionID: d.DecisionID, EventID: d.EventID, Action: d.Action,
				User: nameRef{d.UserName}, Host: nameRef{d.HostName}, Message: f.Message,
				Bundle: d.Bundle.Name + "@" + d.Bundle.Revision,
			}); err != nil {
				return cannot(fmt.Errorf("write alerts: %w", err))
			}
		}
		return nil
	}
	var err error
	if format == "json" {
		err = decodeArray(cr, handle)
	} else {
		err = event.DecodeStream(cr, handle)
	}
	st.elapsed = time.Since(start)
	var ee *exitError
	if err != nil && !errors.As(err, &ee) {
		err = cannot(fmt.Errorf("read events: %w", err))
	}
	return st, err
}

// decodeArray reads a JSON array of events, one element at a time.
func decodeArray(r io.Reader, fn func(int, *event.Event, error) error) error {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return errors.New("want a JSON array of events")
	}
	for i := 1; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
		ev, derr := event.Decode(raw)
		if err := fn(i, ev, derr); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}
