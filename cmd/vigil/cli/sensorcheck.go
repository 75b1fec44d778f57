package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/sensors/cloudsync"
	"github.com/vigil-itm/vigil/sensors/email"
	"github.com/vigil-itm/vigil/sensors/netconn"
	"github.com/vigil-itm/vigil/sensors/printing"
)

func init() {
	addCommand(func(e *env) *cobra.Command { return e.sensorsCmd() })
}

func (e *env) sensorsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sensors",
		Short: "Inspect the endpoint sensors",
	}
	cmd.AddCommand(e.sensorsCheckCmd())
	return cmd
}

// finding is one line of the check report.
type finding struct {
	subject, detail, fix string
	ok                   bool
}

// sensorCheck diagnoses one sensor from its config section.
type sensorCheck struct {
	name  string
	check func(node *yaml.Node) ([]finding, error)
}

var sensorChecks = []sensorCheck{
	{cloudsync.Name, func(node *yaml.Node) ([]finding, error) {
		cfg, err := cloudsync.ParseConfig(node)
		if err != nil {
			return nil, err
		}
		return convertFindings(cloudsync.Diagnose(cfg), func(d cloudsync.Diagnosis) finding {
			return finding{d.Subject, d.Detail, d.Fix, d.OK}
		}), nil
	}},
	{email.Name, func(node *yaml.Node) ([]finding, error) {
		cfg, err := email.ParseConfig(node)
		if err != nil {
			return nil, err
		}
		return convertFindings(email.Diagnose(cfg), func(d email.Diagnosis) finding {
			return finding{d.Subject, d.Detail, d.Fix, d.OK}
		}), nil
	}},
	{netconn.Name, func(node *yaml.Node) ([]finding, error) {
		cfg, err := netconn.ParseConfig(node)
		if err != nil {
			return nil, err
		}
		return convertFindings(netconn.Diagnose(cfg), func(d netconn.Diagnosis) finding {
			return finding{d.Subject, d.Detail, d.Fix, d.OK}
		}), nil
	}},
	{printing.Name, func(node *yaml.Node) ([]finding, error) {
		cfg, err := printing.ParseConfig(node)
		if err != nil {
			return nil, err
		}
		return convertFindings(printing.Diagnose(cfg), func(d printing.Diagnosis) finding {
			return finding{d.Subject, d.Detail, d.Fix, d.OK}
		}), nil
	}},
}

func convertFindings[T any](in []T, f func(T) finding) []finding {
	out := make([]finding, 0, len(in))
	for _, d := range in {
		out = append(out, f(d))
	}
	return out
}

func (e *env) sensorsCheckCmd() *cobra.Command {
	var configPath string
	var only []string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check this machine for what the data-movement sensors need, and say how to fix what is missing",
		Long: `Check the local machine for what the cloudsync, netconn, email and printing
sensors need: sync folders and inotify limits, the DNS capture privilege and
sock_diag, mail client Sent folders and the postfix log, and the CUPS
PageLogFormat the printing sensor reads (Debian ships cupsd.conf without it,
which turns page logging off). Each finding that fails says what to change.

With --config, sensor sections are read from that YAML file: either under a
top-level "sensors" key or at the top level, keyed by sensor name. Without
it, every sensor is checked with its defaults.

Exit codes: 0 everything needed is there, 1 something is missing (each
finding says how to fix it), 2 bad command line, 3 the config could not be
read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sections, err := sensorSections(configPath)
			if err != nil {
				return cannot(err)
			}
			for _, name := range only {
				if !slices.ContainsFunc(sensorChecks, func(c sensorCheck) bool { return c.name == name }) {
					return fmt.Errorf("--sensor %q: not one of cloudsync, email, netconn, printing", name)
				}
			}
			problems := 0
			for _, c := range sensorChecks {
				if len(only) > 0 && !slices.Contains(only, c.name) {
					continue
				}
				findings, err := c.check(sections[c.name])
				if err != nil {
					return cannot(fmt.Errorf("config of sensor %s: %w", c.name, err))
				}
				problems += writeFindings(e.stdout, c.name, findings)
			}
			if problems > 0 {
				return failed("%d problem(s) found", problems)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "YAML file with the sensors' config sections")
	cmd.Flags().StringSliceVar(&only, "sensor", nil, "check only these sensors (repeatable)")
	return cmd
}

// sensorSections reads the config sections by sensor name.
func sensorSections(path string) (map[string]*yaml.Node, error) {
	out := map[string]*yaml.Node{}
	if path == "" {
		return out, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse config %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return out, nil
	}
	m := doc.Content[0]
	if s := mappingValue(m, "sensors"); s != nil {
		m = s
	}
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config %s: line %d: want a mapping of sensor sections", path, m.Line)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		out[m.Content[i].Value] = m.Content[i+1]
	}
	return out, nil
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// writeFindings prints one sensor's findings and returns how many failed.
func writeFindings(w io.Writer, name string, findings []finding) int {
	fmt.Fprintln(w, name)
	bad := 0
	for _, f := range findings {
		mark := "ok  "
		if !f.ok {
			mark = "FAIL"
			bad++
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark, f.subject, f.detail)
		if !f.ok && f.fix != "" {
			fmt.Fprintf(w, "       fix: %s\n", strings.ReplaceAll(f.fix, "\n", "\n       "))
		}
	}
	return bad
}
