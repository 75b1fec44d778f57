package policies

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// keyPair is a generated signing key pair.
type keyPair struct{ priv, pub []byte }

var (
	keysOnce  sync.Mutex
	keysByAlg = map[string][]keyPair{}
)

// testKey returns the n-th key pair for alg, generating it once per test
// binary (RSA keys are slow to make).
func testKey(t *testing.T, alg string, n int) keyPair {
	t.Helper()
	keysOnce.Lock()
	defer keysOnce.Unlock()
	for len(keysByAlg[alg]) <= n {
		priv, pub, err := GenerateKey(alg)
		require.NoError(t, err)
		keysByAlg[alg] = append(keysByAlg[alg], keyPair{priv, pub})
	}
	return keysByAlg[alg][n]
}

func signedGood(t *testing.T, alg string) ([]byte, keyPair) {
	t.Helper()
	k := testKey(t, alg, 0)
	return buildBytes(t, loadGood(t), BuildOptions{SigningKey: k.priv, SigningAlg: alg}), k
}

func TestGenerateKey(t *testing.T) {
	for alg, want := range map[string]string{
		"":      "P-256",
		"ES256": "P-256",
		"ES384": "P-384",
		"ES512": "P-521",
		"RS256": "RSA",
		"PS256": "RSA",
	} {
		k := testKey(t, alg, 0)
		block, _ := pem.Decode(k.priv)
		require.Equal(t, "PRIVATE KEY", block.Type)
		priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		require.NoError(t, err)
		switch p := priv.(type) {
		case *ecdsa.PrivateKey:
			require.Equal(t, want, p.Curve.Params().Name, alg)
		case *rsa.PrivateKey:
			require.Equal(t, "RSA", want, alg)
			require.Equal(t, 3072, p.N.BitLen())
		default:
			t.Fatalf("%s: unexpected key %T", alg, priv)
		}
		block, _ = pem.Decode(k.pub)
		require.Equal(t, "PUBLIC KEY", block.Type)
	}
	for alg, want := range map[string]string{
		"HS256": "HMAC needs the same secret on every endpoint",
		"EdDSA": "OPA bundle signatures have no Ed25519",
		"none":  `unknown signing algorithm "none"`,
	} {
		_, _, err := GenerateKey(alg)
		require.ErrorContains(t, err, want)
	}
}

func TestVerifyRoundTrip(t *testing.T) {
	for _, alg := range []string{"ES256", "ES384", "ES512", "RS256", "RS512", "PS256"} {
		t.Run(alg, func(t *testing.T) {
			data, k := signedGood(t, alg)
			res, err := Verify(bytes.NewReader(data), k.pub, alg)
			require.NoError(t, err)
			require.Equal(t, "acme-itm", res.Name)
			require.Equal(t, "2026.11.1", res.Revision)
			require.Equal(t, DefaultKeyID, res.KeyID)
			require.Equal(t, alg, res.Algorithm)

			// Every file but the signature itself is covered, with the
			// hash OPA computes.
			var names []string
			for _, f := range entries(t, data) {
				if f.name != signaturesFile {
					names = append(names, f.name)
				}
			}
			var got []string
			for _, f := range res.Files {
				got = append(got, f.Name)
				require.Equal(t, "SHA-256", f.Algorithm)
				require.Len(t, f.Hash, 64)
			}
			require.Equal(t, names, got)

			// The algorithm can be left to the key.
			_, err = Verify(bytes.NewReader(data), k.pub, "")
			if strings.HasPrefix(alg, "PS") || alg == "RS512" {
				require.ErrorIs(t, err, ErrSignature, "an RSA key defaults to RS256, which this signature does not match")
			} else {
				require.NoError(t, err)
			}

			b := loadTarballBytes(t, data, WithVerificationKey(k.pub, alg))
			require.True(t, b.Signed)
			require.Len(t, b.Rules, 8)
		})
	}
}

// TestVerifyEveryByteFlip flips each byte of a signed tarball in turn. A
// flip must fail verification unless the tarball still decompresses to the
// very same tar stream: gzip header fields that carry no content (time, OS,
// flags) and, rarely, deflate codes that decode to the same output can
// change without any reader seeing a different byte. Everything a reader
// sees is covered by the file hashes or the gzip CRC.
func TestVerifyEveryByteFlip(t *testing.T) {
	data, k := signedGood(t, "ES256")
	original := gunzipAll(t, data)
	_, err := Verify(bytes.NewReader(data), k.pub, "ES256")
	require.NoError(t, err)
	var unseen []int
	for i := range data {
		flipped := append([]byte(nil), data...)
		flipped[i] ^= 0xff
		_, verifyErr := Verify(bytes.NewReader(flipped), k.pub, "ES256")
		_, loadErr := LoadTarball(bytes.NewReader(flipped), WithVerificationKey(k.pub, "ES256"))
		if verifyErr == nil || loadErr == nil {
			require.Equal(t, verifyErr == nil, loadErr == nil, "byte %d: Verify and LoadTarball disagree", i)
			same, ok := tryGunzip(flipped)
			require.True(t, ok && bytes.Equal(original, same), "byte %d of %d flipped and the tarball still verifies with different content", i, len(data))
			unseen = append(unseen, i)
		}
	}
	// The gzip header's time (bytes 4-7), extra flags (8) and OS (9).
	for _, i := range []int{4, 5, 6, 7, 8, 9} {
		require.Contains(t, unseen, i)
	}
	require.Less(t, len(unseen), 16, "flips that change nothing a reader sees are rare: %v", unseen)
	t.Logf("%d of %d single-byte flips fail verification; %d change no byte of the tar stream (offsets %v)",
		len(data)-len(unseen), len(data), len(unseen), unseen)
}

func gunzipAll(t *testing.T, data []byte) []byte {
	t.Helper()
	out, ok := tryGunzip(data)
	require.True(t, ok)
	return out
}

// tryGunzip decompresses one gzip member, with the CRC checked.
func tryGunzip(data []byte) ([]byte, bool) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, false
	}
	out, err := io.ReadAll(gz)
	return out, err == nil
}

func TestVerifyTamperedFiles(t *testing.T) {
	data, k := signedGood(t, "ES256")
	cases := []struct {
		name   string
		change func([]archiveFile) []archiveFile
		want   string
	}{
		{
			name: "policy changed",
			change: func(fs []archiveFile) []archiveFile {
				return edit(fs, "policy/decision.rego", func(b []byte) []byte {
					return bytes.Replace(b, []byte(`default decision := {"alert": false}`), []byte(`default decision := {"alert": true}`), 1)
				})
			},
			want: "policy/decision.rego: digest mismatch",
		},
		{
			name: "allow-list extended",
			change: func(fs []archiveFile) []archiveFile {
				return edit(fs, "vigil/usb_allowed_users/data.json", func([]byte) []byte { return []byte(`["it-admin","release-bot","jdoe"]`) })
			},
			want: "vigil/usb_allowed_users/data.json: digest mismatch",
		},
		{
			name: "rule threshold raised",
			change: func(fs []archiveFile) []archiveFile {
				return edit(fs, rulesDataFile, func(b []byte) []byte {
					return bytes.Replace(b, []byte(`"count":50`), []byte(`"count":5000`), 1)
				})
			},
			want: "vigil/_rules/data.json: digest mismatch",
		},
		{
			name: "revision changed",
			change: func(fs []archiveFile) []archiveFile {
				return edit(fs, ManifestFile, func(b []byte) []byte { return bytes.Replace(b, []byte("2026.11.1"), []byte("2026.11.2"), 1) })
			},
			want: ".manifest: digest mismatch",
		},
		{
			name: "file added",
			change: func(fs []archiveFile) []archiveFile {
				return append(fs, archiveFile{name: "policy/backdoor.rego", data: []byte("package vigil.backdoor\n")})
			},
			want: "file policy/backdoor.rego not included in bundle signature",
		},
		{
			name: "file removed",
			change: func(fs []archiveFile) []archiveFile {
				return remove(fs, "policy/decision_test.rego")
			},
			want: "signed file(s) missing from the bundle: policy/decision_test.rego",
		},
		{
			name: "signature removed",
			change: func(fs []archiveFile) []archiveFile {
				return remove(fs, signaturesFile)
			},
			want: "the bundle is not signed (no /.signatures.json)",
		},
		{
			name: "signature garbled",
			change: func(fs []archiveFile) []archiveFile {
				return edit(fs, signaturesFile, func([]byte) []byte { return []byte(`{"signatures": ["a.b.c"]}`) })
			},
			want: "bundle signature verification failed",
		},
		{
			name: "plugin signature",
			change: func(fs []archiveFile) []archiveFile {
				return edit(fs, signaturesFile, func([]byte) []byte { return []byte(`{"signatures": ["a.b.c"], "plugin": "mine"}`) })
			},
			want: `names signature plugin "mine"`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tampered := rewrite(t, data, c.change)
			_, err := Verify(bytes.NewReader(tampered), k.pub, "ES256")
			require.ErrorIs(t, err, ErrSignature)
			require.ErrorContains(t, err, c.want)

			_, err = LoadTarball(bytes.NewReader(tampered), WithVerificationKey(k.pub, "ES256"))
			require.ErrorIs(t, err, ErrSignature)
			require.ErrorContains(t, err, c.want)

			// Without a key the content still loads (when it is valid):
			// verification is what catches tampering.
			if c.name == "rule threshold raised" {
				b := loadTarballBytes(t, tampered)
				require.Equal(t, int64(5000), ruleByID(t, b, "usb-mass-copy").Threshold.Count)
			}
		})
	}
}

func edit(fs []archiveFile, name string, change func([]byte) []byte) []archiveFile {
	out := append([]archiveFile(nil), fs...)
	for i := range out {
		if out[i].name == name {
			out[i].data = change(out[i].data)
		}
	}
	return out
}

func remove(fs []archiveFile, name string) []archiveFile {
	var out []archiveFile
	for _, f := range fs {
		if f.name != name {
			out = append(out, f)
		}
	}
	return out
}

func TestVerifyRejects(t *testing.T) {
	data, k := signedGood(t, "ES256")
	other := testKey(t, "ES256", 1)
	rsaKey := testKey(t, "RS256", 0)

	t.Run("unsigned", func(t *testing.T) {
		unsigned := buildBytes(t, loadGood(t), BuildOptions{})
		_, err := Verify(bytes.NewReader(unsigned), k.pub, "ES256")
		require.ErrorIs(t, err, ErrSignature)
		require.EqualError(t, err, "verify bundle: bundle signature verification failed: the bundle is not signed (no /.signatures.json)")
		_, err = LoadTarball(bytes.NewReader(unsigned), WithVerificationKey(k.pub, "ES256"))
		require.ErrorIs(t, err, ErrSignature)
	})
	t.Run("wrong key", func(t *testing.T) {
		_, err := Verify(bytes.NewReader(data), other.pub, "ES256")
		require.ErrorIs(t, err, ErrSignature)
		require.ErrorContains(t, err, "failed to verify JWT signature")
		_, err = LoadTarball(bytes.NewReader(data), WithVerificationKey(other.pub, "ES256"))
		require.ErrorIs(t, err, ErrSignature)
	})
	t.Run("key of another type", func(t *testing.T) {
		_, err := Verify(bytes.NewReader(data), rsaKey.pub, "")
		require.ErrorIs(t, err, ErrSignature)
	})
	t.Run("algorithm that does not fit the key", func(t *testing.T) {
		_, err := Verify(bytes.NewReader(data), k.pub, "RS256")
		require.ErrorContains(t, err, "verification key: signing algorithm RS256 does not fit an ECDSA P-256 key")
		_, err = Verify(bytes.NewReader(data), k.pub, "HS256")
		require.ErrorContains(t, err, "HMAC needs the same secret")
	})
	t.Run("private key given to the verifier", func(t *testing.T) {
		_, err := Verify(bytes.NewReader(data), k.priv, "ES256")
		require.ErrorContains(t, err, "never ship the private key to verifiers")
	})
	t.Run("not a key", func(t *testing.T) {
		_, err := Verify(bytes.NewReader(data), []byte("hello"), "ES256")
		require.ErrorContains(t, err, "no PEM public key found")
	})
	t.Run("repacked with another compression level", func(t *testing.T) {
		// The content is what is signed; recompressing it changes nothing.
		var buf bytes.Buffer
		gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		require.NoError(t, err)
		_, err = gz.Write(gunzipAll(t, data))
		require.NoError(t, err)
		require.NoError(t, gz.Close())
		require.NotEqual(t, data, buf.Bytes())
		_, err = Verify(bytes.NewReader(buf.Bytes()), k.pub, "ES256")
		require.NoError(t, err)
	})
	t.Run("certificate as the verification key", func(t *testing.T) {
		cert := selfSigned(t, k.priv)
		_, err := Verify(bytes.NewReader(data), cert, "ES256")
		require.NoError(t, err)
	})
}

func TestSign(t *testing.T) {
	a := testKey(t, "ES256", 0)
	b := testKey(t, "RS256", 0)
	unsigned := buildBytes(t, loadGood(t), BuildOptions{})

	var first bytes.Buffer
	require.NoError(t, Sign(bytes.NewReader(unsigned), &first, a.priv, ""))
	res, err := Verify(bytes.NewReader(first.Bytes()), a.pub, "")
	require.NoError(t, err)
	require.Equal(t, "ES256", res.Algorithm)

	var second bytes.Buffer
	require.NoError(t, Sign(bytes.NewReader(first.Bytes()), &second, string(b.priv), "RS256"))
	_, err = Verify(bytes.NewReader(second.Bytes()), b.pub, "RS256")
	require.NoError(t, err)
	_, err = Verify(bytes.NewReader(second.Bytes()), a.pub, "ES256")
	require.ErrorIs(t, err, ErrSignature, "the old signature is gone")

	// The files are kept byte for byte; only the signature changes.
	withoutSig := func(data []byte) []archiveFile { return remove(entries(t, data), signaturesFile) }
	require.Equal(t, withoutSig(unsigned), withoutSig(second.Bytes()))
	// Signing the same way as Build gives the same tarball.
	require.Equal(t, buildBytes(t, loadGood(t), BuildOptions{SigningKey: b.priv}), second.Bytes())

	// Sign refuses to sign something that is not a valid Vigil bundle.
	err = Sign(bytes.NewReader(rawTarGz(t, file("/.manifest", minimalManifest), file("/rules/x.yaml", "x"))), io.Discard, a.priv, "")
	require.ErrorIs(t, err, ErrInvalidBundle)
	err = Sign(strings.NewReader("junk"), io.Discard, a.priv, "")
	require.ErrorContains(t, err, "sign bundle: read bundle tarball: not a gzip stream")
}

func TestSigningKeys(t *testing.T) {
	ecKey := testKey(t, "ES256", 0)
	signer, err := parsePrivatePEM(ecKey.priv)
	require.NoError(t, err)
	rsaPair := testKey(t, "RS256", 0)
	rsaSigner, err := parsePrivatePEM(rsaPair.priv)
	require.NoError(t, err)

	sec1, err := x509.MarshalECPrivateKey(signer.(*ecdsa.PrivateKey))
	require.NoError(t, err)
	pkcs1 := x509.MarshalPKCS1PrivateKey(rsaSigner.(*rsa.PrivateKey))

	cases := []struct {
		name string
		key  any
		alg  string
		pub  []byte
	}{
		{"PKCS #8 PEM bytes", ecKey.priv, "", ecKey.pub},
		{"PEM string with text around it", "my signing key\n" + string(ecKey.priv) + "\n", "ES256", ecKey.pub},
		{"SEC 1 PEM", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), "", ecKey.pub},
		{"PKCS #1 PEM", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: pkcs1}), "RS256", rsaPair.pub},
		{"*ecdsa.PrivateKey", signer, "", ecKey.pub},
		{"*rsa.PrivateKey", rsaSigner, "PS256", rsaPair.pub},
		// A key held elsewhere (HSM, KMS) is only a crypto.Signer.
		{"opaque ECDSA signer", opaqueSigner{signer}, "", ecKey.pub},
		{"opaque RSA signer", opaqueSigner{rsaSigner}, "RS256", rsaPair.pub},
		{"opaque RSA-PSS signer", opaqueSigner{rsaSigner}, "PS256", rsaPair.pub},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := buildBytes(t, loadGood(t), BuildOptions{SigningKey: c.key, SigningAlg: c.alg, KeyID: "ci-2026"})
			alg := c.alg
			if alg == "" {
				alg = "ES256"
			}
			res, err := Verify(bytes.NewReader(data), c.pub, alg)
			require.NoError(t, err)
			require.Equal(t, "ci-2026", res.KeyID)
			require.Equal(t, alg, res.Algorithm)
			requireOPAVerifies(t, data, c.pub, alg, "ci-2026")
		})
	}

	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	bad := []struct {
		name string
		key  any
		alg  string
		want string
	}{
		{"ed25519", edPriv, "", "ed25519 keys are not supported"},
		{"EC key with an RSA algorithm", ecKey.priv, "RS256", "signing algorithm RS256 does not fit an ECDSA P-256 key"},
		{"EC key with the wrong curve", ecKey.priv, "ES384", "signing algorithm ES384 does not fit an ECDSA P-256 key"},
		{"RSA key with an EC algorithm", rsaPair.priv, "ES256", "signing algorithm ES256 does not fit an RSA key"},
		{"small RSA key", mustRSA(t, 1024), "", "RSA key of 1024 bits is too small"},
		{"P-224", mustEC(t, elliptic.P224()), "", "unsupported elliptic curve P-224"},
		{"public key", ecKey.pub, "", "no PEM private key found"},
		{"garbage", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "", "parse private key"},
		{"encrypted", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), "", "encrypted private keys are not supported"},
		{"wrong type", 42, "", "want a crypto.Signer or PEM bytes, got int"},
		{"nil key", (*ecdsa.PrivateKey)(nil), "", "signing key: nil private key"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			err := Build(loadGood(t), io.Discard, BuildOptions{SigningKey: c.key, SigningAlg: c.alg})
			require.ErrorContains(t, err, c.want)
		})
	}
}

// opaqueSigner hides the concrete key type, as an HSM or KMS client does.
type opaqueSigner struct{ s crypto.Signer }

func (o opaqueSigner) Public() crypto.PublicKey { return o.s.Public() }

func (o opaqueSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.s.Sign(r, digest, opts)
}

func mustRSA(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	require.NoError(t, err)
	return k
}

func mustEC(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	require.NoError(t, err)
	return k
}
