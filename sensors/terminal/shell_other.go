//go:build !linux

package terminal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// RunShell runs the real shell directly: terminal recording exists only on
// Linux, and a user's shell must work everywhere.
func RunShell(_ context.Context, o ShellOptions) (int, error) {
	args := []string{}
	if o.HasCommand {
		args = append(args, "-c", o.Command)
		args = append(args, o.CommandArgs...)
	}
	cmd := exec.Command(o.Shell, args...)
	cmd.Args[0] = filepath.Base(o.Shell)
	cmd.Dir, cmd.Env = o.Dir, o.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if o.Stdin != nil {
		cmd.Stdin = o.Stdin
	}
	if o.Stdout != nil {
		cmd.Stdout = o.Stdout
	}
	if o.Stderr != nil {
		cmd.Stderr = o.Stderr
	}
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 127, fmt.Errorf("run %s: %w", o.Shell, err)
	}
	return 0, nil
}
