package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/sensors/terminal"
)

// shellArgv0Login records whether the program was started as a login shell
// (argv[0] begins with "-", as login(1) and sshd do).
var shellArgv0Login bool

// shellExit ends the process with the shell's exit status.
var shellExit = os.Exit

func init() {
	// Installed as a login shell through a link named vigil-shell, the
	// program is started as "-vigil-shell" with no sub-command; route that
	// to `vigil shell` before the command line is parsed.
	if len(os.Args) > 0 {
		base := filepath.Base(os.Args[0])
		if strings.TrimPrefix(base, "-") == "vigil-shell" {
			shellArgv0Login = strings.HasPrefix(base, "-")
			os.Args = append([]string{os.Args[0], "shell"}, os.Args[1:]...)
		}
	}
	addCommand(func(e *env) *cobra.Command { return e.shellCmd() })
}

// shellArgs is the parsed command line of `vigil shell`.
type shellArgs struct {
	shell, socket, config string
	command               string
	hasCommand, login     bool
	extra                 []string // $0 $1 ... after -c COMMAND
	help                  bool
}

// parseShellArgs reads the options a login shell is started with (-l, -i,
// -c COMMAND, combined as in -lc) and vigil's own. It never fails: a
// user's login must not break on an option it does not know.
func parseShellArgs(args []string) (shellArgs, []string) {
	var a shellArgs
	a.config = terminal.DefaultShellConfigPath
	var ignored []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if a.hasCommand {
			a.extra = append(a.extra, arg)
			continue
		}
		name, value, hasValue := strings.Cut(arg, "=")
		next := func() string {
			if hasValue {
				return value
			}
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch name {
		case "--shell":
			a.shell = next()
			continue
		case "--socket":
			a.socket = next()
			continue
		case "--config":
			a.config = next()
			continue
		case "--login":
			a.login = true
			continue
		case "--help", "-h":
			a.help = true
			continue
		case "--command":
			a.command, a.hasCommand = next(), true
			continue
		}
		if len(arg) > 1 && arg[0] == '-' && arg[1] != '-' && strings.Trim(arg[1:], "lic") == "" {
			for _, f := range arg[1:] {
				switch f {
				case 'l':
					a.login = true
				case 'c':
					if i+1 < len(args) {
						i++
						a.command = args[i]
					}
					a.hasCommand = true
				}
			}
			continue
		}
		ignored = append(ignored, arg)
	}
	return a, ignored
}

func (e *env) shellCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "shell [-l] [-c COMMAND] [--shell PATH] [--socket PATH] [--config PATH]",
		Short: "Run the user's shell with terminal recording (a login shell wrapper)",
		Long: `Run the user's real shell in a pseudo-terminal, record its input and output
(asciicast v2) and the command lines entered, and send them to the local
agent's terminal sensor over a unix socket. Set it as a user's login shell
(through a link named vigil-shell) or as sshd's ForceCommand.

The real shell is --shell, else $VIGIL_SHELL, else "shell" in the config file
(/etc/vigil/shell.yaml), else the user's shell in the password database
unless that is vigil itself, else /bin/bash. -c COMMAND (or
$SSH_ORIGINAL_COMMAND under ForceCommand) runs one command; without a
terminal it runs without a pty and only the command is reported.

The shell always starts, whether or not the agent is running: recording is
best effort, buffered in memory up to buffer_bytes. The exit status is the
shell's.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, ignored := parseShellArgs(args)
			if a.help {
				return cmd.Help()
			}
			log := e.logger.With("component", "shell")
			if len(ignored) > 0 {
				log.Warn("ignoring unknown shell options", "args", ignored)
			}
			cfg, err := terminal.LoadShellConfig(a.config)
			if err != nil {
				log.Warn("using default shell settings", "err", err)
			}
			socket := firstNonEmpty(a.socket, os.Getenv(terminal.EnvSocket), cfg.Socket)
			o := terminal.ShellOptions{
				Shell:            terminal.ResolveShell(os.Getuid(), a.shell, os.Getenv(terminal.EnvShell), cfg.Shell),
				Command:          a.command,
				HasCommand:       a.hasCommand,
				Login:            a.login || shellArgv0Login,
				Socket:           socket,
				BufferBytes:      cfg.BufferBytes,
				ShellIntegration: cfg.ShellIntegration,
				Logger:           log,
				Stderr:           os.Stderr,
			}
			if f, ok := e.stdin.(*os.File); ok {
				o.Stdin = f
			}
			if f, ok := e.stdout.(*os.File); ok {
				o.Stdout = f
			}
			if f, ok := e.stderr.(*os.File); ok {
				o.Stderr = f
			}
			if !o.HasCommand {
				if sc, ok := os.LookupEnv("SSH_ORIGINAL_COMMAND"); ok && sc != "" {
					// sshd ForceCommand: run what the client asked for.
					o.Command, o.HasCommand = sc, true
				} else if os.Getenv("SSH_CONNECTION") != "" && os.Getenv("SSH_TTY") != "" {
					o.Login = true // an interactive ssh session under ForceCommand
				}
			}
			o.CommandArgs = a.extra
			code, err := terminal.RunShell(cmd.Context(), o)
			if err != nil {
				fmt.Fprintln(e.stderr, "vigil shell:", err)
			}
			if code != 0 {
				shellExit(code)
			}
			return nil
		},
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
