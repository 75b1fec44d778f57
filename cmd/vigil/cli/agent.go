package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/agent"
	"github.com/vigil-itm/vigil/sensors"
	_ "github.com/vigil-itm/vigil/sensors/all" // every sensor registers itself
	"github.com/vigil-itm/vigil/store"
	"github.com/vigil-itm/vigil/store/sqlite"
)

func init() { addCommand((*env).agentCmd) }

// localAgent is the agent `vigil run` starts beside the server.
type localAgent struct {
	dataDir string
	sensors []string
	noAgent bool
	version string
}

// build prepares the local agent; it enrolls with a one-time token made in
// the store on its first start. It returns nil when the agent is off.
func (l *localAgent) build(ctx context.Context, db *sqlite.DB, serverURL string, logger *slog.Logger) (*agent.Agent, error) {
	if l.noAgent {
		return nil, nil
	}
	var cfg agent.Config
	// DIR/agent/agent.yml, when present, configures the local agent (its
	// sensors above all); the server and data directory are always these.
	if p := filepath.Join(l.dataDir, "agent.yml"); fileExists(p) {
		c, err := agent.LoadConfigFor(p, serverURL, l.dataDir)
		if err != nil {
			return nil, err
		}
		cfg = *c
	}
	cfg.Server, cfg.DataDir = serverURL, l.dataDir
	if len(l.sensors) > 0 {
		cfg.OnlySensors = l.sensors
	}
	if _, err := os.Stat(filepath.Join(l.dataDir, "agent.json")); errors.Is(err, os.ErrNotExist) {
		_, secret, err := db.Tokens().Create(ctx, store.NewToken{Name: "local agent enrollment", Role: store.RoleAgent,
			Kind: store.TokenEnrollment, SingleUse: true, CreatedBy: "vigil run"})
		if err != nil {
			return nil, err
		}
		cfg.EnrollToken = secret
	}
	opts, err := agentOptions(l.dataDir, l.version, logger)
	if err != nil {
		return nil, err
	}
	return agent.New(cfg, opts)
}

func (e *env) agentCmd() *cobra.Command {
	var (
		configPath, serverURL, enrollToken, dataDir, serverCA string
		sensorList                                            []string
		listSensors                                           bool
	)
	cmd := &cobra.Command{
		Use:   "agent --server URL --enroll-token TOKEN",
		Short: "Run the endpoint agent: sensors, the embedded engine, evidence and the upload spool",
		Long: `Run the Vigil endpoint agent. On first start it enrolls with the server using
the enrollment token (vigil token create --kind enrollment) and keeps its
credentials, its evidence signing key, the last good policy bundle and its
upload spool under --data-dir. Sensors that are on by default run unless
--sensors names the ones to run; --config gives a strict YAML file with every
setting (see docs/operations.md). SIGINT or SIGTERM drains and stops it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Signals first: a SIGTERM while the bundle compiles still stops
			// the agent cleanly.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if listSensors {
				for _, r := range sensors.Registered() {
					on := "off"
					if r.DefaultEnabled {
						on = "on"
					}
					fmt.Fprintf(e.stdout, "%-12s %-3s %s\n", r.Name, on, r.Description)
				}
				return nil
			}
			var cfg agent.Config
			if configPath != "" {
				c, err := agent.LoadConfig(configPath)
				if err != nil {
					return &exitError{code: ExitUsage, err: err}
				}
				cfg = *c
			}
			if serverURL != "" {
				cfg.Server = serverURL
			}
			if enrollToken != "" {
				cfg.EnrollToken = enrollToken
			}
			if dataDir != "" {
				cfg.DataDir = dataDir
			}
			if cfg.DataDir == "" {
				cfg.DataDir = filepath.Join(defaultDataDir(), "agent")
			}
			if serverCA != "" {
				cfg.ServerCAFile = serverCA
			}
			if len(sensorList) > 0 {
				cfg.OnlySensors = sensorList
			}
			cfg.SetDefaults()
			if err := cfg.Validate(); err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			opts, err := agentOptions(cfg.DataDir, Version, logger)
			if err != nil {
				return cannot(err)
			}
			a, err := agent.New(cfg, opts)
			if err != nil {
				return cannot(err)
			}
			fmt.Fprintf(e.stdout, "Vigil agent for %s: data in %s, bundle %s@%s\n", cfg.Server, cfg.DataDir,
				a.Program().Name(), a.Program().Revision())
			if err := a.Run(ctx); err != nil {
				return cannot(err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "strict YAML configuration file (flags override it)")
	f.StringVar(&serverURL, "server", "", "URL of the Vigil server, such as https://vigil.corp:8470")
	f.StringVar(&enrollToken, "enroll-token", "", "enrollment token for the first start")
	f.StringVar(&dataDir, "data-dir", "", "where the agent keeps its credentials, bundle and spool (default DATA/agent)")
	f.StringVar(&serverCA, "server-ca", "", "PEM certificates the server's TLS certificate must chain to")
	f.StringSliceVar(&sensorList, "sensors", nil, "run only these sensors (default: every sensor that is on by default)")
	f.BoolVar(&listSensors, "list-sensors", false, "list the sensors this build has and exit")
	return cmd
}
