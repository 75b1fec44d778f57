package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/engine/benchmark"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
)

// decideTarget is one server answering decision queries: its URL, the
// request bodies (one per event, in the server's own request format) and
// how to count the findings in an answer.
type decideTarget struct {
	name     string
	url      string
	token    string
	bodies   [][]byte
	findings func([]byte) (int, error)
	// serverCPU, when set, reads the CPU time of a server running in a
	// process of its own, added to this process's.
	serverCPU func() time.Duration
}

// processCPUOf returns a function that reads the CPU time of process pid
// (0 when it cannot).
func processCPUOf(pid int) func() time.Duration {
	return func() time.Duration {
		s, err := readProc(pid)
		if err != nil {
			return 0
		}
		return s.cpu
	}
}

// cpuTime is the CPU time spent on the target's requests so far: this
// process's (the client, and the server when it runs here) and the
// server's own process's.
func (t *decideTarget) cpuTime() time.Duration {
	c := processCPU()
	if t.serverCPU != nil {
		c += t.serverCPU()
	}
	return c
}

// latencyStats summarises one target's measured requests.
type latencyStats struct {
	Name        string  `json:"name"`
	Requests    int     `json:"requests"`
	Seconds     float64 `json:"seconds"`
	RequestsSec float64 `json:"requests_per_sec"`
	P50Micros   float64 `json:"p50_us"`
	P90Micros   float64 `json:"p90_us"`
	P99Micros   float64 `json:"p99_us"`
	MaxMicros   float64 `json:"max_us"`
	// CPUMicros is the CPU time per request of the client (this process)
	// and of the server measured (its own process).
	CPUMicros float64 `json:"cpu_us_per_request"`
	// RequestsCPUSec is what one fully available core sustains.
	RequestsCPUSec float64 `json:"requests_per_cpu_second"`
	Findings       int     `json:"findings"`
}

func (s latencyStats) String() string {
	return fmt.Sprintf("%-28s %8d req in %5.1fs = %7.0f req/s   p50 %6.0f µs  p90 %6.0f µs  p99 %6.0f µs  max %7.0f µs   %5.0f µs CPU/req (%6.0f req per CPU-second)  findings %d",
		s.Name, s.Requests, s.Seconds, s.RequestsSec, s.P50Micros, s.P90Micros, s.P99Micros, s.MaxMicros, s.CPUMicros, s.RequestsCPUSec, s.Findings)
}

// decideRun accumulates one target's rounds.
type decideRun struct {
	latencies []time.Duration
	wall, cpu time.Duration
	findings  int
}

// round sends requests from concurrency clients for d, cycling through the
// target's bodies, and records each request's latency.
func (t *decideTarget) round(ctx context.Context, client *http.Client, concurrency int, d time.Duration, run *decideRun) error {
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	start, cpu0 := time.Now(), t.cpuTime()
	deadline := start.Add(d)
	for c := range concurrency {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			found := 0
			i := c * len(t.bodies) / concurrency
			for time.Now().Before(deadline) {
				body := t.bodies[i%len(t.bodies)]
				i++
				t0 := time.Now()
				n, err := t.post(ctx, client, body)
				el := time.Since(t0)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				lat = append(lat, el)
				found += n
			}
			mu.Lock()
			run.latencies = append(run.latencies, lat...)
			run.findings += found
			mu.Unlock()
		})
	}
	wg.Wait()
	run.wall += time.Since(start)
	run.cpu += t.cpuTime() - cpu0
	return firstErr
}

func (t *decideTarget) post(ctx context.Context, client *http.Client, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", t.name, err)
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return 0, fmt.Errorf("%s: read answer: %w", t.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: status %d: %s", t.name, resp.StatusCode, data)
	}
	return t.findings(data)
}

func (r *decideRun) stats(name string) latencyStats {
	s := latencyStats{Name: name, Requests: len(r.latencies), Seconds: r.wall.Seconds(), Findings: r.findings}
	if s.Requests == 0 {
		return s
	}
	slices.Sort(r.latencies)
	q := func(p float64) float64 {
		i := min(int(p*float64(len(r.latencies))), len(r.latencies)-1)
		return float64(r.latencies[i].Nanoseconds()) / 1e3
	}
	s.RequestsSec = float64(s.Requests) / r.wall.Seconds()
	s.P50Micros, s.P90Micros, s.P99Micros = q(0.50), q(0.90), q(0.99)
	s.MaxMicros = float64(r.latencies[len(r.latencies)-1].Nanoseconds()) / 1e3
	if r.cpu > 0 {
		s.CPUMicros = float64(r.cpu.Nanoseconds()) / 1e3 / float64(s.Requests)
		s.RequestsCPUSec = 1e6 / s.CPUMicros
	}
	return s
}

// decideReport is what `vigil bench decide --json` prints.
type decideReport struct {
	Machine     machineNote `json:"machine"`
	After       machineNote `json:"machine_after"`
	Rules       int         `json:"rules"`
	Concurrency int         `json:"concurrency"`
	Rounds      int         `json:"rounds"`
	// Vigil and OPA hold one entry per measured side.
	Vigil latencyStats `json:"vigil"`
	OPA   latencyStats `json:"opa"`
}

type decideOptions struct {
	rules, events, concurrency, rounds int
	duration, warmup                   time.Duration
	opaURL, opaPath                    string
}

func (e *env) benchDecideCmd() *cobra.Command {
	var (
		o                   decideOptions
		dataDir, cpuProfile string
		asJSON              bool
	)
	cmd := &cobra.Command{
		Use:   "decide",
		Short: "Measure POST /api/v1/decide latency and throughput side by side with an OPA server",
		Long: `Start a real Vigil server on a loopback port, in a process of its own, with
a bundle of --rules generated rules (engine/benchmark.Bundle) and an OPA server ('opa run
--server', the OPA version Vigil is built with, or --opa) loaded with the
same conditions written in Rego the way OPA evaluates fastest
(engine/benchmark.Rego, rule indexing on event.action). The same HTTP
client, with --concurrency connections, then asks both about the same
generated events (every action, 1,000 users): Vigil through POST
/api/v1/decide, OPA through POST /v1/data/vigil/bench/findings. The two are
measured in alternating rounds so that a change of machine load hits both.
Reports p50/p90/p99 latency, requests per second and CPU time per request
(which a shared machine does not inflate).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.rules <= 0 || o.events <= 0 || o.concurrency <= 0 || o.rounds <= 0 || o.duration <= 0 || o.warmup < 0 {
				return &exitError{code: ExitUsage, err: errors.New("--rules, --events, --concurrency, --rounds and --duration must be positive")}
			}
			dir, cleanup, err := benchDir(dataDir, "vigil-bench-decide-")
			if err != nil {
				return cannot(err)
			}
			defer cleanup()
			say := func(format string, args ...any) {
				if !asJSON {
					fmt.Fprintf(e.stdout, format, args...)
				}
			}
			stopProfile, err := startCPUProfile(cpuProfile)
			if err != nil {
				return cannot(err)
			}
			rep, err := e.runDecideBench(cmd.Context(), o, dir, say)
			stopProfile()
			if err != nil {
				return cannot(err)
			}
			if asJSON {
				return printJSON(e.stdout, rep)
			}
			say("%s\n%s\n", rep.Vigil, rep.OPA)
			if rep.OPA.RequestsSec > 0 && rep.OPA.CPUMicros > 0 {
				say("→ Vigil answers %.2f× the requests/s of OPA (%.2f× per CPU-second); p99 %.2f ms vs %.2f ms\n",
					rep.Vigil.RequestsSec/rep.OPA.RequestsSec, rep.OPA.CPUMicros/rep.Vigil.CPUMicros, rep.Vigil.P99Micros/1e3, rep.OPA.P99Micros/1e3)
			}
			say("after: load average %.2f (1 min) %.2f (5 min)\n", rep.After.Load1, rep.After.Load5)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.rules, "rules", 100, "generated rules, the same in both servers")
	f.IntVar(&o.events, "events", 10_000, "distinct generated events the clients cycle through")
	f.IntVar(&o.concurrency, "concurrency", 4, "concurrent clients, each with its own connection")
	f.IntVar(&o.rounds, "rounds", 3, "alternating rounds per server")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "length of one round")
	f.DurationVar(&o.warmup, "warm-up", 2*time.Second, "unmeasured load on each server before the rounds")
	f.StringVar(&o.opaPath, "opa", "", "the opa binary to run as `opa run --server` (default: build the OPA version Vigil is built with, with go install)")
	f.StringVar(&o.opaURL, "opa-url", "", "measure an OPA server already running (opa run --server) instead of one in this process; the policy and data are loaded into it over its REST API")
	f.StringVar(&dataDir, "data-dir", "", "directory for the servers' files (default: a temporary one, removed after)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (client and Vigil server) to this file")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func (e *env) runDecideBench(ctx context.Context, o decideOptions, dir string, say func(string, ...any)) (*decideReport, error) {
	say("generating %d events; compiling %d rules for Vigil and OPA…\n", o.events, o.rules)
	events := eventgen.New(1, eventgen.Options{Users: 1000}).Batch(o.events)
	vigilBodies := make([][]byte, len(events))
	opaBodies := make([][]byte, len(events))
	for i, ev := range events {
		b, err := event.Encode(ev)
		if err != nil {
			return nil, fmt.Errorf("encode generated event %s: %w", ev.Event.ID, err)
		}
		vigilBodies[i] = b
		opaBodies[i] = slices.Concat([]byte(`{"input":{"event":`), b, []byte(`}}`))
	}
	// Each server runs in a process of its own, so that neither shares its
	// Go runtime with the client.
	srv, err := startBenchServerProcess(ctx, o.rules, filepath.Join(dir, "vigil"), e.stderr)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	opaURL, opaPID := o.opaURL, 0
	if opaURL == "" {
		u, pid, stop, err := startOPA(ctx, o.opaPath, filepath.Join(dir, "opa"), o.rules, e.stderr)
		if err != nil {
			return nil, err
		}
		defer stop()
		opaURL, opaPID = u, pid
	} else if err := loadOPA(ctx, opaURL, o.rules); err != nil {
		return nil, err
	}
	vigil := &decideTarget{name: "vigil POST /api/v1/decide", url: srv.URL + "/api/v1/decide", token: srv.Admin, bodies: vigilBodies,
		serverCPU: processCPUOf(srv.pid),
		findings: func(data []byte) (int, error) {
			var d struct {
				Findings []json.RawMessage `json:"findings"`
			}
			err := json.Unmarshal(data, &d)
			return len(d.Findings), err
		}}
	opa := &decideTarget{name: "opa POST /v1/data", url: strings.TrimSuffix(opaURL, "/") + "/v1/data/vigil/bench/findings", bodies: opaBodies,
		findings: func(data []byte) (int, error) {
			var d struct {
				Result []string `json:"result"`
			}
			err := json.Unmarshal(data, &d)
			return len(d.Result), err
		}}
	if opaPID != 0 {
		opa.serverCPU = processCPUOf(opaPID)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: o.concurrency, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	rep := &decideReport{Machine: noteMachine(), Rules: o.rules, Concurrency: o.concurrency, Rounds: o.rounds}
	say("vigil %s, opa %s; %d clients; %d rounds of %s each, alternating; %s\n", srv.URL, opaURL, o.concurrency, o.rounds, o.duration, rep.Machine)
	if o.warmup > 0 {
		for _, t := range []*decideTarget{vigil, opa} {
			if err := t.round(ctx, client, o.concurrency, o.warmup, &decideRun{}); err != nil {
				return nil, err
			}
		}
	}
	var vr, or decideRun
	for r := range o.rounds {
		// Alternate which goes first, so that neither always follows the other.
		order := []struct {
			t   *decideTarget
			run *decideRun
		}{{vigil, &vr}, {opa, &or}}
		if r%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, x := range order {
			if err := x.t.round(ctx, client, o.concurrency, o.duration, x.run); err != nil {
				return nil, err
			}
			say("  after round %d: %s\n", r+1, x.run.stats(x.t.name))
		}
	}
	rep.Vigil, rep.OPA = vr.stats(vigil.name), or.stats(opa.name)
	rep.After = noteMachine()
	return rep, nil
}

// startOPA runs `opa run --server` on a loopback port with the generated
// Rego module and its data as files in dir, and returns its URL, its
// process id and the function that stops it. opaPath names the opa
// binary; without it, the OPA version Vigil is built with is built with
// `go install` into dir.
func startOPA(ctx context.Context, opaPath, dir string, rules int, stderr io.Writer) (string, int, func(), error) {
	policyDir := filepath.Join(dir, "policy")
	if err := os.MkdirAll(policyDir, 0o700); err != nil {
		return "", 0, nil, fmt.Errorf("opa: %w", err)
	}
	data, err := json.Marshal(benchmark.Data())
	if err != nil {
		return "", 0, nil, fmt.Errorf("opa: encode data: %w", err)
	}
	if err := os.WriteFile(filepath.Join(policyDir, "bench.rego"), []byte(benchmark.Rego(rules)), 0o600); err != nil {
		return "", 0, nil, fmt.Errorf("opa: %w", err)
	}
	if err := os.WriteFile(filepath.Join(policyDir, "data.json"), data, 0o600); err != nil {
		return "", 0, nil, fmt.Errorf("opa: %w", err)
	}
	if opaPath == "" {
		if opaPath, err = buildOPA(ctx, dir, stderr); err != nil {
			return "", 0, nil, err
		}
	}
	port, err := freePort(ctx)
	if err != nil {
		return "", 0, nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.CommandContext(context.WithoutCancel(ctx), opaPath, "run", "--server", "--addr", addr, "--log-level", "error", policyDir)
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("opa: start %s: %w", opaPath, err)
	}
	var waitErr error
	done := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done // killed: its exit status says nothing
	}
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
		if err != nil {
			stop()
			return "", 0, nil, fmt.Errorf("opa: %w", err)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url, cmd.Process.Pid, stop, nil
			}
		}
		select {
		case <-done:
			return "", 0, nil, fmt.Errorf("opa: the server exited: %w", waitErr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", 0, nil, errors.New("opa: server not healthy within 30s")
		}
	}
}

// buildOPA builds the opa command of the OPA module version this binary
// was built with (go.mod's) into dir/bin and returns its path.
func buildOPA(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	version := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/open-policy-agent/opa" {
				version = m.Version
				if m.Replace != nil {
					version = m.Replace.Version
				}
			}
		}
	}
	if version == "" {
		return "", errors.New("opa: cannot tell which OPA version this binary has: give --opa PATH")
	}
	bin := filepath.Join(dir, "bin")
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/open-policy-agent/opa@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=")
	cmd.Dir = dir // outside any module: the version above decides
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("opa: go install github.com/open-policy-agent/opa@%s (or give --opa PATH): %w", version, err)
	}
	return filepath.Join(bin, "opa"), nil
}

// loadOPA loads the generated Rego module and its data into a running OPA
// server through its REST API.
func loadOPA(ctx context.Context, url string, rules int) error {
	data, err := json.Marshal(benchmark.Data())
	if err != nil {
		return fmt.Errorf("opa: encode data: %w", err)
	}
	for _, put := range []struct {
		path, ctype string
		body        []byte
	}{
		{"/v1/policies/vigil-bench", "text/plain", []byte(benchmark.Rego(rules))},
		{"/v1/data", "application/json", data},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimSuffix(url, "/")+put.path, bytes.NewReader(put.body))
		if err != nil {
			return fmt.Errorf("opa: %w", err)
		}
		req.Header.Set("Content-Type", put.ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("opa: load %s: %w", put.path, err)
		}
		msg, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("opa: load %s: status %d: %s", put.path, resp.StatusCode, msg)
		}
	}
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	addr, ok := ln.Addr().(*net.TCPAddr)
	if err := ln.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	if !ok {
		return 0, fmt.Errorf("find a free port: unexpected address %s", ln.Addr())
	}
	return addr.Port, nil
}
