package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/engine/benchmark"
)

// benchServeHello is the line `vigil bench serve` prints once it listens.
type benchServeHello struct {
	URL   string `json:"url"`
	Admin string `json:"admin"`
}

// benchServeCmd runs a bench server in a process of its own, so that a
// benchmark can compare it with another server process on equal terms
// (each with its own Go runtime and scheduler threads). Hidden: it is the
// child of `vigil bench decide`.
func (e *env) benchServeCmd() *cobra.Command {
	var (
		rules int
		dir   string
	)
	cmd := &cobra.Command{
		Use:    "serve",
		Short:  "Run a benchmark server until SIGTERM (used by vigil bench decide)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return &exitError{code: ExitUsage, err: errors.New("--dir is required")}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o := benchServerOptions{Dir: dir, Logger: e.logger}
			if rules > 0 {
				o.Bundle = benchmark.Bundle(rules)
			}
			srv, err := startBenchServer(ctx, o)
			if err != nil {
				return cannot(err)
			}
			if err := json.NewEncoder(e.stdout).Encode(benchServeHello{URL: srv.URL, Admin: srv.Admin}); err != nil {
				_ = srv.Close()
				return cannot(err)
			}
			<-ctx.Done()
			if err := srv.Close(); err != nil {
				return cannot(err)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&rules, "rules", 0, "generated rules (0: the built-in library)")
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the store")
	return cmd
}

// benchServerProcess is a bench server running as a child process.
type benchServerProcess struct {
	benchServeHello
	pid  int
	stop func()
}

// startBenchServerProcess runs `vigil bench serve` as a child and waits
// until it listens.
func startBenchServerProcess(ctx context.Context, rules int, dir string, stderr io.Writer) (*benchServerProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench server process: find this executable: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bench server process: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bench server process: %w", err)
	}
	cmd := exec.CommandContext(context.WithoutCancel(ctx), self, "bench", "serve", "--rules", strconv.Itoa(rules), "--dir", abs)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench server process: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench server process: start: %w", err)
	}
	var waitErr error
	done := make(chan struct{})
	hello := make(chan benchServeHello, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			var h benchServeHello
			if json.Unmarshal(s.Bytes(), &h) == nil {
				hello <- h
			}
		}
		for s.Scan() { // keep the pipe drained
		}
		waitErr = cmd.Wait()
		close(done)
	}()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	select {
	case h := <-hello:
		return &benchServerProcess{benchServeHello: h, pid: cmd.Process.Pid, stop: stop}, nil
	case <-done:
		return nil, fmt.Errorf("bench server process: exited before listening: %w", waitErr)
	case <-time.After(2 * time.Minute):
		stop()
		return nil, errors.New("bench server process: not listening within 2m")
	}
}
