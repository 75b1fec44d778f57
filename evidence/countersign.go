package evidence

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ErrCountersigned is returned (wrapped) by Countersign when the package
// already carries a countersignature.
var ErrCountersigned = errors.New("package already countersigned")

// Countersign adds the server's countersignature (manifest.countersig) to
// the package in dir: an Ed25519 signature over the manifest's hash, the
// agent signature's hash and the time of receipt. It checks the agent
// signature with the key the manifest embeds first; the server should have
// run Verify with the agent's enrolled key before. The manifest is not
// changed, so the agent signature stays valid.
func Countersign(dir string, key ed25519.PrivateKey) error {
	return countersignAt(dir, key, time.Now())
}

func countersignAt(dir string, key ed25519.PrivateKey, at time.Time) error {
	if len(key) != ed25519.PrivateKeySize {
		return errors.New("countersign evidence package: no Ed25519 key")
	}
	mdata, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return fmt.Errorf("countersign evidence package %s: %w", dir, err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, SignatureFile))
	if err != nil {
		return fmt.Errorf("countersign evidence package %s: %w", dir, err)
	}
	m, err := ParseManifest(mdata)
	if err != nil {
		return fmt.Errorf("countersign evidence package %s: %w", dir, err)
	}
	pub, err := base64.StdEncoding.DecodeString(m.Agent.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, mdata, sig) {
		return fmt.Errorf("countersign evidence package %s: the agent signature does not verify", dir)
	}
	mh, sh := sha256.Sum256(mdata), sha256.Sum256(sig)
	spub := publicOf(key)
	c := Countersignature{Format: CountersigFormat, KeyID: KeyID(spub), PublicKey: base64.StdEncoding.EncodeToString(spub),
		SignedAt: at.UTC(), ManifestSHA256: hex.EncodeToString(mh[:]), AgentSignatureSHA256: hex.EncodeToString(sh[:])}
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, c.CountersignMessage()))
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("countersign evidence package %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, CountersigFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("countersign evidence package %s: %w", dir, ErrCountersigned)
	}
	if err != nil {
		return fmt.Errorf("countersign evidence package %s: %w", dir, err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		_ = f.Close()
		return fmt.Errorf("countersign evidence package %s: %w", dir, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("countersign evidence package %s: %w", dir, err)
	}
	return nil
}
