package terminal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultShellConfigPath is where `vigil shell` looks for its settings.
const DefaultShellConfigPath = "/etc/vigil/shell.yaml"

// Environment variables `vigil shell` reads or sets.
const (
	// EnvShell names the real shell to run.
	EnvShell = "VIGIL_SHELL"
	// EnvSocket names the agent's socket.
	EnvSocket = "VIGIL_SHELL_SOCKET"
	// EnvSession is set inside a recorded session to its id, so that a
	// nested `vigil shell` runs the shell without recording it twice.
	EnvSession = "VIGIL_SHELL_SESSION"
)

// ShellConfig is the file that configures `vigil shell` on an endpoint
// (DefaultShellConfigPath); a missing file means the defaults.
type ShellConfig struct {
	// Shell is the real shell to run; empty means the user's shell from
	// the password database (unless that is vigil itself), else /bin/bash.
	Shell string `yaml:"shell"`
	// Socket is the agent's socket.
	Socket string `yaml:"socket"`
	// BufferBytes bounds what is kept in memory while the agent is
	// unreachable.
	BufferBytes int `yaml:"buffer_bytes"`
	// ShellIntegration lets bash report each command's exit status and
	// working directory (through PROMPT_COMMAND).
	ShellIntegration bool `yaml:"shell_integration"`
}

// DefaultShellConfig returns the defaults.
func DefaultShellConfig() ShellConfig {
	return ShellConfig{Socket: DefaultSocket, BufferBytes: 4 << 20, ShellIntegration: true}
}

// Validate reports the first invalid field.
func (c ShellConfig) Validate() error {
	switch {
	case c.Shell != "" && !filepath.IsAbs(c.Shell):
		return fmt.Errorf("shell: %q must be an absolute path", c.Shell)
	case c.Socket == "" || !filepath.IsAbs(c.Socket):
		return fmt.Errorf("socket: %q must be an absolute path", c.Socket)
	case c.BufferBytes < 64<<10 || c.BufferBytes > 256<<20:
		return fmt.Errorf("buffer_bytes: %d is outside 65536..268435456", c.BufferBytes)
	}
	return nil
}

// LoadShellConfig reads the configuration file at path over the defaults.
// A missing file is not an error.
func LoadShellConfig(path string) (ShellConfig, error) {
	c := DefaultShellConfig()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read shell config %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return DefaultShellConfig(), fmt.Errorf("shell config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return DefaultShellConfig(), fmt.Errorf("shell config %s: %w", path, err)
	}
	return c, nil
}

// ShellOptions says what RunShell runs and where it reports.
type ShellOptions struct {
	// Shell is the real shell's absolute path.
	Shell string
	// Command, when HasCommand, is run with `shell -c` (ssh commands).
	Command    string
	HasCommand bool
	// CommandArgs follow the command ($0, $1, ... of `sh -c COMMAND ARGS`).
	CommandArgs []string
	// Login starts the shell as a login shell ("-bash").
	Login bool
	// Dir is the working directory; empty means the current one.
	Dir string
	// Env is the shell's environment; nil means os.Environ().
	Env []string
	// Socket is the agent's socket.
	Socket string
	// BufferBytes bounds the client's buffer.
	BufferBytes int
	// ShellIntegration adds the bash prompt hook.
	ShellIntegration bool
	// Stdin and Stdout are the user's terminal (or the ssh channel).
	Stdin, Stdout, Stderr *os.File
	// Logger receives the wrapper's own problems; nil discards them.
	Logger *slog.Logger
}

// ResolveShell picks the real shell: the first of candidates (flag,
// $VIGIL_SHELL, config) that is an executable file other than vigil
// itself, else the shell of uid in the password database, else /bin/bash,
// else /bin/sh.
func ResolveShell(uid int, candidates ...string) string {
	for _, c := range candidates {
		if usableShell(c) {
			return c
		}
	}
	if s := passwdShell(uid); usableShell(s) {
		return s
	}
	if usableShell("/bin/bash") {
		return "/bin/bash"
	}
	return "/bin/sh"
}

func usableShell(p string) bool {
	if p == "" || !filepath.IsAbs(p) || isVigil(p) {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// isVigil reports whether p is this program (or a wrapper named after it).
func isVigil(p string) bool {
	if strings.HasPrefix(filepath.Base(p), "vigil") {
		return true
	}
	self, err := os.Executable()
	if err != nil {
		return false
	}
	a, err1 := filepath.EvalSymlinks(p)
	b, err2 := filepath.EvalSymlinks(self)
	return err1 == nil && err2 == nil && a == b
}

// passwdShell returns the login shell of uid: from /etc/passwd, else from
// getent (LDAP and other NSS users).
func passwdShell(uid int) string {
	id := strconv.Itoa(uid)
	if f, err := os.Open("/etc/passwd"); err == nil {
		defer func() { _ = f.Close() }()
		if s := shellFromPasswd(bufio.NewScanner(f), id); s != "" {
			return s
		}
	}
	out, err := exec.Command("getent", "passwd", id).Output()
	if err != nil {
		return ""
	}
	return shellFromPasswd(bufio.NewScanner(bytes.NewReader(out)), id)
}

func shellFromPasswd(sc *bufio.Scanner, uid string) string {
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 7 && f[2] == uid {
			return f[6]
		}
	}
	return ""
}
