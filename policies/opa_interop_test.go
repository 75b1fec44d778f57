package policies

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/keys"
	"github.com/stretchr/testify/require"
)

// opaRead reads a tarball with OPA's own bundle reader and tarball loader,
// verifying it with pub filed under keyID. An empty keyID leaves the key
// choice to the signature's kid, as OPA's --verification-key flag does.
func opaRead(t *testing.T, data, pub []byte, alg, keyID string) (bundle.Bundle, error) {
	t.Helper()
	id := keyID
	if id == "" {
		id = DefaultKeyID
	}
	vc := bundle.NewVerificationConfig(map[string]*keys.Config{id: {Key: string(pub), Algorithm: alg}}, keyID, "", nil)
	return bundle.NewReader(bytes.NewReader(data)).WithBundleVerificationConfig(vc).Read()
}

func requireOPAVerifies(t *testing.T, data, pub []byte, alg, keyID string) bundle.Bundle {
	t.Helper()
	ob, err := opaRead(t, data, pub, alg, keyID)
	require.NoError(t, err)
	return ob
}

// TestOPAReaderAcceptsBuiltBundle checks that OPA's bundle reader reads and
// verifies what Build writes, finding every file where OPA's conventions
// put it.
func TestOPAReaderAcceptsBuiltBundle(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			data, k := signedGood(t, alg)
			dir := loadGood(t)

			// The kid Build writes by default is the key id OPA's CLI uses.
			ob := requireOPAVerifies(t, data, k.pub, alg, "")
			require.Equal(t, "2026.11.1", ob.Manifest.Revision)
			require.Equal(t, []string{"vigil"}, *ob.Manifest.Roots)
			require.Equal(t, "acme-itm", ob.Manifest.Metadata["name"])

			var paths []string
			for _, m := range ob.Modules {
				paths = append(paths, m.Path)
				require.NotNil(t, m.Parsed)
			}
			require.Equal(t, []string{"/policy/decision.rego", "/policy/decision_test.rego"}, paths)

			vigil, ok := ob.Data["vigil"].(map[string]any)
			require.True(t, ok)
			require.ElementsMatch(t, []string{"_rules", "usb_allowed_users", "personal_mail_domains", "settings", "sensitive_paths"}, keysOf(vigil))
			require.Equal(t, []any{"it-admin", "release-bot"}, vigil["usb_allowed_users"])
			rules, ok := vigil["_rules"].([]any)
			require.True(t, ok)
			require.Len(t, rules, len(dir.Rules))
			first, ok := rules[0].(map[string]any)
			require.True(t, ok)
			require.Equal(t, dir.Rules[0].ID, first["id"])
		})
	}
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestOPAReaderRejects checks that OPA's reader, not only Vigil's, refuses
// a wrong key, a tampered file, an unsigned bundle and an added file.
func TestOPAReaderRejects(t *testing.T) {
	data, k := signedGood(t, "ES256")
	other := testKey(t, "ES256", 1)

	_, err := opaRead(t, data, other.pub, "ES256", "")
	require.ErrorContains(t, err, "failed to verify JWT signature")

	tampered := rewrite(t, data, func(fs []archiveFile) []archiveFile {
		return edit(fs, "vigil/usb_allowed_users/data.json", func([]byte) []byte { return []byte(`["everyone"]`) })
	})
	_, err = opaRead(t, tampered, k.pub, "ES256", "")
	require.ErrorContains(t, err, "vigil/usb_allowed_users/data.json: digest mismatch")

	unsigned := buildBytes(t, loadGood(t), BuildOptions{})
	_, err = opaRead(t, unsigned, k.pub, "ES256", "")
	require.ErrorContains(t, err, "bundle missing .signatures.json file")

	added := rewrite(t, data, func(fs []archiveFile) []archiveFile {
		return append(fs, archiveFile{name: "policy/extra.rego", data: []byte("package vigil.extra\n")})
	})
	_, err = opaRead(t, added, k.pub, "ES256", "")
	require.ErrorContains(t, err, "file policy/extra.rego not included in bundle signature")
}

// TestVigilVerifiesOPASignedBundle goes the other way: a bundle signed by
// OPA's own signer (as `opa build --signing-key` does) verifies with Vigil.
func TestVigilVerifiesOPASignedBundle(t *testing.T) {
	k := testKey(t, "ES256", 0)
	unsigned := buildBytes(t, loadGood(t), BuildOptions{})
	ob, err := bundle.NewReader(bytes.NewReader(unsigned)).Read()
	require.NoError(t, err)
	require.NoError(t, ob.GenerateSignature(bundle.NewSigningConfig(string(k.priv), "ES256", ""), "default", false))
	var buf bytes.Buffer
	require.NoError(t, bundle.NewWriter(&buf).DisableFormat(true).Write(ob))

	res, err := Verify(bytes.NewReader(buf.Bytes()), k.pub, "ES256")
	require.NoError(t, err)
	require.Equal(t, "default", res.KeyID)
	b := loadTarballBytes(t, buf.Bytes(), WithVerificationKey(k.pub, "ES256"))
	require.True(t, b.Signed)
	require.Equal(t, loadGood(t).Rules, b.Rules)
}

// selfSigned wraps the public half of a PEM private key in a self-signed
// certificate.
func selfSigned(t *testing.T, privPEM []byte) []byte {
	t.Helper()
	signer, err := parsePrivatePEM(privPEM)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "vigil bundle signing"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
