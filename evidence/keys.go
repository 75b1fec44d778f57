package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// ErrBadKey is returned (wrapped) for a key file that is not an Ed25519 key
// in PEM.
var ErrBadKey = errors.New("not an Ed25519 key in PEM")

// GenerateKey makes a new Ed25519 signing key, as an agent does at
// enrolment.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return priv, nil
}

// KeyID returns a public key's fingerprint: "ed25519:" and the first 16
// bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return "ed25519:" + hex.EncodeToString(s[:16])
}

// MarshalPrivateKey encodes a private key as PKCS#8 PEM ("PRIVATE KEY"),
// which OpenSSL also reads.
func MarshalPrivateKey(k ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKey encodes a public key as PKIX PEM ("PUBLIC KEY").
func MarshalPublicKey(k ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePrivateKey decodes a PKCS#8 PEM Ed25519 private key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: want a PRIVATE KEY block", ErrBadKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: the key is a %T", ErrBadKey, k)
	}
	return priv, nil
}

// ParsePublicKey decodes a PKIX PEM Ed25519 public key. A private key PEM
// is accepted too, and its public half returned. A bare base64 key (as in
// a manifest) is accepted as well.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(data)
	if blk == nil {
		raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
		if err == nil && len(raw) == ed25519.PublicKeySize {
			return ed25519.PublicKey(raw), nil
		}
		return nil, fmt.Errorf("%w: no PEM block", ErrBadKey)
	}
	switch blk.Type {
	case "PRIVATE KEY":
		priv, err := ParsePrivateKey(data)
		if err != nil {
			return nil, err
		}
		pub, ok := priv.Public().(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: no public half", ErrBadKey)
		}
		return pub, nil
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: the key is a %T", ErrBadKey, k)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("%w: unexpected PEM block %q", ErrBadKey, blk.Type)
}

// LoadPrivateKey reads a PEM private key file.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	k, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("load private key %s: %w", path, err)
	}
	return k, nil
}

// LoadPublicKey reads a PEM public key file (or a private key file, whose
// public half it returns).
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	k, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("load public key %s: %w", path, err)
	}
	return k, nil
}

// WriteKeyFiles writes a private key (mode 0600) and its public key (mode
// 0644) as PEM. It refuses to overwrite an existing private key.
func WriteKeyFiles(k ed25519.PrivateKey, privPath, pubPath string) error {
	priv, err := MarshalPrivateKey(k)
	if err != nil {
		return err
	}
	pubKey, ok := k.Public().(ed25519.PublicKey)
	if !ok {
		return fmt.Errorf("write key files: %w", ErrBadKey)
	}
	pub, err := MarshalPublicKey(pubKey)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(privPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	if _, err := f.Write(priv); err != nil {
		_ = f.Close()
		return fmt.Errorf("write private key %s: %w", privPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write private key %s: %w", privPath, err)
	}
	if pubPath != "" {
		if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
			return fmt.Errorf("write public key: %w", err)
		}
	}
	return nil
}

// LoadOrCreateKey loads the private key at path, or generates one and
// writes it (with path+".pub") when the file does not exist.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	k, err := LoadPrivateKey(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	k, err = GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := WriteKeyFiles(k, path, path+".pub"); err != nil {
		return nil, err
	}
	return k, nil
}

func publicOf(k ed25519.PrivateKey) ed25519.PublicKey {
	pub, _ := k.Public().(ed25519.PublicKey)
	return pub
}
