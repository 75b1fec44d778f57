package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/internal/atomicfile"
	"github.com/vigil-itm/vigil/policies"
	"github.com/vigil-itm/vigil/policies/policytest"
)

func (e *env) policyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Work with policy bundles: lint, test, diff, keygen, build, sign, verify",
	}
	cmd.AddCommand(e.lintCmd(), e.testCmd(), e.diffCmd(), e.keygenCmd(), e.buildCmd(), e.signCmd(), e.verifyCmd())
	return cmd
}

// algHelp documents the signing algorithms OPA can verify.
const algHelp = "signing algorithm: ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384 or PS512"

// checkFormat rejects an unknown --format value as a usage error.
func checkFormat(format string) error {
	if format != "text" && format != "json" {
		return &exitError{code: ExitUsage, err: fmt.Errorf("--format %q: want text or json", format)}
	}
	return nil
}

// loadBundle loads a directory or tarball, verifying it when a key is given.
func loadBundle(path, pubKeyFile, alg string) (*policies.Bundle, error) {
	opts := []policies.LoadOption{policies.WithVigilVersion(Version)}
	if pubKeyFile != "" {
		pub, err := os.ReadFile(pubKeyFile)
		if err != nil {
			return nil, fmt.Errorf("read verification key: %w", err)
		}
		opts = append(opts, policies.WithVerificationKey(pub, alg))
	}
	return policies.Load(path, opts...)
}

// check loads and compiles a bundle and returns every diagnostic: the
// format's own (policies), lint warnings, and the engine's (CEL, Rego).
func check(path string) (*policies.Bundle, policies.Diagnostics, error) {
	b, err := policies.Load(path, policies.WithVigilVersion(Version))
	if err != nil {
		var ds policies.Diagnostics
		if errors.As(err, &ds) {
			return nil, ds, nil
		}
		return nil, nil, err
	}
	ds := policies.Lint(b)
	p, err := engine.Compile(b)
	var ce *engine.CompileError
	switch {
	case errors.As(err, &ce):
		ds = append(ds, ce.Diagnostics...)
	case err != nil:
		return b, ds, err
	default:
		ds = append(ds, p.Warnings()...)
	}
	return b, ds.Sorted(), nil
}

func (e *env) lintCmd() *cobra.Command {
	var format string
	var strict bool
	cmd := &cobra.Command{
		Use:   "lint DIR|BUNDLE.tar.gz",
		Short: "Check a bundle: structure, rule YAML, CEL conditions, Rego, data references",
		Long: `Check a bundle without running it. Every problem is printed as
file:line:column: message. Exits 1 when there is an error (or, with
--strict, a warning).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			_, ds, err := check(args[0])
			if err != nil {
				return cannot(err)
			}
			if format == "json" {
				if ds == nil {
					ds = policies.Diagnostics{}
				}
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(ds); err != nil {
					return cannot(err)
				}
			} else {
				for _, d := range ds {
					fmt.Fprintln(e.stdout, d.String())
				}
			}
			nErr, nWarn := len(ds.Errors()), len(ds.Warnings())
			if format != "json" {
				fmt.Fprintf(e.stderr, "%s: %d error(s), %d warning(s)\n", args[0], nErr, nWarn)
			}
			if nErr > 0 || strict && nWarn > 0 {
				return failed("lint %s: %d error(s), %d warning(s)", args[0], nErr, nWarn)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&strict, "strict", false, "treat warnings as errors")
	return cmd
}

func (e *env) testCmd() *cobra.Command {
	var verbose, coverage bool
	var format string
	cmd := &cobra.Command{
		Use:   "test DIR [--coverage]",
		Short: "Run a bundle's scenario tests (tests/*.yaml) and Rego unit tests (*_test.rego)",
		Long: `Run a bundle's scenario tests (tests/*.yaml) and Rego unit tests (*_test.rego).

With --coverage, also list the rules the scenarios leave unexercised. A rule
is covered when some scenario expects it to fire (expect) and some scenario
expects it to stay quiet: it is listed in expect_none, or a case with
expect_none: ["*"] has an event of an action the rule applies to. Any
uncovered rule then fails the command.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			b, err := policies.Load(args[0], policies.WithVigilVersion(Version))
			if err != nil {
				return cannot(fmt.Errorf("load bundle %s: %w", args[0], err))
			}
			rep, err := policytest.Run(context.Background(), b)
			if err != nil {
				return cannot(err)
			}
			if coverage {
				cov := policytest.Coverage(b, rep)
				rep.Coverage = &cov
			}
			if format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return cannot(err)
				}
			} else {
				for _, c := range rep.Cases {
					if c.Passed && !verbose {
						continue
					}
					status := "PASS"
					if !c.Passed {
						status = "FAIL"
					}
					fmt.Fprintf(e.stdout, "--- %s: %s %s (%s)\n", status, c.Kind, c.Name, c.Pos)
					for _, f := range c.Failures {
						fmt.Fprintf(e.stdout, "    %s\n", f)
					}
				}
				fmt.Fprintf(e.stdout, "%d passed, %d failed\n", rep.Passed, rep.Failed)
				if rep.Coverage != nil {
					printCoverage(e.stdout, rep.Coverage, verbose)
				}
			}
			if !rep.OK() {
				return failed("test %s: %d of %d failed", args[0], rep.Failed, rep.Passed+rep.Failed)
			}
			if rep.Passed == 0 {
				return failed("test %s: the bundle has no tests", args[0])
			}
			if cov := rep.Coverage; cov != nil && !cov.OK() {
				return failed("test %s: %d of %d rules not covered", args[0], len(cov.Rules)-cov.Covered, len(cov.Rules))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print passing tests too (and, with --coverage, the scenarios covering each rule)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&coverage, "coverage", false, "list the rules no scenario expects to fire or to stay quiet, and fail if there are any")
	return cmd
}

// printCoverage writes which rules the scenarios leave unexercised.
func printCoverage(w io.Writer, cov *policytest.CoverageReport, verbose bool) {
	fmt.Fprintf(w, "coverage: %d of %d rules covered", cov.Covered, len(cov.Rules))
	if len(cov.Disabled) > 0 {
		fmt.Fprintf(w, " (%d disabled, not counted)", len(cov.Disabled))
	}
	fmt.Fprintln(w)
	if verbose {
		for i := range cov.Rules {
			rc := &cov.Rules[i]
			fmt.Fprintf(w, "    %s: fires in %d scenario(s), stays quiet in %d\n", rc.Rule, len(rc.Fire), len(rc.Quiet))
		}
	}
	pos := map[string]policies.Position{}
	for _, rc := range cov.Rules {
		pos[rc.Rule] = rc.Pos
	}
	for _, list := range []struct {
		what  string
		rules []string
	}{
		{"no scenario expects it to fire (expect)", cov.UncoveredFire},
		{"no scenario expects it to stay quiet (expect_none, or a \"*\" case with an event it judges)", cov.UncoveredQuiet},
	} {
		if len(list.rules) == 0 {
			continue
		}
		fmt.Fprintf(w, "not covered: %s:\n", list.what)
		for _, id := range list.rules {
			fmt.Fprintf(w, "    %s (%s)\n", id, pos[id])
		}
	}
}

func (e *env) keygenCmd() *cobra.Command {
	var out, alg string
	cmd := &cobra.Command{
		Use:   "keygen --out PREFIX",
		Short: "Generate a bundle signing key pair: PREFIX.key (private) and PREFIX.pub",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return &exitError{code: ExitUsage, err: errors.New("--out PREFIX is required")}
			}
			priv, pub, err := policies.GenerateKey(alg)
			if err != nil {
				return cannot(err)
			}
			if err := writeNew(out+".key", priv, 0o600); err != nil {
				return cannot(err)
			}
			if err := writeNew(out+".pub", pub, 0o644); err != nil {
				return cannot(err)
			}
			fmt.Fprintf(e.stdout, "wrote %s.key (keep it secret) and %s.pub (%s)\n", out, out, alg)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "path prefix of the key files")
	cmd.Flags().StringVar(&alg, "alg", "ES256", algHelp)
	return cmd
}

// writeNew writes a file that must not exist yet: keys are never overwritten.
func writeNew(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func (e *env) buildCmd() *cobra.Command {
	var out, key, alg, revision string
	cmd := &cobra.Command{
		Use:   "build DIR -o OUT.tar.gz",
		Short: "Build a bundle directory into an OPA-compatible .tar.gz, signed when a key is given",
		Long: `Build a bundle directory into a .tar.gz that OPA's own tools read. The
rules are compiled into bundle data, so every byte of the tarball is covered
by the signature. The bundle is linted and compiled first: a bundle with
errors is never built.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return &exitError{code: ExitUsage, err: errors.New("-o OUT.tar.gz is required")}
			}
			b, ds, err := check(args[0])
			if err != nil {
				return cannot(err)
			}
			if errs := ds.Errors(); len(errs) > 0 {
				for _, d := range errs {
					fmt.Fprintln(e.stderr, d.String())
				}
				return failed("build %s: %d error(s); nothing was written", args[0], len(errs))
			}
			opts := policies.BuildOptions{Revision: revision, SigningAlg: alg}
			if key != "" {
				pem, err := os.ReadFile(key)
				if err != nil {
					return cannot(fmt.Errorf("read signing key: %w", err))
				}
				opts.SigningKey = pem
			}
			var buf bytes.Buffer
			if err := policies.Build(b, &buf, opts); err != nil {
				return cannot(fmt.Errorf("build %s: %w", args[0], err))
			}
			if err := atomicfile.WriteFile(out, buf.Bytes(), 0o600); err != nil {
				return cannot(err)
			}
			rev := revision
			if rev == "" {
				rev = b.Revision()
			}
			signed := "unsigned"
			if key != "" {
				signed = "signed " + alg
			}
			fmt.Fprintf(e.stdout, "built %s: %s revision %s, %d rules, %s\n", out, b.Name(), rev, len(b.Rules), signed)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output .tar.gz path")
	cmd.Flags().StringVar(&key, "signing-key", "", "PEM private key (from policy keygen) to sign with")
	cmd.Flags().StringVar(&alg, "signing-alg", "ES256", algHelp)
	cmd.Flags().StringVar(&revision, "revision", "", "revision to record in the manifest (default: the manifest's)")
	return cmd
}

func (e *env) signCmd() *cobra.Command {
	var out, key, alg string
	cmd := &cobra.Command{
		Use:   "sign BUNDLE.tar.gz --signing-key KEY [-o OUT.tar.gz]",
		Short: "Sign (or re-sign) a built bundle",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return &exitError{code: ExitUsage, err: errors.New("--signing-key is required")}
			}
			if out == "" {
				out = args[0]
			}
			pem, err := os.ReadFile(key)
			if err != nil {
				return cannot(fmt.Errorf("read signing key: %w", err))
			}
			in, err := os.Open(args[0])
			if err != nil {
				return cannot(err)
			}
			defer func() { _ = in.Close() }()
			var buf bytes.Buffer
			if err := policies.Sign(in, &buf, pem, alg); err != nil {
				return cannot(fmt.Errorf("sign %s: %w", args[0], err))
			}
			if err := atomicfile.WriteFile(out, buf.Bytes(), 0o600); err != nil {
				return cannot(err)
			}
			fmt.Fprintf(e.stdout, "signed %s (%s)\n", out, alg)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output path (default: sign in place)")
	cmd.Flags().StringVar(&key, "signing-key", "", "PEM private key")
	cmd.Flags().StringVar(&alg, "signing-alg", "ES256", algHelp)
	return cmd
}

func (e *env) verifyCmd() *cobra.Command {
	var key, alg string
	cmd := &cobra.Command{
		Use:   "verify BUNDLE.tar.gz --verification-key PUB",
		Short: "Verify a bundle's signature and every file's hash",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return &exitError{code: ExitUsage, err: errors.New("--verification-key is required")}
			}
			pub, err := os.ReadFile(key)
			if err != nil {
				return cannot(fmt.Errorf("read verification key: %w", err))
			}
			f, err := os.Open(args[0])
			if err != nil {
				return cannot(err)
			}
			defer func() { _ = f.Close() }()
			res, err := policies.Verify(f, pub, alg)
			if err != nil {
				return failed("verify %s: %w", args[0], err)
			}
			fmt.Fprintf(e.stdout, "verified %s: %s revision %s, %s signature (key id %q), %d files covered\n",
				args[0], res.Name, res.Revision, res.Algorithm, res.KeyID, len(res.Files))
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "verification-key", "", "PEM public key")
	cmd.Flags().StringVar(&alg, "signing-alg", "ES256", algHelp)
	return cmd
}
