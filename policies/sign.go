package policies

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/keys"
	"github.com/open-policy-agent/opa/v1/loader/filter"
	"github.com/open-policy-agent/opa/v1/util"
)

// Bundle signatures are OPA's: .signatures.json holds one JWT whose "files"
// claim lists every file of the bundle with its SHA-256 (JSON and YAML data
// and the manifest are hashed in OPA's canonical form, so that whitespace
// does not matter). Hashing, token signing with PEM keys, signature
// verification and file checks all use OPA's bundle package, so OPA's own
// tools accept what Vigil signs and the other way round.

// DefaultSigningAlg is the algorithm GenerateKey uses when none is given.
const DefaultSigningAlg = "ES256"

// rsaKeyBits is the size of generated RSA keys.
const rsaKeyBits = 3072

// verifyKeyID is the key id Vigil's verifier files the one trusted key
// under; the kid a signature names does not choose the key.
const verifyKeyID = "vigil-verification-key"

var algHashes = map[string]crypto.Hash{
	"ES256": crypto.SHA256, "ES384": crypto.SHA384, "ES512": crypto.SHA512,
	"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512,
	"PS256": crypto.SHA256, "PS384": crypto.SHA384, "PS512": crypto.SHA512,
}

var algCurves = map[string]elliptic.Curve{
	"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521(),
}

// checkAlg rejects algorithms OPA cannot verify or Vigil does not allow.
func checkAlg(alg string) error {
	if _, ok := algHashes[alg]; ok {
		return nil
	}
	switch {
	case strings.HasPrefix(alg, "HS"):
		return fmt.Errorf("signing algorithm %s is not supported: HMAC needs the same secret on every endpoint, and anyone holding it could sign bundles; use ES256", alg)
	case alg == "EdDSA" || strings.EqualFold(alg, "ed25519"):
		return errors.New("signing algorithm EdDSA is not supported: OPA bundle signatures have no Ed25519; use ES256")
	}
	return fmt.Errorf("unknown signing algorithm %q (use ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384 or PS512)", alg)
}

// algFor checks that key suits alg, or infers alg from the key when empty.
func algFor(pub crypto.PublicKey, alg string) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if alg == "" {
			for _, a := range []string{"ES256", "ES384", "ES512"} {
				if algCurves[a] == k.Curve {
					return a, nil
				}
			}
			return "", fmt.Errorf("unsupported elliptic curve %s (use P-256)", k.Params().Name)
		}
		if err := checkAlg(alg); err != nil {
			return "", err
		}
		if c, ok := algCurves[alg]; !ok || c != k.Curve {
			return "", fmt.Errorf("signing algorithm %s does not fit an ECDSA %s key", alg, k.Params().Name)
		}
		return alg, nil
	case *rsa.PublicKey:
		if alg == "" {
			alg = "RS256"
		}
		if err := checkAlg(alg); err != nil {
			return "", err
		}
		if !strings.HasPrefix(alg, "RS") && !strings.HasPrefix(alg, "PS") {
			return "", fmt.Errorf("signing algorithm %s does not fit an RSA key", alg)
		}
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("RSA key of %d bits is too small (use at least 2048)", k.N.BitLen())
		}
		return alg, nil
	case ed25519.PublicKey:
		return "", errors.New("ed25519 keys are not supported: OPA bundle signatures have no Ed25519; use an ES256 key")
	}
	return "", fmt.Errorf("unsupported key type %T (use an ECDSA or RSA key)", pub)
}

// GenerateKey makes a new key pair for signing bundles and returns the
// private key as PKCS #8 PEM and the public key as PKIX PEM. alg is ES256
// (the default, a P-256 key), ES384, ES512, or RS256/RS384/RS512/PS256/
// PS384/PS512 (a 3072-bit RSA key).
func GenerateKey(alg string) (privPEM, pubPEM []byte, err error) {
	if alg == "" {
		alg = DefaultSigningAlg
	}
	if err := checkAlg(alg); err != nil {
		return nil, nil, err
	}
	var priv crypto.Signer
	if c, ok := algCurves[alg]; ok {
		priv, err = ecdsa.GenerateKey(c, rand.Reader)
	} else {
		priv, err = rsa.GenerateKey(rand.Reader, rsaKeyBits)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encode private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), nil
}

// parsePrivatePEM reads a PEM private key: PKCS #8, PKCS #1 (RSA) or SEC 1
// (EC). Text around the PEM block is allowed.
func parsePrivatePEM(data []byte) (crypto.Signer, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM private key found")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("encrypted private keys are not supported; decrypt it first")
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", strings.ToLower(block.Type), err)
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported private key type %T", key)
		}
		return s, nil
	}
}

// parsePublicPEM reads a PEM public key (PKIX or PKCS #1) or certificate.
func parsePublicPEM(data []byte) (crypto.PublicKey, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM public key found")
		}
		switch block.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse public key: %w", err)
			}
			return k, nil
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse public key: %w", err)
			}
			return k, nil
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			return c.PublicKey, nil
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			return nil, errors.New("got a private key where the public key belongs; never ship the private key to verifiers")
		}
	}
}

// normalizePublicPEM re-encodes a public key as PKIX PEM, the form OPA's
// verifier reads.
func normalizePublicPEM(data []byte, alg string) (string, string, error) {
	pub, err := parsePublicPEM(data)
	if err != nil {
		return "", "", err
	}
	alg, err = algFor(pub, alg)
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), alg, nil
}

// hashFiles computes the signature payload of a bundle's files with OPA's
// hasher, sorted by name.
func hashFiles(files []archiveFile) ([]bundle.FileInfo, error) {
	h, err := bundle.NewSignatureHasher(bundle.SHA256)
	if err != nil {
		return nil, err
	}
	infos := make([]bundle.FileInfo, 0, len(files))
	for _, f := range files {
		if f.name == signaturesFile {
			continue
		}
		var v any = f.data
		if bundle.IsStructuredDoc(f.name) {
			var doc any
			if err := util.Unmarshal(f.data, &doc); err != nil {
				return nil, fmt.Errorf("hash %s: %w", f.name, err)
			}
			v = doc
		}
		sum, err := h.HashFile(v)
		if err != nil {
			return nil, fmt.Errorf("hash %s: %w", f.name, err)
		}
		infos = append(infos, bundle.NewFile(f.name, hex.EncodeToString(sum), bundle.SHA256.String()))
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	return infos, nil
}

// signFiles returns the .signatures.json for files.
func signFiles(files []archiveFile, key any, alg, keyID string) ([]byte, error) {
	if keyID == "" {
		keyID = DefaultKeyID
	}
	infos, err := hashFiles(files)
	if err != nil {
		return nil, err
	}
	var token string
	switch k := key.(type) {
	case []byte:
		token, err = signWithPEM(infos, k, alg, keyID)
	case string:
		token, err = signWithPEM(infos, []byte(k), alg, keyID)
	case *ecdsa.PrivateKey, *rsa.PrivateKey:
		if reflect.ValueOf(k).IsNil() {
			return nil, errors.New("signing key: nil private key")
		}
		der, mErr := x509.MarshalPKCS8PrivateKey(k)
		if mErr != nil {
			return nil, fmt.Errorf("encode signing key: %w", mErr)
		}
		token, err = signWithPEM(infos, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), alg, keyID)
	case crypto.Signer:
		token, err = signWithSigner(infos, k, alg, keyID)
	default:
		return nil, fmt.Errorf("signing key: want a crypto.Signer or PEM bytes, got %T", key)
	}
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(bundle.SignaturesConfig{Signatures: []string{token}}, "", " ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// signWithPEM signs with OPA's default signer.
func signWithPEM(infos []bundle.FileInfo, keyPEM []byte, alg, keyID string) (string, error) {
	signer, err := parsePrivatePEM(keyPEM)
	if err != nil {
		return "", fmt.Errorf("signing key: %w", err)
	}
	alg, err = algFor(signer.Public(), alg)
	if err != nil {
		return "", fmt.Errorf("signing key: %w", err)
	}
	// Hand OPA a canonical PEM: it treats key text that does not start
	// with "-----BEGIN" as a file name.
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return "", fmt.Errorf("signing key: %w", err)
	}
	canonical := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	token, err := bundle.GenerateSignedToken(infos, bundle.NewSigningConfig(canonical, alg, ""), keyID)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return token, nil
}

// signWithSigner makes the same JWT as OPA's default signer with any
// crypto.Signer, such as a key held in an HSM or a cloud KMS.
func signWithSigner(infos []bundle.FileInfo, signer crypto.Signer, alg, keyID string) (string, error) {
	pub := signer.Public()
	alg, err := algFor(pub, alg)
	if err != nil {
		return "", fmt.Errorf("signing key: %w", err)
	}
	header, err := json.Marshal(map[string]string{"alg": alg, "kid": keyID, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(map[string]any{"files": infos, "keyid": keyID})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	h := algHashes[alg]
	hasher := h.New()
	hasher.Write([]byte(input))
	digest := hasher.Sum(nil)
	var opts crypto.SignerOpts = h
	if strings.HasPrefix(alg, "PS") {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
	}
	sig, err := signer.Sign(rand.Reader, digest, opts)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	if ec, ok := pub.(*ecdsa.PublicKey); ok {
		if sig, err = ecdsaJOSE(sig, ec.Curve); err != nil {
			return "", fmt.Errorf("sign: %w", err)
		}
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// ecdsaJOSE converts an ASN.1 ECDSA signature into the fixed-size R || S
// form JWS uses.
func ecdsaJOSE(der []byte, curve elliptic.Curve) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) > 0 || sig.R == nil || sig.S == nil {
		return nil, errors.New("signer returned a malformed ECDSA signature")
	}
	size := (curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}

// SignedFile is one file covered by a bundle signature.
type SignedFile struct {
	// Name is the file's path in the bundle, such as "policy/decision.rego".
	Name string `json:"name"`
	// Hash is the file's digest, hex encoded.
	Hash string `json:"hash"`
	// Algorithm is the digest algorithm, such as "SHA-256".
	Algorithm string `json:"algorithm"`
}

// VerifyResult says what a successful verification covered.
type VerifyResult struct {
	// Name and Revision are the bundle's, from its (signed) manifest.
	Name     string `json:"name"`
	Revision string `json:"revision"`
	// KeyID is the key id the signature names ("kid" header or "keyid"
	// claim).
	KeyID string `json:"keyid"`
	// Algorithm is the signature's JWS algorithm, such as "ES256".
	Algorithm string `json:"algorithm"`
	// Files are the verified files, sorted by name: every file of the
	// bundle except .signatures.json itself.
	Files []SignedFile `json:"files"`
}

// Verify checks that a bundle tarball is signed by the private key of
// pubPEM under alg ("" infers it from the key), that the signature covers
// every file of the bundle and every file matches its signed hash, that the
// tar stream is intact (the gzip CRC-32 covers what no signature does: tar
// headers and padding), and that OPA's own bundle reader, configured with
// the same key, accepts it. Errors about the signature wrap ErrSignature and
// name the file at fault.
//
// Verify does not judge how the tar stream was compressed: a tarball
// repacked with another gzip level, or a gzip header with another time,
// still verifies, because every byte any reader sees is unchanged.
func Verify(tarball io.Reader, pubPEM []byte, alg string) (*VerifyResult, error) {
	cfg := newLoadConfig(nil)
	arc, err := readArchive(tarball, cfg)
	if err != nil {
		return nil, fmt.Errorf("verify bundle: %w", err)
	}
	res, err := verifyArchive(arc, pubPEM, alg, cfg)
	if err != nil {
		return nil, fmt.Errorf("verify bundle: %w", err)
	}
	return res, nil
}

// verifyArchive verifies the signature of a tarball read into memory.
func verifyArchive(arc *archive, pubPEM []byte, alg string, cfg *loadConfig) (*VerifyResult, error) {
	pubKey, alg, err := normalizePublicPEM(pubPEM, alg)
	if err != nil {
		return nil, fmt.Errorf("verification key: %w", err)
	}
	sigRaw, ok := arc.get(signaturesFile)
	if !ok {
		return nil, fmt.Errorf("%w: the bundle is not signed (no /%s)", ErrSignature, signaturesFile)
	}
	var sc bundle.SignaturesConfig
	if err := util.NewJSONDecoder(bytes.NewReader(sigRaw)).Decode(&sc); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSignature, signaturesFile, err)
	}
	if sc.Plugin != "" && sc.Plugin != "_default" {
		return nil, fmt.Errorf("%w: %s names signature plugin %q; Vigil verifies only OPA's default JWT signatures", ErrSignature, signaturesFile, sc.Plugin)
	}
	vc := bundle.NewVerificationConfig(map[string]*keys.Config{
		verifyKeyID: {Key: pubKey, Algorithm: alg},
	}, verifyKeyID, "", nil)

	signed, err := bundle.VerifyBundleSignature(sc, vc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	res := &VerifyResult{Algorithm: alg}
	for _, fi := range signed {
		res.Files = append(res.Files, SignedFile{Name: fi.Name, Hash: fi.Hash, Algorithm: fi.Algorithm})
	}
	sort.Slice(res.Files, func(i, j int) bool { return res.Files[i].Name < res.Files[j].Name })
	res.KeyID, res.Algorithm = tokenKeyID(sc.Signatures[0], alg)

	for _, f := range arc.files {
		if f.name == signaturesFile {
			continue
		}
		if err := bundle.VerifyBundleFile(f.name, *bytes.NewBuffer(f.data), signed); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSignature, err)
		}
	}
	if len(signed) > 0 {
		missing := make([]string, 0, len(signed))
		for name := range signed {
			missing = append(missing, name)
		}
		sort.Strings(missing)
		return nil, fmt.Errorf("%w: signed file(s) missing from the bundle: %s", ErrSignature, strings.Join(missing, ", "))
	}

	// Finally let OPA's own reader load the bundle with the same key, so
	// that what Vigil accepts OPA accepts too.
	ob, err := bundle.NewCustomReader(newMemLoader(arc)).
		WithBundleVerificationConfig(vc).
		WithSizeLimitBytes(cfg.maxFile).
		WithRegoVersion(ast.RegoV1).
		Read()
	if err != nil {
		return nil, fmt.Errorf("OPA's bundle reader rejects the bundle: %w", err)
	}
	res.Revision = ob.Manifest.Revision
	if name, ok := ob.Manifest.Metadata["name"].(string); ok {
		res.Name = name
	}
	return res, nil
}

// tokenKeyID reads the key id and algorithm a JWT names, for reports. The
// signature has been verified before; nothing here is trusted for that.
func tokenKeyID(token, fallbackAlg string) (keyID, alg string) {
	parts := strings.Split(token, ".")
	alg = fallbackAlg
	if len(parts) != 3 {
		return "", alg
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if raw, err := base64.RawURLEncoding.DecodeString(parts[0]); err == nil && json.Unmarshal(raw, &hdr) == nil {
		if hdr.Alg != "" {
			alg = hdr.Alg
		}
		keyID = hdr.Kid
	}
	if keyID == "" {
		var claims struct {
			KeyID string `json:"keyid"`
		}
		if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil && json.Unmarshal(raw, &claims) == nil {
			keyID = claims.KeyID
		}
	}
	return keyID, alg
}

// Sign re-signs a bundle tarball with key (a crypto.Signer or PEM private
// key, as in BuildOptions.SigningKey) under alg ("" infers it from the key),
// replacing any signature it had. The bundle must be a valid Vigil bundle;
// its files are kept byte for byte and written out in Build's deterministic
// form.
func Sign(tarballIn io.Reader, out io.Writer, key any, alg string) error {
	cfg := newLoadConfig(nil)
	arc, err := readArchive(tarballIn, cfg)
	if err != nil {
		return fmt.Errorf("sign bundle: %w", err)
	}
	ds := &diags{}
	b := assembleArchive(arc, ds)
	validateBundle(b, ds)
	if err := ds.list.Err(); err != nil {
		return err
	}
	files := make([]archiveFile, 0, len(arc.files))
	for _, f := range arc.files {
		if f.name != signaturesFile {
			files = append(files, f)
		}
	}
	sig, err := signFiles(files, key, alg, "")
	if err != nil {
		return fmt.Errorf("sign bundle: %w", err)
	}
	files = append(files, archiveFile{name: signaturesFile, data: sig})
	return writeArchive(out, files)
}

// memLoader serves tarball files already read into memory to OPA's bundle
// reader.
type memLoader struct {
	files []archiveFile
	next  int
}

var _ bundle.DirectoryLoader = (*memLoader)(nil)

func newMemLoader(arc *archive) *memLoader { return &memLoader{files: arc.files} }

// NextFile implements bundle.DirectoryLoader.
func (l *memLoader) NextFile() (*bundle.Descriptor, error) {
	if l.next >= len(l.files) {
		return nil, io.EOF
	}
	f := l.files[l.next]
	l.next++
	p := "/" + f.name
	return bundle.NewDescriptor(p, p, bytes.NewBuffer(f.data)), nil
}

// WithFilter implements bundle.DirectoryLoader; the files were chosen already.
func (l *memLoader) WithFilter(filter.LoaderFilter) bundle.DirectoryLoader { return l }

// WithPathFormat implements bundle.DirectoryLoader; paths are slash-rooted.
func (l *memLoader) WithPathFormat(bundle.PathFormat) bundle.DirectoryLoader { return l }

// WithSizeLimitBytes implements bundle.DirectoryLoader; limits were applied
// while reading the tarball.
func (l *memLoader) WithSizeLimitBytes(int64) bundle.DirectoryLoader { return l }

// WithFollowSymlinks implements bundle.DirectoryLoader; there are no links.
func (l *memLoader) WithFollowSymlinks(bool) bundle.DirectoryLoader { return l }
