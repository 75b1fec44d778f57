package cli

import (
	"bufio"
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
)

func (e *env) generateCmd() *cobra.Command {
	var n, users int
	var seed int64
	var rate float64
	var start string
	cmd := &cobra.Command{
		Use:   "generate --events N",
		Short: "Write a generated, realistic mixed event stream as JSON lines (for trials and load tests)",
		Long: `Write N generated events as JSON lines to standard output: every action of
the vocabulary, the given number of users with their own hosts, realistic
field sizes, personal and corporate destinations mixed. The same seed gives
the same stream.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n <= 0 || users <= 0 {
				return &exitError{code: ExitUsage, err: errors.New("--events and --users must be positive")}
			}
			opts := eventgen.Options{Users: users, Rate: rate}
			if start != "" {
				t, err := time.Parse(time.RFC3339, start)
				if err != nil {
					return &exitError{code: ExitUsage, err: err}
				}
				opts.Start = t
			}
			g := eventgen.New(seed, opts)
			w := bufio.NewWriterSize(e.stdout, 1<<20)
			buf := make([]byte, 0, 4096)
			for range n {
				var err error
				buf, err = event.AppendJSON(buf[:0], g.Next())
				if err != nil {
					return cannot(err)
				}
				buf = append(buf, '\n')
				if _, err := w.Write(buf); err != nil {
					return cannot(err)
				}
			}
			if err := w.Flush(); err != nil {
				return cannot(err)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&n, "events", 1000, "number of events")
	cmd.Flags().IntVar(&users, "users", 1000, "number of distinct users")
	cmd.Flags().Int64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().Float64Var(&rate, "rate", 20, "mean events per second of event time")
	cmd.Flags().StringVar(&start, "start", "", "event time of the first event (RFC 3339; default the generator's)")
	return cmd
}
