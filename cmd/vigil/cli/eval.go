package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
)

// compileBundle loads and compiles a bundle for evaluation.
func (e *env) compileBundle(path, pubKey, alg string) (*engine.Program, error) {
	b, err := loadBundle(path, pubKey, alg)
	if err != nil {
		return nil, cannot(fmt.Errorf("load bundle %s: %w", path, err))
	}
	p, err := engine.Compile(b, engine.WithLogger(e.logger))
	if err != nil {
		return nil, cannot(err)
	}
	return p, nil
}

func openInput(path string, stdin io.Reader) (io.ReadCloser, int64, error) {
	if path == "-" {
		return io.NopCloser(stdin), -1, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

func (e *env) evalCmd() *cobra.Command {
	var bundlePath, eventPath, pubKey, alg string
	cmd := &cobra.Command{
		Use:   "eval --bundle B --event E.json",
		Short: "Evaluate one event against a bundle and print the decision with its explanation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bundlePath == "" || eventPath == "" {
				return &exitError{code: ExitUsage, err: errors.New("--bundle and --event are required")}
			}
			p, err := e.compileBundle(bundlePath, pubKey, alg)
			if err != nil {
				return err
			}
			in, _, err := openInput(eventPath, e.stdin)
			if err != nil {
				return cannot(err)
			}
			defer func() { _ = in.Close() }()
			raw, err := io.ReadAll(io.LimitReader(in, 16<<20))
			if err != nil {
				return cannot(err)
			}
			ev, err := event.Decode(raw)
			if err != nil {
				return cannot(fmt.Errorf("%s: %w", eventPath, err))
			}
			ev.Normalize()
			d, err := p.Evaluate(context.Background(), ev)
			if err != nil {
				return cannot(err)
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(d); err != nil {
				return cannot(err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&bundlePath, "bundle", "", "bundle directory or .tar.gz")
	cmd.Flags().StringVar(&eventPath, "event", "", "event JSON file, or - for standard input")
	cmd.Flags().StringVar(&pubKey, "verification-key", "", "verify the bundle with this PEM public key")
	cmd.Flags().StringVar(&alg, "signing-alg", "ES256", algHelp)
	return cmd
}
