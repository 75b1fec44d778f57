package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/agent"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/store"
)

// enrollTokenEnv passes the enrollment token to the measured agent.
const enrollTokenEnv = "VIGIL_BENCH_ENROLL_TOKEN"

// agentIdleOptions configure `vigil bench agent-idle`.
type agentIdleOptions struct {
	duration, warmup, interval time.Duration
	serverURL, enrollToken     string
	sensorList                 []string
	cpuProfile                 string
	xvfb                       bool
	asJSON                     bool
}

// agentSample is one reading of the agent process.
type agentSample struct {
	At       float64 `json:"at_seconds"`
	CPUSecs  float64 `json:"cpu_seconds"`
	RSSBytes int64   `json:"rss_bytes"`
}

// agentIdleReport is what `vigil bench agent-idle --json` prints.
type agentIdleReport struct {
	Machine machineNote `json:"machine"`
	After   machineNote `json:"machine_after"`
	Sensors []string    `json:"sensors"`
	Display string      `json:"display,omitempty"`
	// Window is the measured span, after the warm-up.
	WindowSeconds float64 `json:"window_seconds"`
	// CPUPercent is the agent's CPU time (user + system) over the window,
	// in percent of one core.
	CPUPercent float64 `json:"cpu_percent_of_one_core"`
	// RSS at the end of the window, its maximum over the samples, and the
	// peak the kernel recorded (VmHWM, start-up included).
	RSSBytes    int64         `json:"rss_bytes"`
	MaxRSSBytes int64         `json:"max_rss_bytes"`
	PeakRSS     int64         `json:"peak_rss_bytes"`
	Samples     []agentSample `json:"samples"`
	// EventsByAction counts what the agent uploaded during the whole run
	// (in-process server only).
	EventsByAction map[string]int `json:"events_by_action,omitempty"`
}

func (e *env) benchAgentIdleCmd() *cobra.Command {
	var (
		o        agentIdleOptions
		child    bool
		dataDir  string
		childDir string
	)
	cmd := &cobra.Command{
		Use:   "agent-idle",
		Short: "Measure the agent's CPU and resident memory at idle with every sensor on",
		Long: `Run the endpoint agent (every sensor this build has that is on by default, or
--sensors) in a child process of its own, enrolled with a real Vigil server
on a loopback port (or --server), and read its CPU time (user + system) and
resident set from /proc every --interval for --duration after a --warm-up.
Nobody uses the machine on purpose meanwhile: this is the agent's idle cost
(on a shared machine, other people's processes and connections are still
seen by the process and network sensors). When DISPLAY is unset and Xvfb is
installed, a private Xvfb is started so that the X11 sensors run as on a
desktop (--xvfb=false to leave them without a display). Linux only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if child {
				return e.runIdleAgent(cmd.Context(), o, childDir)
			}
			if o.duration <= 0 || o.interval <= 0 || o.warmup < 0 {
				return &exitError{code: ExitUsage, err: errors.New("--duration and --interval must be positive, --warm-up not negative")}
			}
			if (o.serverURL == "") != (o.enrollToken == "") {
				return &exitError{code: ExitUsage, err: errors.New("--server and --enroll-token go together")}
			}
			dir, cleanup, err := benchDir(dataDir, "vigil-bench-agent-")
			if err != nil {
				return cannot(err)
			}
			defer cleanup()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := e.measureIdleAgent(ctx, o, dir)
			if err != nil {
				return cannot(err)
			}
			if o.asJSON {
				return printJSON(e.stdout, rep)
			}
			fmt.Fprintf(e.stdout, "agent idle over %.0fs (after %s warm-up): %.3f%% of one core, RSS %.1f MB (max %.1f MB, peak %.1f MB)\n",
				rep.WindowSeconds, o.warmup, rep.CPUPercent, mb(rep.RSSBytes), mb(rep.MaxRSSBytes), mb(rep.PeakRSS))
			if len(rep.EventsByAction) > 0 {
				fmt.Fprintf(e.stdout, "events uploaded: %s\n", formatCounts(rep.EventsByAction))
			}
			fmt.Fprintf(e.stdout, "after: load average %.2f (1 min) %.2f (5 min)\n", rep.After.Load1, rep.After.Load5)
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.duration, "duration", 10*time.Minute, "how long to measure, after the warm-up")
	f.DurationVar(&o.warmup, "warm-up", 30*time.Second, "time left out at the start (enrollment, bundle download, sensors starting)")
	f.DurationVar(&o.interval, "interval", 10*time.Second, "how often to read the agent's CPU time and resident set")
	f.StringVar(&o.serverURL, "server", "", "measure against this Vigil server instead of an in-process one (needs --enroll-token)")
	f.StringVar(&o.enrollToken, "enroll-token", "", "enrollment token for --server")
	f.StringSliceVar(&o.sensorList, "sensors", nil, "run only these sensors (default: every sensor that is on by default)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the agent's process (warm-up included) to this file")
	f.BoolVar(&o.xvfb, "xvfb", true, "start a private Xvfb for the X11 sensors when DISPLAY is unset")
	f.StringVar(&dataDir, "data-dir", "", "directory for the agent's and server's data (default: a temporary one, removed after)")
	f.BoolVar(&o.asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&child, "child", false, "run the agent itself (used by the measuring parent)")
	f.StringVar(&childDir, "agent-dir", "", "the agent's data directory (with --child)")
	_ = f.MarkHidden("child")
	_ = f.MarkHidden("agent-dir")
	return cmd
}

func mb(b int64) float64 { return float64(b) / 1e6 }

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// runIdleAgent is the child: the agent as `vigil agent` runs it, until
// SIGTERM or SIGINT.
func (e *env) runIdleAgent(ctx context.Context, o agentIdleOptions, dir string) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.enrollToken == "" {
		o.enrollToken = os.Getenv(enrollTokenEnv)
	}
	cfg := agent.Config{Server: o.serverURL, EnrollToken: o.enrollToken, DataDir: dir, OnlySensors: o.sensorList}
	opts, err := agentOptions(dir, Version, e.logger)
	if err != nil {
		return cannot(err)
	}
	a, err := agent.New(cfg, opts)
	if err != nil {
		return cannot(err)
	}
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return cannot(err)
	}
	defer stopProfile()
	if err := a.Run(ctx); err != nil {
		return cannot(err)
	}
	return nil
}

// measureIdleAgent starts the server (unless given one), the display and
// the agent's process, and samples the process.
func (e *env) measureIdleAgent(ctx context.Context, o agentIdleOptions, dir string) (*agentIdleReport, error) {
	rep := &agentIdleReport{Machine: noteMachine(), Sensors: o.sensorList}
	if len(rep.Sensors) == 0 {
		for _, r := range sensors.Registered() {
			if r.DefaultEnabled {
				rep.Sensors = append(rep.Sensors, r.Name)
			}
		}
	}
	var srv *benchServer
	if o.serverURL == "" {
		var err error
		if srv, err = startBenchServer(ctx, benchServerOptions{Dir: filepath.Join(dir, "server"), Logger: e.logger}); err != nil {
			return nil, err
		}
		defer func() { _ = srv.Close() }()
		o.serverURL = srv.URL
		if o.enrollToken, err = srv.enrollmentToken(ctx); err != nil {
			return nil, err
		}
	}
	childEnv := os.Environ()
	if os.Getenv("DISPLAY") == "" && o.xvfb {
		if _, err := exec.LookPath("Xvfb"); err == nil {
			display, stopX, err := startXvfb(ctx)
			if err != nil {
				return nil, err
			}
			defer stopX()
			rep.Display = display + " (private Xvfb)"
			childEnv = append(childEnv, "DISPLAY="+display)
		}
	} else if d := os.Getenv("DISPLAY"); d != "" {
		rep.Display = d
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("agent-idle: find this executable: %w", err)
	}
	// The token goes through the environment, not the command line that
	// every user of the machine can read.
	childEnv = append(childEnv, enrollTokenEnv+"="+o.enrollToken)
	args := []string{"bench", "agent-idle", "--child", "--agent-dir", filepath.Join(dir, "agent"), "--server", o.serverURL}
	if len(o.sensorList) > 0 {
		args = append(args, "--sensors", strings.Join(o.sensorList, ","))
	}
	if o.cpuProfile != "" {
		abs, err := filepath.Abs(o.cpuProfile)
		if err != nil {
			return nil, fmt.Errorf("agent-idle: --cpuprofile: %w", err)
		}
		args = append(args, "--cpuprofile", abs)
	}
	child := exec.CommandContext(ctx, self, args...)
	child.Env = childEnv
	child.Stdout = io.Discard
	child.Stderr = e.stderr
	child.Cancel = func() error { return child.Process.Signal(syscall.SIGTERM) }
	child.WaitDelay = 30 * time.Second
	if err := child.Start(); err != nil {
		return nil, fmt.Errorf("agent-idle: start the agent: %w", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- child.Wait() }()
	stopChild := func() error {
		_ = child.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-waited:
			return err
		case <-time.After(45 * time.Second):
			_ = child.Process.Kill()
			return <-waited
		}
	}
	pid := child.Process.Pid
	if !o.asJSON {
		fmt.Fprintf(e.stdout, "agent pid %d, sensors %s, server %s; display %q; %s\nwarming up for %s, then measuring for %s…\n",
			pid, strings.Join(rep.Sensors, ","), o.serverURL, rep.Display, rep.Machine, o.warmup, o.duration)
	}
	sleep := func(d time.Duration) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-waited:
			waited <- err
			return fmt.Errorf("agent-idle: the agent exited early: %w", err)
		case <-time.After(d):
			return nil
		}
	}
	if err := sleep(o.warmup); err != nil {
		_ = stopChild()
		return nil, err
	}
	first, err := readProc(pid)
	if err != nil {
		_ = stopChild()
		return nil, err
	}
	start := time.Now()
	rep.Samples = append(rep.Samples, agentSample{At: 0, CPUSecs: first.cpu.Seconds(), RSSBytes: first.rss})
	last := first
	for elapsed := time.Duration(0); elapsed < o.duration; {
		step := min(o.interval, o.duration-elapsed)
		if err := sleep(step); err != nil {
			_ = stopChild()
			return nil, err
		}
		s, err := readProc(pid)
		if err != nil {
			_ = stopChild()
			return nil, err
		}
		elapsed = time.Since(start)
		rep.Samples = append(rep.Samples, agentSample{At: elapsed.Seconds(), CPUSecs: s.cpu.Seconds(), RSSBytes: s.rss})
		rep.MaxRSSBytes = max(rep.MaxRSSBytes, s.rss)
		last = s
		if !o.asJSON {
			fmt.Fprintf(e.stdout, "  %4.0fs: %.3f%% of one core so far, RSS %.1f MB\n", elapsed.Seconds(),
				100*(s.cpu-first.cpu).Seconds()/elapsed.Seconds(), mb(s.rss))
		}
	}
	window := time.Since(start)
	rep.WindowSeconds = window.Seconds()
	rep.CPUPercent = 100 * (last.cpu - first.cpu).Seconds() / window.Seconds()
	rep.RSSBytes, rep.PeakRSS = last.rss, last.hwm
	if err := stopChild(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, fmt.Errorf("agent-idle: stop the agent: %w", err)
		}
		e.logger.Warn("agent exited with an error", "err", err)
	}
	if srv != nil {
		rep.EventsByAction = countEvents(ctx, srv)
	}
	rep.After = noteMachine()
	return rep, nil
}

// countEvents counts the stored events by action.
func countEvents(ctx context.Context, srv *benchServer) map[string]int {
	out := map[string]int{}
	cursor := ""
	for {
		page, next, err := srv.db.Events().Query(ctx, store.EventFilter{Limit: store.MaxLimit, Cursor: cursor})
		if err != nil {
			return out
		}
		for _, ev := range page {
			out[ev.Event.Action]++
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

// startXvfb starts a private X server and returns its display name.
func startXvfb(ctx context.Context) (string, func(), error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", nil, fmt.Errorf("start Xvfb: %w", err)
	}
	defer func() { _ = r.Close() }()
	cmd := exec.CommandContext(ctx, "Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset",
		"+extension", "RECORD", "+extension", "XFIXES", "+extension", "MIT-SHM")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		_ = w.Close()
		return "", nil, fmt.Errorf("start Xvfb: %w", err)
	}
	_ = w.Close()
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(r)
		s.Scan()
		line <- strings.TrimSpace(s.Text())
	}()
	select {
	case n := <-line:
		if n == "" {
			stop()
			return "", nil, errors.New("start Xvfb: it reported no display")
		}
		return ":" + n, stop, nil
	case <-time.After(20 * time.Second):
		stop()
		return "", nil, errors.New("start Xvfb: no display within 20s")
	}
}
