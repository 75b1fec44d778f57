// Package cli wires the vigil command: every sub-command, its flags and its
// exit codes. main only calls Main, so tests drive the same code.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Exit codes. Scripts and CI pipelines rely on them.
const (
	// ExitOK means the command did what was asked and every check passed.
	ExitOK = 0
	// ExitFailed means the command ran but a check failed: lint errors,
	// failing tests, a signature that does not verify.
	ExitFailed = 1
	// ExitUsage means the command line was wrong.
	ExitUsage = 2
	// ExitError means the command could not run: unreadable input, a bundle
	// that does not load, an I/O failure.
	ExitError = 3
)

// Version is set at build time with -ldflags "-X github.com/vigil-itm/vigil/cmd/vigil/cli.Version=…".
var Version = "dev"

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func failed(format string, args ...any) error {
	return &exitError{code: ExitFailed, err: fmt.Errorf(format, args...)}
}

func cannot(err error) error { return &exitError{code: ExitError, err: err} }

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	logger         *slog.Logger
}

// commands are the sub-commands that files of this package add with
// addCommand from init, so that a command lives in one file with its flags.
var commands []func(*env) *cobra.Command

// addCommand adds a sub-command to vigil; call it from init.
func addCommand(c func(*env) *cobra.Command) { commands = append(commands, c) }

// Main runs the vigil command with args and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr,
		logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	root := &cobra.Command{
		Use:   "vigil",
		Short: "Vigil: insider threat management with policies as code",
		Long: `Vigil watches what authorised insiders do on their endpoints and judges it
against versioned, signed policy bundles: CEL detection rules, windows and
sequences, and a Rego decision policy.

Exit codes: 0 ok, 1 a check failed (lint errors, failing tests, bad
signature), 2 bad command line, 3 could not run (unreadable input, I/O).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(e.versionCmd(), e.policyCmd(), e.evalCmd(), e.replayCmd(), e.benchCmd(), e.generateCmd(),
		e.runCmd(), e.serverCmd(), e.tokenCmd())
	for _, c := range commands {
		root.AddCommand(c(e))
	}
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "vigil:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Anything cobra itself rejects (unknown command or flag, wrong
	// number of arguments) is a usage error.
	return ExitUsage
}

func (e *env) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := Version
			if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						v = "dev+" + s.Value[:12]
					}
				}
			}
			fmt.Fprintf(e.stdout, "vigil %s\n", v)
			return nil
		},
	}
}
