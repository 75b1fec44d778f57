package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vigil-itm/vigil/evidence"
)

func init() {
	addCommand(func(e *env) *cobra.Command { return e.evidenceCmd() })
}

func (e *env) evidenceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evidence",
		Short: "Verify, export and countersign evidence packages; make signing keys",
		Long: `Evidence packages are what an endpoint writes when a rule fires: screen
frames with a hash chain, keystrokes, clipboard, terminal sessions, a manifest
listing every file's SHA-256, and the agent's Ed25519 signature of the
manifest. These commands work offline with nothing but the package and the
public keys.`,
	}
	cmd.AddCommand(e.evidenceVerifyCmd(), e.evidenceExportCmd(), e.evidenceKeygenCmd(), e.evidenceCountersignCmd(), e.evidenceZipCmd())
	return cmd
}

func loadPub(path string) (ed25519.PublicKey, error) {
	if path == "" {
		return nil, nil
	}
	k, err := evidence.LoadPublicKey(path)
	if err != nil {
		return nil, cannot(err)
	}
	return k, nil
}

func (e *env) evidenceVerifyCmd() *cobra.Command {
	var keyPath, serverKeyPath string
	var requireCS, asJSON bool
	cmd := &cobra.Command{
		Use:   "verify PATH",
		Short: "Check an evidence package (directory or .zip): every hash, the frame chain, both signatures",
		Long: `Check an evidence package, a directory or a .zip: the manifest, the agent
signature (against --key when given, else against the key the manifest
embeds, which proves integrity but not origin), the server countersignature
when present (against --server-key when given), every file's size and
SHA-256, that no file was added or removed, the frame hash chain, and the
order of keystroke and clipboard records.

Exit codes: 0 verified, 1 verification failed (each failure is printed),
3 the package or a key could not be read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			agent, err := loadPub(keyPath)
			if err != nil {
				return err
			}
			server, err := loadPub(serverKeyPath)
			if err != nil {
				return err
			}
			rep, err := evidence.Verify(args[0], evidence.VerifyOptions{AgentKey: agent, ServerKey: server, RequireCountersignature: requireCS})
			if err != nil {
				return cannot(err)
			}
			if asJSON {
				rep.Manifest = nil
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return cannot(fmt.Errorf("write report: %w", err))
				}
			} else {
				printReport(e, rep)
			}
			if !rep.OK {
				return failed("evidence package %s failed verification (%d problem(s))", args[0], len(rep.Failures))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keyPath, "key", "", "the agent's public key (PEM) to pin the signature to")
	cmd.Flags().StringVar(&serverKeyPath, "server-key", "", "the server's public key (PEM) for the countersignature")
	cmd.Flags().BoolVar(&requireCS, "require-countersig", false, "fail when the server has not countersigned")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func printReport(e *env, rep evidence.Report) {
	verdict := "VERIFIED"
	if !rep.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", rep.Path, verdict)
	if m := rep.Manifest; m != nil {
		fmt.Fprintf(e.stdout, "  alert      %s (%s) rules %v, bundle %s@%s\n", m.AlertID, m.Severity, m.RuleIDs, m.Bundle.Name, m.Bundle.Revision)
		fmt.Fprintf(e.stdout, "  user/host  %s on %s\n", m.User, m.Host)
		fmt.Fprintf(e.stdout, "  window     %s to %s\n", m.Window.Start.Format("2006-01-02T15:04:05.000Z07:00"), m.Window.End.Format("2006-01-02T15:04:05.000Z07:00"))
	}
	pinned := "embedded key, not pinned"
	if rep.KeyPinned {
		pinned = "pinned"
	}
	if rep.SignedBy != "" {
		fmt.Fprintf(e.stdout, "  signed by  %s (%s)\n", rep.SignedBy, pinned)
	}
	if rep.Countersigned {
		fmt.Fprintf(e.stdout, "  countersigned by %s at %s\n", rep.CountersignedBy, rep.CountersignedAt.Format("2006-01-02T15:04:05Z07:00"))
	}
	fmt.Fprintf(e.stdout, "  checked    %d file(s), %d frame(s) in the chain\n", rep.FilesChecked, rep.FramesChecked)
	for _, w := range rep.Warnings {
		fmt.Fprintf(e.stdout, "  warning: %s\n", w)
	}
	for _, f := range rep.Failures {
		fmt.Fprintf(e.stdout, "  FAIL: %s\n", f)
	}
}

func (e *env) evidenceExportCmd() *cobra.Command {
	var keyPath, serverKeyPath, out, ffmpeg string
	var force bool
	cmd := &cobra.Command{
		Use:   "export PATH -o OUT.zip",
		Short: "Write a hand-over zip: the original package, an HTML report, and an MP4 of the screen when ffmpeg is installed",
		Long: `Verify the package, then write a zip for legal or HR hand-over: the
original package byte for byte under package/<alert-id>/, report.html (the
alert, the verdict, every hash), video.mp4 rendered from the frames when
ffmpeg is installed (else the frames only, as the report says), and
SHA256SUMS. A package that fails verification is not exported unless
--force is given, and then the report says it failed.

Exit codes: 0 exported, 1 the package failed verification, 3 could not
read or write.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return &exitError{code: ExitUsage, err: errors.New("-o OUT.zip is required")}
			}
			agent, err := loadPub(keyPath)
			if err != nil {
				return err
			}
			server, err := loadPub(serverKeyPath)
			if err != nil {
				return err
			}
			tmp := out + ".tmp"
			f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return cannot(fmt.Errorf("export: %w", err))
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			res, err := evidence.Export(ctx, args[0], f, evidence.ExportOptions{
				Verify: evidence.VerifyOptions{AgentKey: agent, ServerKey: server}, FFmpeg: ffmpeg, Force: force})
			cerr := f.Close()
			if err == nil && cerr != nil {
				err = fmt.Errorf("export: close %s: %w", tmp, cerr)
			}
			if err != nil {
				_ = os.Remove(tmp)
				if errors.Is(err, evidence.ErrNotVerified) {
					printReport(e, res.Report)
					return failed("%w", err)
				}
				return cannot(err)
			}
			if err := os.Rename(tmp, out); err != nil {
				return cannot(fmt.Errorf("export: %w", err))
			}
			printReport(e, res.Report)
			if res.Video != "" {
				fmt.Fprintf(e.stdout, "  video      %s (sha256 %s)\n", res.Video, res.VideoSHA256)
			} else {
				fmt.Fprintf(e.stdout, "  video      none: %s\n", res.VideoNote)
			}
			fmt.Fprintf(e.stdout, "exported to %s\n", out)
			if !res.Report.OK {
				return failed("evidence package %s failed verification; exported with --force", args[0])
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the hand-over zip to write")
	cmd.Flags().StringVar(&keyPath, "key", "", "the agent's public key (PEM)")
	cmd.Flags().StringVar(&serverKeyPath, "server-key", "", "the server's public key (PEM)")
	cmd.Flags().StringVar(&ffmpeg, "ffmpeg", "", `ffmpeg binary (default: "ffmpeg" on PATH; "-" for no video)`)
	cmd.Flags().BoolVar(&force, "force", false, "export even when verification fails")
	return cmd
}

func (e *env) evidenceKeygenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen --out KEY",
		Short: "Make an Ed25519 signing key (PKCS#8 PEM, mode 0600) and KEY.pub",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if out == "" {
				return &exitError{code: ExitUsage, err: errors.New("--out KEY is required")}
			}
			k, err := evidence.GenerateKey()
			if err != nil {
				return cannot(err)
			}
			if err := evidence.WriteKeyFiles(k, out, out+".pub"); err != nil {
				return cannot(err)
			}
			pub, _ := k.Public().(ed25519.PublicKey)
			fmt.Fprintf(e.stdout, "wrote %s and %s (%s)\n", out, out+".pub", evidence.KeyID(pub))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "private key file to create; the public key goes to FILE.pub")
	return cmd
}

func (e *env) evidenceCountersignCmd() *cobra.Command {
	var keyPath, agentKeyPath string
	cmd := &cobra.Command{
		Use:   "countersign DIR --key SERVER_KEY",
		Short: "Verify a received package and add the server countersignature (manifest.countersig)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if keyPath == "" {
				return &exitError{code: ExitUsage, err: errors.New("--key SERVER_KEY is required")}
			}
			key, err := evidence.LoadPrivateKey(keyPath)
			if err != nil {
				return cannot(err)
			}
			agent, err := loadPub(agentKeyPath)
			if err != nil {
				return err
			}
			rep, err := evidence.Verify(args[0], evidence.VerifyOptions{AgentKey: agent})
			if err != nil {
				return cannot(err)
			}
			if !rep.OK {
				printReport(e, rep)
				return failed("evidence package %s failed verification: not countersigned", args[0])
			}
			if err := evidence.Countersign(args[0], key); err != nil {
				return cannot(err)
			}
			pub, _ := key.Public().(ed25519.PublicKey)
			fmt.Fprintf(e.stdout, "countersigned %s with %s\n", args[0], evidence.KeyID(pub))
			return nil
		},
	}
	cmd.Flags().StringVar(&keyPath, "key", "", "the server's private key (PEM)")
	cmd.Flags().StringVar(&agentKeyPath, "agent-key", "", "the agent's public key (PEM) to pin the signature to")
	return cmd
}

func (e *env) evidenceZipCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "zip DIR -o OUT.zip",
		Short: "Pack a package directory into a zip that verify accepts",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if out == "" {
				out = filepath.Clean(args[0]) + ".zip"
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return cannot(fmt.Errorf("zip: %w", err))
			}
			err = evidence.Zip(args[0], f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				_ = os.Remove(out)
				return cannot(err)
			}
			fmt.Fprintf(e.stdout, "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "zip to write (default DIR.zip)")
	return cmd
}
