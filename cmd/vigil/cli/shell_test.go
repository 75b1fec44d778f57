package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestShellCommand runs `vigil shell` as a process, as login or sshd would:
// with no agent listening it still runs the command, passes its arguments,
// output and exit status through.
func TestShellCommand(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "shell.sock") // nobody listens
	run := func(env []string, args ...string) (string, int) {
		cmd := exec.Command(os.Args[0], append([]string{"shell", "--shell", "/bin/sh", "--socket", sock}, args...)...)
		cmd.Env = append(append(os.Environ(), "VIGIL_TEST_AS_VIGIL=1"), env...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		require.NoError(t, err, "%s", out)
		return string(out), 0
	}
	out, code := run(nil, "-c", `echo "hello $0 $1"; exit 3`, "zero", "one")
	require.Equal(t, 3, code, out)
	require.Contains(t, out, "hello zero one")

	// Under sshd's ForceCommand the user's command comes in the environment.
	out, code = run([]string{"SSH_ORIGINAL_COMMAND=echo from-ssh"})
	require.Equal(t, 0, code, out)
	require.Equal(t, "from-ssh", strings.TrimSpace(lastLine(out)))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
