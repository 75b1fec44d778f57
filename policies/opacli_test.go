//go:build opacli

// The OPA CLI test builds the opa binary of the OPA release in go.mod from
// the module cache (about 8s with a warm build cache, about a minute cold)
// and runs it against bundles built here. Run it with
//
//	go test -tags opacli -run TestOPACLI ./policies/

package policies

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// buildOPACLI compiles OPA's command from the module cache, with OPA's own
// go.mod and go.sum, at the version this module requires.
func buildOPACLI(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/open-policy-agent/opa").Output()
	require.NoError(t, err, "locate the OPA module")
	var mod struct {
		Version string
		Dir     string
	}
	require.NoError(t, json.Unmarshal(out, &mod))
	require.NotEmpty(t, mod.Dir)

	bin := filepath.Join(t.TempDir(), "opa")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = mod.Dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	start := time.Now()
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "build the OPA CLI:\n%s", msg)
	t.Logf("built opa %s in %s", mod.Version, time.Since(start).Round(time.Millisecond))

	version, err := exec.Command(bin, "version").Output()
	require.NoError(t, err)
	require.Contains(t, string(version), "Version: "+strings.TrimPrefix(mod.Version, "v"))
	return bin
}

func runOPA(t *testing.T, bin, dir, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestOPACLI checks with OPA's own command that bundles Vigil builds and
// signs are OPA bundles: `opa build` and `opa run` verify their signature
// (and refuse a wrong key, a tampered file and a missing signature), OPA
// finds the rules and data where Vigil put them, `opa test` runs the Rego
// tests they carry, and Vigil loads the bundle OPA writes back.
func TestOPACLI(t *testing.T) {
	opa := buildOPACLI(t)
	good := loadGood(t)

	for _, alg := range []string{"ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			k := testKey(t, alg, 0)
			other := testKey(t, alg, 1)
			signed := buildBytes(t, good, BuildOptions{SigningKey: k.priv, SigningAlg: alg})
			tampered := rewrite(t, signed, func(fs []archiveFile) []archiveFile {
				return edit(fs, "vigil/usb_allowed_users/data.json", func([]byte) []byte { return []byte(`["everyone"]`) })
			})
			write := func(name string, data []byte) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o600))
			}
			write("signed.tar.gz", signed)
			write("tampered.tar.gz", tampered)
			write("unsigned.tar.gz", buildBytes(t, good, BuildOptions{}))
			write("pub.pem", k.pub)
			write("other.pem", other.pub)

			verify := func(bundle, key string) (string, error) {
				return runOPA(t, opa, dir, "", "build", "-b", bundle,
					"--verification-key", key, "--signing-alg", alg, "-o", "out-"+bundle)
			}

			out, err := verify("signed.tar.gz", "pub.pem")
			require.NoError(t, err, out)

			out, err = verify("signed.tar.gz", "other.pem")
			require.Error(t, err)
			require.Contains(t, out, "failed to verify JWT signature")

			out, err = verify("tampered.tar.gz", "pub.pem")
			require.Error(t, err)
			require.Contains(t, out, "vigil/usb_allowed_users/data.json: digest mismatch")

			out, err = verify("unsigned.tar.gz", "pub.pem")
			require.Error(t, err)
			require.Contains(t, out, "bundle missing .signatures.json file")

			// opa run verifies too, and finds rules and data in place.
			out, err = runOPA(t, opa, dir, "data.vigil._rules[0].id\ndata.vigil.usb_allowed_users\n",
				"run", "-b", "--verification-key", "pub.pem", "--signing-alg", alg, "signed.tar.gz")
			require.NoError(t, err, out)
			require.Contains(t, out, `"usb-then-cloud"`)
			require.Contains(t, out, `"release-bot"`)

			out, err = runOPA(t, opa, dir, "", "run", "-b", "--verification-key", "other.pem", "--signing-alg", alg, "signed.tar.gz")
			require.Error(t, err)
			require.Contains(t, out, "failed to verify JWT signature")

			// The Rego unit tests travel in the bundle and pass.
			out, err = runOPA(t, opa, dir, "", "test", "-b", "signed.tar.gz")
			require.NoError(t, err, out)
			require.Contains(t, out, "PASS: 2/2")

			// What OPA writes back (all data in one /data.json) loads in
			// Vigil with the same rules and data.
			rebuilt, err := os.ReadFile(filepath.Join(dir, "out-signed.tar.gz"))
			require.NoError(t, err)
			b, err := LoadTarball(bytes.NewReader(rebuilt))
			require.NoError(t, err)
			require.Equal(t, good.Rules, b.Rules)
			require.Equal(t, good.Data, b.Data)
			require.Equal(t, good.Revision(), b.Revision())
		})
	}
}
