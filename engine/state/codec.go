package state

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"math"
)

// Snapshot format, version 1 (all integers little-endian or varint):
//
//	header   "VGST" | version (1 byte) | kind (1 byte) | spec fingerprint (8 bytes)
//	frame    record count (uvarint) | payload length (uvarint) | payload | CRC-32 (IEEE) of payload (4 bytes)
//	end      a frame header with count 0 and length 0
//
// A payload is a run of records; a record is the key (uvarint length and
// bytes) followed by the kind's own encoding of the key's state. Records are
// written shard by shard from the least to the most recently used key; a
// restore orders them by each key's newest event time.
const (
	snapshotMagic   = "VGST"
	snapshotVersion = 1
	headerLen       = len(snapshotMagic) + 1 + 1 + 8

	// frameTarget is the payload size after which a frame is closed.
	frameTarget = 1 << 20
	// maxFrame is the largest payload a reader accepts.
	maxFrame = 1 << 28
)

// Kinds of state, as recorded in a snapshot header.
const (
	kindThreshold byte = 1 + iota
	kindSequence
	kindFirstSeen
	kindBaseline
	kindSuppressor
)

// ErrSnapshot is returned, wrapped, by Restore for input that is not a valid
// snapshot: wrong magic, unknown version, truncation, bad checksum or data
// that breaks the state's invariants.
var ErrSnapshot = errors.New("invalid state snapshot")

// ErrSnapshotMismatch is returned, wrapped, by Restore for a valid snapshot
// taken from a different kind of state or under a different rule
// specification. Such state is discarded rather than misread.
var ErrSnapshotMismatch = errors.New("state snapshot does not match the rule")

// fingerprint hashes the parts of a specification that give state its
// meaning.
func fingerprint(parts ...any) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = fmt.Fprintf(h, "%#v\x00", p)
	}
	return h.Sum64()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendFloat(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

// writeSnapshot writes the header and every key of s, encoding each key's
// state with enc. Each shard is encoded under its lock into memory and
// written after the lock is released, so slow writers do not stall
// observers; the snapshot is consistent per key, not across keys.
func writeSnapshot[V any](w io.Writer, s *store[V], kind byte, fp uint64, enc func([]byte, *V) []byte) error {
	bw := bufio.NewWriter(w)
	hdr := make([]byte, 0, headerLen)
	hdr = append(hdr, snapshotMagic...)
	hdr = append(hdr, snapshotVersion, kind)
	hdr = binary.LittleEndian.AppendUint64(hdr, fp)
	if _, err := bw.Write(hdr); err != nil {
		return fmt.Errorf("write snapshot header: %w", err)
	}
	type cut struct{ end, records int }
	var (
		buf  []byte
		cuts []cut
	)
	for i := range s.shards {
		sh := &s.shards[i]
		buf, cuts = buf[:0], cuts[:0]
		start, records := 0, 0
		sh.mu.Lock()
		for n := sh.root.prev; n != &sh.root; n = n.prev {
			buf = appendString(buf, n.key)
			buf = enc(buf, &n.val)
			records++
			if len(buf)-start >= frameTarget {
				cuts = append(cuts, cut{len(buf), records})
				start, records = len(buf), 0
			}
		}
		sh.mu.Unlock()
		if records > 0 {
			cuts = append(cuts, cut{len(buf), records})
		}
		start = 0
		for _, c := range cuts {
			if err := writeFrame(bw, c.records, buf[start:c.end]); err != nil {
				return err
			}
			start = c.end
		}
	}
	if err := writeFrame(bw, 0, nil); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}

func writeFrame(w *bufio.Writer, records int, payload []byte) error {
	var hdr []byte
	hdr = binary.AppendUvarint(hdr, uint64(records))
	hdr = binary.AppendUvarint(hdr, uint64(len(payload)))
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("write snapshot frame: %w", err)
	}
	if len(payload) == 0 {
		return nil
	}
	if _, err := w.Write(payload); err != nil {
		return fmt.Errorf("write snapshot frame: %w", err)
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc32.ChecksumIEEE(payload))
	if _, err := w.Write(sum[:]); err != nil {
		return fmt.Errorf("write snapshot frame: %w", err)
	}
	return nil
}

// readSnapshot checks the header and calls record once per record, with a
// decoder positioned at the record's key. It reads no further than the end
// frame.
func readSnapshot(r io.Reader, kind byte, fp uint64, record func(*decoder)) error {
	br := bufio.NewReader(r)
	var hdr [headerLen]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return fmt.Errorf("%w: read header: %w", ErrSnapshot, err)
	}
	switch {
	case string(hdr[:len(snapshotMagic)]) != snapshotMagic:
		return fmt.Errorf("%w: not a state snapshot", ErrSnapshot)
	case hdr[4] != snapshotVersion:
		return fmt.Errorf("%w: unsupported version %d", ErrSnapshot, hdr[4])
	case hdr[5] != kind:
		return fmt.Errorf("%w: snapshot holds kind %d, want %d", ErrSnapshotMismatch, hdr[5], kind)
	case binary.LittleEndian.Uint64(hdr[6:]) != fp:
		return fmt.Errorf("%w: taken under a different specification", ErrSnapshotMismatch)
	}
	var payload bytes.Buffer
	for frame := 0; ; frame++ {
		records, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("%w: frame %d: read record count: %w", ErrSnapshot, frame, unexpectedEOF(err))
		}
		size, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("%w: frame %d: read length: %w", ErrSnapshot, frame, unexpectedEOF(err))
		}
		if records == 0 && size == 0 {
			return nil
		}
		// Every record takes at least two bytes (key length and state).
		if records == 0 || size > maxFrame || records > size/2 {
			return fmt.Errorf("%w: frame %d: bad header (%d records, %d bytes)", ErrSnapshot, frame, records, size)
		}
		payload.Reset()
		// CopyN grows the buffer as bytes arrive, so a lying length
		// cannot make the reader allocate more than the input holds.
		if _, err := io.CopyN(&payload, br, int64(size)); err != nil {
			return fmt.Errorf("%w: frame %d: read payload: %w", ErrSnapshot, frame, unexpectedEOF(err))
		}
		var sum [4]byte
		if _, err := io.ReadFull(br, sum[:]); err != nil {
			return fmt.Errorf("%w: frame %d: read checksum: %w", ErrSnapshot, frame, unexpectedEOF(err))
		}
		if crc32.ChecksumIEEE(payload.Bytes()) != binary.LittleEndian.Uint32(sum[:]) {
			return fmt.Errorf("%w: frame %d: checksum mismatch", ErrSnapshot, frame)
		}
		d := &decoder{b: payload.Bytes()}
		for i := uint64(0); i < records && d.err == nil; i++ {
			record(d)
		}
		if d.err == nil && len(d.b) != 0 {
			d.fail("%d bytes after the last record", len(d.b))
		}
		if d.err != nil {
			return fmt.Errorf("frame %d: %w", frame, d.err)
		}
	}
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// decoder reads a frame payload. The first error sticks; later reads return
// zero values, so record decoders check d.err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrSnapshot, fmt.Sprintf(format, args...))
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad unsigned varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a number of items, each of which takes at least one byte, so a
// count larger than the rest of the payload is rejected before anything is
// allocated for it.
func (d *decoder) count(limit int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)) || n > uint64(limit) {
		d.fail("count %d out of range", n)
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail("string of %d bytes past the end", n)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) float() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail("truncated float")
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return f
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// times reads n non-decreasing times written by appendTimes.
func (d *decoder) times(n int, dst []int64) []int64 {
	var prev int64
	for i := 0; i < n && d.err == nil; i++ {
		delta := d.varint()
		if i > 0 && delta < 0 {
			d.fail("times out of order")
			return dst
		}
		prev += delta
		dst = append(dst, prev)
	}
	return dst
}

// appendTimes writes non-decreasing times as a first value and deltas.
func appendTimes(b []byte, ts []int64) []byte {
	var prev int64
	for _, t := range ts {
		b = binary.AppendVarint(b, t-prev)
		prev = t
	}
	return b
}

// appendValueSet writes a value set from the oldest to the newest value.
func appendValueSet(b []byte, s *valueSet) []byte {
	b = binary.AppendUvarint(b, uint64(s.len()))
	var prev int64
	s.each(func(v string, ts int64) {
		b = appendString(b, v)
		b = binary.AppendVarint(b, ts-prev)
		prev = ts
	})
	return b
}

// valueSet reads a value set written by appendValueSet into s, keeping the
// newest keep values. Times must be non-decreasing and not after newest.
func (d *decoder) valueSet(s *valueSet, limit, keep int, newest int64) {
	n := d.count(limit)
	var prev int64
	for i := 0; i < n && d.err == nil; i++ {
		v := d.str()
		delta := d.varint()
		if i > 0 && delta < 0 {
			d.fail("value times out of order")
			return
		}
		prev += delta
		if prev > newest {
			d.fail("value time after the key's newest event")
			return
		}
		if _, dup := s.lookup(v); dup {
			d.fail("duplicate value")
			return
		}
		if s.len() >= keep {
			s.removeOldest()
		}
		s.touch(v, prev)
	}
}
