package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"image"
	"image/draw"
	"image/jpeg"
	"io"

	"github.com/vigil-itm/vigil/evidence/screen"
)

// Frames are kept in memory as horizontal stripes, one JPEG MCU row (16
// pixel rows, 4:2:0) each, so that a frame in which only a clock or a
// cursor changed costs the encoding and the memory of the stripes that
// changed, not of the whole screen. A stripe is the entropy-coded segment
// of one restart interval: each is encoded on its own (the DC predictors
// start at zero, exactly as after a restart marker) and a frame's JPEG file
// is the shared header with a restart interval of one MCU row, its
// stripes, and a restart marker between each two. The file is assembled
// only when a package is written; it decodes to the same pixels as the
// frame encoded whole with the same quality.

// stripeRows is the height of a stripe in pixels: one MCU row of the 4:2:0
// JPEGs image/jpeg writes for colour images.
const stripeRows = 16

// stripe is one encoded MCU row, shared by every frame in which that row
// did not change. It is never modified.
type stripe struct {
	// data is the entropy-coded segment, byte-stuffed and padded.
	data []byte
	// hash is the hash of the source pixels the stripe was made from.
	hash uint64
}

// jpegHeader is the start of a striped JPEG file up to the end of its SOS
// segment: SOI, DQT, SOF0, DHT, DRI and SOS. It is the same for every frame
// of one size and quality.
type jpegHeader []byte

// errStripeFormat means image/jpeg wrote a file this code does not
// recognise, which would be a change of the standard library.
var errStripeFormat = errors.New("unexpected JPEG layout from image/jpeg")

// encodeStripe encodes img (at most stripeRows high) as a JPEG into buf
// and returns its parts: head is everything before the SOS segment and sos
// the SOS segment (both pointing into buf, valid until its next use), and
// seg the entropy-coded data (a copy).
func encodeStripe(buf *flushBuffer, img image.Image, quality int) (head, sos, seg []byte, err error) {
	buf.Reset()
	if err := jpeg.Encode(buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, nil, nil, fmt.Errorf("encode %v stripe: %w", img.Bounds().Size(), err)
	}
	data := buf.Bytes()
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return nil, nil, nil, errStripeFormat
		}
		marker := data[i+1]
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		end := i + 2 + n
		if end > len(data) {
			return nil, nil, nil, errStripeFormat
		}
		if marker == 0xda { // SOS: the scan follows up to EOI
			if len(data) < end+2 || data[len(data)-2] != 0xff || data[len(data)-1] != 0xd9 {
				return nil, nil, nil, errStripeFormat
			}
			return data[:i:i], data[i:end:end], bytes.Clone(data[end : len(data)-2]), nil
		}
		i = end
	}
	return nil, nil, nil, errStripeFormat
}

// makeHeader builds the header of a striped w x h frame from the parts of
// an image/jpeg file of the same quality: the frame's size in SOF0 and a
// DRI segment that restarts after every MCU row.
func makeHeader(head, sos []byte, w, h int) (jpegHeader, error) {
	if w <= 0 || h <= 0 || w >= 1<<16 || h >= 1<<16 {
		return nil, fmt.Errorf("%dx%d frame: JPEG sizes are 1 to 65535 pixels", w, h)
	}
	out := make([]byte, 0, len(head)+6+len(sos))
	out = append(out, head...)
	patched := false
	for i := 2; i+9 <= len(out); {
		if out[i] != 0xff {
			return nil, errStripeFormat
		}
		if out[i+1] == 0xc0 { // SOF0: length, precision, height, width
			binary.BigEndian.PutUint16(out[i+5:], uint16(h))
			binary.BigEndian.PutUint16(out[i+7:], uint16(w))
			patched = true
			break
		}
		i += 2 + int(binary.BigEndian.Uint16(out[i+2:]))
	}
	if !patched {
		return nil, errStripeFormat
	}
	mcus := (w + stripeRows - 1) / stripeRows
	out = append(out, 0xff, 0xdd, 0, 4, byte(mcus>>8), byte(mcus))
	return append(out, sos...), nil
}

// writeStriped writes the JPEG file of a striped frame to w.
func writeStriped(w io.Writer, hdr jpegHeader, stripes []*stripe) error {
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for i, s := range stripes {
		if i > 0 {
			if _, err := w.Write([]byte{0xff, 0xd0 + byte((i-1)%8)}); err != nil {
				return err
			}
		}
		if _, err := w.Write(s.data); err != nil {
			return err
		}
	}
	_, err := w.Write([]byte{0xff, 0xd9})
	return err
}

// stripedSize is the length of a striped frame's JPEG file.
func stripedSize(hdr jpegHeader, stripes []*stripe) int {
	n := len(hdr) + 2 + 2*max(len(stripes)-1, 0)
	for _, s := range stripes {
		n += len(s.data)
	}
	return n
}

// toRGBA returns img as an *image.RGBA, converting it when it is not one.
func toRGBA(img image.Image) *image.RGBA {
	if p, ok := img.(*image.RGBA); ok {
		return p
	}
	p := image.NewRGBA(img.Bounds())
	draw.Draw(p, p.Bounds(), img, img.Bounds().Min, draw.Src)
	return p
}

// stripeSources returns, for stripe k of a frame scaled from src height
// sh to height h, the source rows it is made from.
func stripeSources(k, sh, h int) (y0, y1 int) {
	d0, d1 := k*stripeRows, min((k+1)*stripeRows, h)
	if sh == h {
		return d0, d1
	}
	y0 = d0 * sh / h
	y1 = max(d1*sh/h, (d1-1)*sh/h+1)
	return y0, min(y1, sh)
}

// hashRows hashes rows y0 to y1 of the grabbed pixels where they are, in
// the grabber's layout, with their size and format and the frame's
// encoded size, so that a change of any of these changes every hash. Rows
// that lie next to each other in memory (a whole-width image, as grabbers
// return) are hashed in one call, which is several times faster than
// feeding a maphash.Hash row by row.
func hashRows(seed maphash.Seed, p screen.Pixels, y0, y1 int, size image.Point) uint64 {
	var dims [24]byte
	binary.LittleEndian.PutUint32(dims[0:], uint32(p.Width))
	binary.LittleEndian.PutUint32(dims[4:], uint32(p.Height))
	binary.LittleEndian.PutUint32(dims[8:], uint32(size.X))
	binary.LittleEndian.PutUint32(dims[12:], uint32(size.Y))
	binary.LittleEndian.PutUint32(dims[16:], uint32(p.Format))
	if rows := p.Rows(y0, y1); rows != nil {
		binary.LittleEndian.PutUint64(dims[16:], maphash.Bytes(seed, rows)^uint64(p.Format))
		return maphash.Bytes(seed, dims[:])
	}
	var h maphash.Hash
	h.SetSeed(seed)
	_, _ = h.Write(dims[:])
	for y := y0; y < y1; y++ {
		_, _ = h.Write(p.Row(y))
	}
	return h.Sum64()
}

// stripeScratch is the memory a frame's changed stripes are scaled and
// encoded in, kept from frame to frame so that recording a frame
// allocates nothing in proportion to the screen but the encoded stripes.
type stripeScratch struct {
	pix []byte
	enc *stripeEncoder
	// caches are what the last encoding of each stripe position left
	// for the next (see stripecache.go).
	caches []stripeCache
}

// cache returns the cache of stripe k of frames of n stripes; when the
// number of stripes changes, every cache is dropped.
func (s *stripeScratch) cache(k, n int) *stripeCache {
	if len(s.caches) != n {
		s.caches = make([]stripeCache, n)
	}
	return &s.caches[k]
}

// encoder returns the stripe encoder for quality, made on first use.
func (s *stripeScratch) encoder(quality int) (*stripeEncoder, error) {
	if s.enc == nil || s.enc.quality != quality {
		e, err := newStripeEncoder(quality)
		if err != nil {
			return nil, err
		}
		s.enc = e
	}
	return s.enc, nil
}

// flushBuffer is a bytes.Buffer that image/jpeg writes to directly (it
// wraps a writer without Flush in a new bufio.Writer on every call).
type flushBuffer struct{ bytes.Buffer }

// Flush does nothing: the bytes are in the buffer.
func (*flushBuffer) Flush() error { return nil }

// rgba returns a w x rows RGBA image backed by the scratch memory.
func (s *stripeScratch) rgba(w, rows int) *image.RGBA {
	n := w * 4 * rows
	if cap(s.pix) < n {
		s.pix = make([]byte, n)
	}
	return &image.RGBA{Pix: s.pix[:n], Stride: w * 4, Rect: image.Rect(0, 0, w, rows)}
}

// stripePixels returns where the pixels of stripe k of a frame of size
// w x h made from src are: rows y0 to y1 of px. They are src itself,
// in the grabber's layout, when the frame is not scaled, else the
// stripe's rows scaled into the scratch memory. Only the source rows of
// that stripe are read.
func stripePixels(src screen.Pixels, k, w, h int, s *stripeScratch) (px screen.Pixels, y0, y1 int) {
	d0, d1 := k*stripeRows, min((k+1)*stripeRows, h)
	if w == src.Width && h == src.Height {
		return src, d0, d1
	}
	dst := s.rgba(w, d1-d0)
	scaleRows(dst, src, w, h, d0, d1)
	return screen.FromRGBA(dst), 0, d1 - d0
}

// sumStriped returns the SHA-256 of a striped frame's JPEG file.
func sumStriped(hdr jpegHeader, stripes []*stripe) [32]byte {
	h := sha256.New()
	_ = writeStriped(h, hdr, stripes) // a hash never fails to write
	var out [32]byte
	h.Sum(out[:0])
	return out
}
