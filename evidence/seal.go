// Sealed evidence: encryption at rest of evidence packages on the endpoint
// spool. The agent seals each package zip to the server's X25519 public key
// before it waits in the spool, so that only the holder of the server's
// private key can read it; the agent itself cannot open what it sealed.
//
// Format, version 1 (all of it is authenticated; nothing is length-prefixed):
//
//	header  SealMagic ("VGSEAL" and the version byte 0x01), 7 bytes
//	        ephemeral X25519 public key, 32 bytes (fresh for every package)
//	body    chunk 0 | chunk 1 | ... | final chunk
//
// Key: the X25519 shared secret of the ephemeral key and the recipient's key
// (an all-zero secret, from a low-order point, is refused) goes through
// HKDF-SHA256 with salt = ephemeral public key || recipient public key and
// info = "vigil evidence seal v1" to give a 32-byte AES-256-GCM key.
//
// Body: the plaintext is cut into chunks of 64 KiB; the last chunk may be
// shorter and is empty only when the whole plaintext is empty. Each chunk is
// stored as its AES-GCM ciphertext and 16-byte tag (64 KiB + 16 bytes for a
// full chunk), sealed with the 12-byte nonce: an 11-byte big-endian chunk
// counter starting at 0, then a flag byte, 1 on the final chunk and 0 on the
// others. The reader reads 64 KiB + 16 bytes at a time: a short read is the
// final chunk, which must carry flag 1; a chunk flagged 0 at the end of the
// input (truncation at a chunk boundary), bytes after the final chunk, chunks
// out of order, a wrong key or any altered byte make the package invalid.
// Plaintext is released chunk by chunk and only once authenticated.

package evidence

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigil-itm/vigil/internal/atomicfile"
)

// SealMagic starts every sealed package: the format's name and its version
// byte (1).
const SealMagic = "VGSEAL\x01"

// ErrSealed is wrapped by every error OpenSealed returns for input that is
// not a sealed package this key can open: wrong magic or version, wrong key,
// truncation, altered, reordered or extra bytes.
var ErrSealed = errors.New("invalid sealed evidence")

const (
	// sealMagicName is SealMagic without its version byte.
	sealMagicName = "VGSEAL"
	// sealKeySize is the size of a raw X25519 public key.
	sealKeySize = 32
	// sealHeaderSize is the magic and the ephemeral public key.
	sealHeaderSize = len(SealMagic) + sealKeySize
	// sealChunkSize is the plaintext size of every chunk but the last.
	sealChunkSize = 64 << 10
	// sealTagSize is the AES-GCM tag that follows each chunk's ciphertext.
	sealTagSize = 16
	// sealEncChunkSize is a full chunk as stored.
	sealEncChunkSize = sealChunkSize + sealTagSize
	// sealInfo binds the derived key to this format and version.
	sealInfo = "vigil evidence seal v1"
	// sealPEMType is the PEM block type of a seal private key file.
	sealPEMType = "PRIVATE KEY"
)

// IsSealed reports whether prefix (at least the first len(SealMagic) bytes
// of a file) starts a sealed package of this format version.
func IsSealed(prefix []byte) bool {
	return len(prefix) >= len(SealMagic) && string(prefix[:len(SealMagic)]) == SealMagic
}

// sealer is the io.WriteCloser returned by NewSealer. It holds at most one
// chunk of plaintext: a full chunk is sealed only once more data arrives,
// because only then is it known not to be the final one.
type sealer struct {
	dst     io.Writer
	aead    cipher.AEAD
	buf     []byte // pending plaintext; capacity sealEncChunkSize to seal in place
	counter uint64
	nonce   [12]byte
	closed  bool
	err     error // sticky: the first error ends the stream
}

// NewSealer returns a writer that encrypts what is written to it for
// recipient (an X25519 public key) and writes the sealed package to dst,
// starting with the header, which NewSealer writes at once. Close writes the
// final chunk: it must be called, and it does not close dst. The writer is
// not safe for concurrent use; after an error every call returns that error.
func NewSealer(dst io.Writer, recipient *ecdh.PublicKey) (io.WriteCloser, error) {
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("seal evidence: generate ephemeral key: %w", err)
	}
	return newSealer(dst, recipient, eph)
}

// newSealer is NewSealer with a given ephemeral key, so that tests can make
// reproducible packages. A real package must never reuse an ephemeral key.
func newSealer(dst io.Writer, recipient *ecdh.PublicKey, eph *ecdh.PrivateKey) (*sealer, error) {
	if recipient == nil || recipient.Curve() != ecdh.X25519() {
		return nil, errors.New("seal evidence: the recipient is not an X25519 public key")
	}
	ephPub := eph.PublicKey().Bytes()
	aead, err := sealAEAD(eph, recipient, ephPub, recipient.Bytes())
	if err != nil {
		return nil, fmt.Errorf("seal evidence: %w", err)
	}
	hdr := make([]byte, 0, sealHeaderSize)
	hdr = append(append(hdr, SealMagic...), ephPub...)
	if err := writeAll(dst, hdr); err != nil {
		return nil, fmt.Errorf("seal evidence: write header: %w", err)
	}
	return &sealer{dst: dst, aead: aead, buf: make([]byte, 0, sealEncChunkSize)}, nil
}

// Write encrypts p, writing every chunk that is known not to be the last.
func (s *sealer) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, errors.New("seal evidence: write after Close")
	}
	n := 0
	for len(p) > 0 {
		if len(s.buf) == sealChunkSize {
			if err := s.flush(false); err != nil {
				return n, err
			}
		}
		k := copy(s.buf[len(s.buf):sealChunkSize], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
		n += k
	}
	return n, nil
}

// Close seals and writes the final chunk, which may be empty only when
// nothing was written. It does not close the destination. Calling it again
// returns the first call's result.
func (s *sealer) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	if s.err != nil {
		return s.err
	}
	err := s.flush(true)
	clear(s.buf[:cap(s.buf)])
	return err
}

// flush seals the pending plaintext in place as chunk s.counter and writes it.
func (s *sealer) flush(last bool) error {
	next := s.counter
	if !last {
		var err error
		if next, err = nextCounter(s.counter); err != nil {
			s.err = fmt.Errorf("seal evidence: %w", err)
			return s.err
		}
	}
	out := s.aead.Seal(s.buf[:0], chunkNonce(&s.nonce, s.counter, last), s.buf, nil)
	if err := writeAll(s.dst, out); err != nil {
		s.err = fmt.Errorf("seal evidence: write chunk %d: %w", s.counter, err)
		return s.err
	}
	s.buf = s.buf[:0]
	s.counter = next
	return nil
}

// OpenSealed decrypts a sealed package from src into dst with key, the
// recipient's X25519 private key. It streams: it holds about two chunks in
// memory and writes only authenticated plaintext, chunk by chunk, so on error
// what was written must be discarded by the caller. An error for input that
// is not a package this key can open wraps ErrSealed; otherwise it wraps the
// reader's or the writer's error. A nil or non-X25519 key is a usage error,
// reported without ErrSealed.
func OpenSealed(dst io.Writer, src io.Reader, key *ecdh.PrivateKey) error {
	if key == nil || key.Curve() != ecdh.X25519() {
		return errors.New("open sealed evidence: the key is not an X25519 private key")
	}
	aead, err := readSealHeader(src, key)
	if err != nil {
		return err
	}
	// buf holds one stored chunk and the first byte of the next one, which
	// tells a full non-final chunk from a full final chunk.
	buf := make([]byte, sealEncChunkSize+1)
	plainBuf := make([]byte, 0, sealChunkSize)
	nonce := new([12]byte)
	carry := 0
	for counter := uint64(0); ; {
		n, err := io.ReadFull(src, buf[carry:])
		n += carry
		last := false
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			last = true
		default:
			return fmt.Errorf("open sealed evidence: read chunk %d: %w", counter, err)
		}
		chunk := buf[:min(n, sealEncChunkSize)]
		if last && len(chunk) < sealTagSize {
			if n == 0 && counter == 0 {
				return fmt.Errorf("open sealed evidence: %w: no chunk after the header", ErrSealed)
			}
			return fmt.Errorf("open sealed evidence: chunk %d: %w: truncated (%d bytes, less than a tag)", counter, ErrSealed, len(chunk))
		}
		plain, err := aead.Open(plainBuf[:0], chunkNonce(nonce, counter, last), chunk, nil)
		if err != nil {
			return openChunkError(aead, chunk, plainBuf, nonce, counter, last)
		}
		if last && len(plain) == 0 && counter > 0 {
			return fmt.Errorf("open sealed evidence: chunk %d: %w: empty final chunk after data", counter, ErrSealed)
		}
		if len(plain) > 0 {
			if err := writeAll(dst, plain); err != nil {
				return fmt.Errorf("open sealed evidence: write chunk %d: %w", counter, err)
			}
		}
		if last {
			return nil
		}
		if counter, err = nextCounter(counter); err != nil {
			return fmt.Errorf("open sealed evidence: %w: %w", ErrSealed, err)
		}
		buf[0] = buf[sealEncChunkSize]
		carry = 1
	}
}

// readSealHeader reads and checks the header and derives the body's AEAD.
func readSealHeader(src io.Reader, key *ecdh.PrivateKey) (cipher.AEAD, error) {
	var hdr [sealHeaderSize]byte
	n, err := io.ReadFull(src, hdr[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("open sealed evidence: read header: %w", err)
	}
	got := hdr[:n]
	switch {
	case !bytes.HasPrefix(got, []byte(sealMagicName[:min(n, len(sealMagicName))])):
		return nil, fmt.Errorf("open sealed evidence: %w: not a sealed package (no %q magic)", ErrSealed, sealMagicName)
	case n > len(sealMagicName) && got[len(sealMagicName)] != SealMagic[len(sealMagicName)]:
		return nil, fmt.Errorf("open sealed evidence: %w: unsupported format version %d", ErrSealed, got[len(sealMagicName)])
	case err != nil:
		return nil, fmt.Errorf("open sealed evidence: %w: truncated header (%d of %d bytes)", ErrSealed, n, sealHeaderSize)
	}
	ephPub := hdr[len(SealMagic):]
	eph, err := ecdh.X25519().NewPublicKey(ephPub)
	if err != nil {
		return nil, fmt.Errorf("open sealed evidence: %w: ephemeral key: %w", ErrSealed, err)
	}
	aead, err := sealAEAD(key, eph, ephPub, key.PublicKey().Bytes())
	if err != nil {
		return nil, fmt.Errorf("open sealed evidence: %w: %w", ErrSealed, err)
	}
	return aead, nil
}

// openChunkError explains why chunk did not authenticate. Trying the other
// final flag tells truncation at a chunk boundary and data after the final
// chunk apart from a wrong key or altered bytes; the verdict is the same.
func openChunkError(aead cipher.AEAD, chunk, plainBuf []byte, nonce *[12]byte, counter uint64, last bool) error {
	_, err := aead.Open(plainBuf[:0], chunkNonce(nonce, counter, !last), chunk, nil)
	clear(plainBuf[:cap(plainBuf)])
	switch {
	case err == nil && last:
		return fmt.Errorf("open sealed evidence: chunk %d: %w: truncated: the input ends before the final chunk", counter, ErrSealed)
	case err == nil:
		return fmt.Errorf("open sealed evidence: chunk %d: %w: data after the final chunk", counter, ErrSealed)
	case counter == 0:
		return fmt.Errorf("open sealed evidence: chunk 0: %w: authentication failed (wrong key, or altered data)", ErrSealed)
	}
	return fmt.Errorf("open sealed evidence: chunk %d: %w: authentication failed (altered, reordered or truncated data)", counter, ErrSealed)
}

// sealAEAD derives the body's AES-256-GCM from priv and peer's X25519
// exchange; ephPub and recipientPub are the raw keys bound in as the salt.
func sealAEAD(priv *ecdh.PrivateKey, peer *ecdh.PublicKey, ephPub, recipientPub []byte) (cipher.AEAD, error) {
	shared, err := priv.ECDH(peer)
	if err != nil {
		// crypto/ecdh refuses the all-zero secret of a low-order point.
		return nil, fmt.Errorf("key exchange: %w", err)
	}
	salt := make([]byte, 0, 2*sealKeySize)
	salt = append(append(salt, ephPub...), recipientPub...)
	key, err := hkdf.Key(sha256.New, shared, salt, sealInfo, 32)
	clear(shared)
	if err != nil {
		return nil, fmt.Errorf("derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("make cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("make cipher: %w", err)
	}
	return aead, nil
}

// chunkNonce fills n with the 11-byte big-endian counter followed by the
// final flag. The caller keeps n, so that sealing a chunk does not allocate.
func chunkNonce(n *[12]byte, counter uint64, last bool) []byte {
	*n = [12]byte{}
	binary.BigEndian.PutUint64(n[3:11], counter)
	if last {
		n[11] = 1
	}
	return n[:]
}

// nextCounter returns the counter of the chunk after counter. The nonce has
// room for 88 bits, but the counter is a uint64, which must not wrap.
func nextCounter(counter uint64) (uint64, error) {
	if counter == math.MaxUint64 {
		return 0, errors.New("too many chunks: the chunk counter would overflow")
	}
	return counter + 1, nil
}

// writeAll writes p to w, turning a short write into io.ErrShortWrite.
func writeAll(w io.Writer, p []byte) error {
	n, err := w.Write(p)
	if err != nil {
		return err
	}
	if n != len(p) {
		return io.ErrShortWrite
	}
	return nil
}

// GenerateSealKey creates a new X25519 private key, the key a server opens
// sealed packages with.
func GenerateSealKey() (*ecdh.PrivateKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate seal key: %w", err)
	}
	return k, nil
}

// MarshalSealPublicKey encodes a seal public key as the standard base64 of
// its 32 raw bytes, the form agents are configured with. A nil key gives "".
func MarshalSealPublicKey(k *ecdh.PublicKey) string {
	if k == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(k.Bytes())
}

// ParseSealPublicKey decodes a seal public key from the standard base64 of
// its 32 raw bytes; surrounding white space is ignored. A low-order point,
// which would make every package readable, is refused.
func ParseSealPublicKey(s string) (*ecdh.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("parse seal public key: base64: %w", err)
	}
	if len(raw) != sealKeySize {
		return nil, fmt.Errorf("parse seal public key: %d bytes, want %d", len(raw), sealKeySize)
	}
	k, err := ecdh.X25519().NewPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("parse seal public key: %w", err)
	}
	probe, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("parse seal public key: %w", err)
	}
	if _, err := probe.ECDH(k); err != nil {
		return nil, fmt.Errorf("parse seal public key: unusable key (low-order point): %w", err)
	}
	return k, nil
}

// LoadOrCreateSealKey reads the seal private key at path, a PEM "PRIVATE
// KEY" block holding a PKCS#8 X25519 key, or creates one there when the file
// does not exist: missing parent directories are made with mode 0700 and the
// key is written with mode 0600 to a temporary file that is then renamed
// into place, so that a crash never leaves a partial key. A file that exists
// but is not such a key is an error and is left untouched. Only one process
// is expected to create a given key file.
func LoadOrCreateSealKey(path string) (*ecdh.PrivateKey, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := parseSealPrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("load seal key %s: %w", path, err)
		}
		return k, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("load seal key: %w", err)
	}
	k, err := GenerateSealKey()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("create seal key %s: encode: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create seal key %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: sealPEMType, Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("create seal key %s: %w", path, err)
	}
	return k, nil
}

// parseSealPrivateKey decodes a PEM PKCS#8 X25519 private key.
func parseSealPrivateKey(data []byte) (*ecdh.PrivateKey, error) {
	blk, rest := pem.Decode(data)
	if blk == nil {
		return nil, errors.New("not a PEM file")
	}
	if blk.Type != sealPEMType {
		return nil, fmt.Errorf("PEM block %q, want %q", blk.Type, sealPEMType)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("unexpected data after the PEM block")
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS#8: %w", err)
	}
	k, ok := key.(*ecdh.PrivateKey)
	if !ok || k.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("not an X25519 key: the key is a %T", key)
	}
	return k, nil
}
