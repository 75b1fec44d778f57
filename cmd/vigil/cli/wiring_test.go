package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence"
)

// TestEvidenceArchiveUnseal: the server opens a package sealed to its own
// key, takes a plain archive as it is, and refuses a package sealed to
// another key or altered; its seal key survives a restart.
func TestEvidenceArchiveUnseal(t *testing.T) {
	dir := t.TempDir()
	arch, err := newEvidenceArchive(dir)
	require.NoError(t, err)
	fi, err := os.Stat(filepath.Join(dir, "server-evidence-seal-key.pem"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	again, err := newEvidenceArchive(dir)
	require.NoError(t, err)
	require.Equal(t, arch.SealKey(), again.SealKey(), "the key is kept")
	pub, err := evidence.ParseSealPublicKey(arch.SealKey())
	require.NoError(t, err)

	plain := bytes.Repeat([]byte("PK\x03\x04 a zip archive\n"), 10_000)
	seal := func(to string) []byte {
		k, err := evidence.ParseSealPublicKey(to)
		require.NoError(t, err)
		var buf bytes.Buffer
		w, err := evidence.NewSealer(&buf, k)
		require.NoError(t, err)
		_, err = w.Write(plain)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		return buf.Bytes()
	}
	upload := func(name string, data []byte) string {
		p := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}

	p := upload("plain.zip", plain)
	got, sealed, err := arch.Unseal(p)
	require.NoError(t, err)
	require.False(t, sealed)
	require.Equal(t, p, got, "a plain archive is used as it is")

	got, sealed, err = arch.Unseal(upload("sealed.zip", seal(evidence.MarshalSealPublicKey(pub))))
	require.NoError(t, err)
	require.True(t, sealed)
	data, err := os.ReadFile(got)
	require.NoError(t, err)
	require.Equal(t, plain, data)

	other, err := evidence.GenerateSealKey()
	require.NoError(t, err)
	p = upload("other.zip", seal(evidence.MarshalSealPublicKey(other.PublicKey())))
	_, sealed, err = arch.Unseal(p)
	require.ErrorIs(t, err, evidence.ErrSealed)
	require.True(t, sealed)
	_, err = os.Stat(p + ".unsealed")
	require.ErrorIs(t, err, os.ErrNotExist, "nothing left of a package that did not open")

	altered := seal(arch.SealKey())
	altered[len(altered)/2] ^= 1
	_, _, err = arch.Unseal(upload("altered.zip", altered))
	require.ErrorIs(t, err, evidence.ErrSealed)
}
