package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/alerts"
)

func init() { addCommand((*env).sinkCmd) }

func (e *env) sinkCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sink", Short: "Check SIEM sinks from the server configuration"}
	var configPath string
	test := &cobra.Command{
		Use:   "test NAME --config FILE",
		Short: "Send a sample alert through one sink of the server configuration and say whether it arrived",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if configPath == "" {
				return &exitError{code: ExitUsage, err: errors.New("--config is required")}
			}
			c, err := loadServerConfig(configPath)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			// A private state directory: the test must not touch the running
			// server's queues.
			c.Sinks.StateDir = filepath.Join(c.DataDir, "sinks-test")
			c.Sinks.Version = Version
			d, err := alerts.New(c.Sinks, e.logger.With("component", "sinks"), nil)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if err := d.SendTest(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, alerts.ErrNotFound) {
					return &exitError{code: ExitUsage, err: err}
				}
				return failed("sink %q: %w", args[0], err)
			}
			fmt.Fprintf(e.stdout, "sink %q: the sample alert was delivered\n", args[0])
			return nil
		},
	}
	test.Flags().StringVar(&configPath, "config", "", "the server's configuration file")
	cmd.AddCommand(test)
	return cmd
}
