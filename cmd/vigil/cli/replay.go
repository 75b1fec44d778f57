package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/cert"
	"github.com/vigil-itm/vigil/internal/atomicfile"
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
	var bundlePath, alertsPath, pubKey, alg, reportFormat, reportOut string
	var src eventSource
	var noProgress bool
	cmd := &cobra.Command{
		Use:   "replay --bundle B --events PATH [--alerts OUT.jsonl|-] [--report text|markdown|json]",
		Short: "Replay recorded events through a bundle on event time and write the alerts it raises",
		Long: `Replay recorded events (JSON lines, one JSON array, or a CERT insider threat
dataset directory) through a bundle, in order and on event time, so last
month's events give the answers they would have given live. Alerts go to
--alerts as JSON lines (one per rule of each alerting decision); a report
(alerts per rule and per user, top users by risk, event and alert time,
throughput) goes to standard error, or to --report-out. A malformed event
is reported with its line number and skipped; the exit code is then 1, but
every good event was still evaluated.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bundlePath == "" || src.path == "" {
				return &exitError{code: ExitUsage, err: errors.New("--bundle and --events are required")}
			}
			if err := src.check(); err != nil {
				return err
			}
			if err := checkReportFormat(reportFormat); err != nil {
				return err
			}
			p, err := e.compileBundle(bundlePath, pubKey, alg)
			if err != nil {
				return err
			}
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
			rep, err := e.replay(p, &src, bw, noProgress)
			if ferr := bw.Flush(); err == nil && ferr != nil {
				err = cannot(ferr)
			}
			if outFile != nil {
				if cerr := outFile.Close(); err == nil && cerr != nil {
					err = cannot(cerr)
				}
			}
			if rerr := e.writeReport(rep, reportFormat, reportOut); err == nil && rerr != nil {
				err = rerr
			}
			if err != nil {
				return err
			}
			if rep.Malformed > 0 {
				return failed("replay %s: %d malformed event(s) skipped", src.path, rep.Malformed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&bundlePath, "bundle", "", "bundle directory or .tar.gz")
	src.addFlags(cmd)
	cmd.Flags().StringVar(&alertsPath, "alerts", "", "write alerts as JSON lines to this file, or - for standard output")
	cmd.Flags().StringVar(&reportFormat, "report", "text", "report format: text, markdown or json")
	cmd.Flags().StringVar(&reportOut, "report-out", "", "write the report to this file instead of standard error")
	cmd.Flags().StringVar(&pubKey, "verification-key", "", "verify the bundle with this PEM public key")
	cmd.Flags().StringVar(&alg, "signing-alg", "ES256", algHelp)
	cmd.Flags().BoolVar(&noProgress, "no-progress", false, "never draw a progress bar")
	return cmd
}

func checkReportFormat(format string) error {
	switch format {
	case "text", "markdown", "json":
		return nil
	}
	return &exitError{code: ExitUsage, err: fmt.Errorf("--report %q: want text, markdown or json", format)}
}

// writeReport writes a replay report to standard error, or to a file with a
// one-line note on standard error.
func (e *env) writeReport(rep *ReplayReport, format, path string) error {
	if path == "" {
		if err := rep.write(e.stderr, format); err != nil {
			return cannot(fmt.Errorf("write report: %w", err))
		}
		return nil
	}
	var buf bytes.Buffer
	if err := rep.write(&buf, format); err != nil {
		return cannot(fmt.Errorf("write report: %w", err))
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return cannot(err)
	}
	fmt.Fprintf(e.stderr, "replayed %d events (%d malformed) %s: %d alert lines; %s report in %s\n",
		rep.Events, rep.Malformed, rep.throughput(), rep.Alerts, format, path)
	return nil
}

// replay evaluates every event of src through p, writes an alert line per
// finding of each alerting decision to out, and reports on the run.
func (e *env) replay(p *engine.Program, src *eventSource, out *bufio.Writer, noProgress bool) (*ReplayReport, error) {
	rep := newReplayReport(p, src.report())
	enc := json.NewEncoder(out)
	ctx := context.Background()
	status := func() string { return fmt.Sprintf("%d events, %d alerts", rep.Events, rep.Alerts) }
	start := time.Now()
	srcRep, bad, err := e.readEvents(src, noProgress, status, func(ev *event.Event) error {
		d, err := p.Evaluate(ctx, ev)
		if err != nil {
			return &skipError{err: err}
		}
		rep.add(ev, &d)
		if !d.Alert {
			return nil
		}
		for _, f := range d.Findings {
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
	})
	rep.finish(bad, srcRep, time.Since(start))
	return rep, err
}

// eventSource is where replay and policy diff read events from: a file of
// JSON lines or a JSON array (or standard input), or a CERT insider threat
// dataset directory.
type eventSource struct {
	path, format string
	cert         certFlags
}

func (s *eventSource) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.path, "events", "", "events file (JSON lines or a JSON array), - for standard input, or a CERT dataset directory")
	cmd.Flags().StringVar(&s.format, "format", "jsonl", "events format: jsonl, json (an array) or cert (a CERT insider threat dataset directory)")
	s.cert.addFlags(cmd)
}

// check rejects a bad --format, and standard input for a directory format.
func (s *eventSource) check() error {
	switch s.format {
	case "jsonl", "json":
		return nil
	case "cert":
		if s.path == "-" {
			return &exitError{code: ExitUsage, err: errors.New("--format cert reads a directory, not standard input")}
		}
		return s.cert.check()
	}
	return &exitError{code: ExitUsage, err: fmt.Errorf("--format %q: want jsonl, json or cert", s.format)}
}

func (s *eventSource) report() SourceReport {
	return SourceReport{Format: s.format, Path: s.path}
}

// skipError marks an event its consumer could not use (the engine rejected
// it): readEvents reports it as malformed, with its position, and goes on.
type skipError struct{ err error }

func (s *skipError) Error() string { return s.err.Error() }
func (s *skipError) Unwrap() error { return s.err }

// readEvents reads the events of src once and calls fn with every one that
// decodes and validates, normalised. A malformed event, and one fn rejects
// with a *skipError, is reported on standard error with its position and
// skipped. Any other error from fn stops the read and is returned as is. It
// returns what it learnt about the source and the number of events skipped.
func (e *env) readEvents(src *eventSource, noProgress bool, status func() string, fn func(*event.Event) error) (SourceReport, int64, error) {
	rep := src.report()
	var bad int64
	bar := e.progressBar(noProgress, status)
	defer bar.clear()
	handle := func(where func() string, ev *event.Event, derr error) error {
		if derr == nil {
			ev.Normalize()
			err := fn(ev)
			var se *skipError
			if !errors.As(err, &se) {
				return err
			}
			derr = se.err
		}
		bad++
		fmt.Fprintf(e.stderr, "%s: %v\n", where(), derr)
		return nil
	}
	var err error
	if src.format == "cert" {
		rep, err = e.readCert(src, bar, handle)
	} else {
		err = e.readFile(src, bar, handle)
	}
	var ee *exitError
	if err != nil && !errors.As(err, &ee) {
		err = cannot(fmt.Errorf("read events: %w", err))
	}
	return rep, bad, err
}

// eventHandler takes one decoded event (or its decoding error) and where it
// came from.
type eventHandler func(where func() string, ev *event.Event, err error) error

// readFile reads a file (or standard input) of JSON lines or a JSON array.
func (e *env) readFile(src *eventSource, bar *progressBar, handle eventHandler) error {
	in, size, err := openInput(src.path, e.stdin)
	if err != nil {
		return cannot(err)
	}
	defer func() { _ = in.Close() }()
	cr := &countingReader{r: in}
	lineHandler := func(line int, ev *event.Event, err error) error {
		bar.update(cr.n, size)
		return handle(func() string { return fmt.Sprintf("events line %d", line) }, ev, err)
	}
	if src.format == "json" {
		return decodeArray(cr, lineHandler)
	}
	return event.DecodeStream(cr, lineHandler)
}

// progressBar draws the progress of a long read on a terminal; a nil
// *progressBar draws nothing.
type progressBar struct {
	f      *os.File
	last   time.Time
	status func() string
}

// progressBar returns a bar when standard error is a terminal and progress
// was not turned off, else nil.
func (e *env) progressBar(noProgress bool, status func() string) *progressBar {
	f, ok := e.stderr.(*os.File)
	if !ok || noProgress || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progressBar{f: f, status: status}
}

// update draws done out of total, at most five times a second.
func (b *progressBar) update(done, total int64) {
	if b == nil || total <= 0 || time.Since(b.last) < 200*time.Millisecond {
		return
	}
	b.last = time.Now()
	pct := min(max(float64(done)/float64(total), 0), 1)
	bar := strings.Repeat("█", int(pct*30)) + strings.Repeat("░", 30-int(pct*30))
	fmt.Fprintf(b.f, "\r%s %5.1f%% %s", bar, pct*100, b.status())
}

// clear removes the bar.
func (b *progressBar) clear() {
	if b != nil && !b.last.IsZero() {
		fmt.Fprint(b.f, "\r\033[K")
	}
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

// ---------------------------------------------------------------------------
// CERT insider threat dataset (--format cert). Everything that touches the
// event/cert reader is below, in certFlags and readCert.

// certFlags are the options of the CERT reader.
type certFlags struct {
	timezone string
	domain   string
	internal []string
	location *time.Location
}

func (c *certFlags) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.timezone, "cert-timezone", "UTC", "with --format cert: the time zone of the dataset's local times (an IANA name such as America/New_York, or Local)")
	cmd.Flags().StringVar(&c.domain, "cert-domain", "", "with --format cert: the user.domain of every user (default DTAA, the dataset's company)")
	cmd.Flags().StringSliceVar(&c.internal, "cert-internal-domain", nil, "with --format cert: an e-mail domain counted as internal, repeatable or comma-separated (default dtaa.com)")
}

// check resolves the time zone; a bad one is a usage error.
func (c *certFlags) check() error {
	loc, err := time.LoadLocation(c.timezone)
	if err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("--cert-timezone %q: %w", c.timezone, err)}
	}
	c.location = loc
	return nil
}

// readCert streams a CERT dataset directory once, in time order, and
// reports the rows read per file, the rows skipped and why, and the users.
func (e *env) readCert(src *eventSource, bar *progressBar, handle eventHandler) (SourceReport, error) {
	opts := cert.Options{Location: src.cert.location, Domain: src.cert.domain, InternalDomains: src.cert.internal}
	st, err := cert.Stream(src.path, opts, func(ev *event.Event) error {
		return handle(func() string {
			return fmt.Sprintf("cert event %s (%s)", ev.Event.ID, ev.Timestamp.Format(time.RFC3339))
		}, ev, nil)
	}, bar.update)
	rep := src.report()
	rep.Rows, rep.Skipped, rep.Users, rep.Events = st.Rows, st.Skipped, st.Users, st.Events
	if rep.Rows == nil {
		rep.Rows = map[string]int64{}
	}
	if rep.Skipped == nil {
		rep.Skipped = map[string]int64{}
	}
	return rep, err
}
