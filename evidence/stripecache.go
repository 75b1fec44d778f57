package evidence

import (
	"hash/maphash"
	"math/bits"

	"github.com/vigil-itm/vigil/evidence/screen"
)

// Within a stripe that changed, most MCUs usually did not: a window that
// scrolls or a line being typed covers part of the screen's width. The
// stripe encoder keeps, per stripe position, what the last encoding of
// that stripe needs again for the MCUs whose pixels are the same: the
// hash of each MCU's source pixels, the quantised DC of each of its six
// blocks and the entropy-coded bits of their AC coefficients. The AC bits
// of a block depend on that block alone; its DC is coded as a difference
// from the previous block's and is coded again every time. So a changed
// stripe costs the colour conversion, DCT and quantisation of its changed
// MCUs only, and a copy of bits for the others, and its segment is the
// same bytes as the stripe encoded from scratch.

// blocksPerMCU is the number of 8x8 blocks in a 4:2:0 MCU: four of luma,
// one of Cb and one of Cr.
const blocksPerMCU = 6

// mcuEntry is what a stripe cache keeps of one MCU.
type mcuEntry struct {
	// hash is the hash of the MCU's source pixels (see hashMCUs).
	hash uint64
	// start is where the AC bits of the MCU's first block are in the
	// cache's words; the other blocks' follow, each from a new word.
	start uint32
	// dc are the blocks' quantised DCs, nbits the lengths of their AC
	// bits.
	dc    [blocksPerMCU]int16
	nbits [blocksPerMCU]uint16
}

// stripeCache is what the last encoding of one stripe position left for
// the next; its zero value is empty. It belongs to one encoder (one
// quality) and one stripe width, height and pixel layout: for any other,
// it is emptied and filled again.
type stripeCache struct {
	enc         *stripeEncoder
	width, rows int
	format      screen.Format
	mcus        []mcuEntry
	words       []uint32
}

// usable reports whether c was made by e for a stripe like rows y0 to y1
// of p.
func (c *stripeCache) usable(e *stripeEncoder, p screen.Pixels, y0, y1 int) bool {
	return c.enc == e && c.width == p.Width && c.rows == y1-y0 && c.format == p.Format &&
		len(c.mcus) == (p.Width+15)/16
}

// reset makes c an empty cache of e for stripes like rows y0 to y1 of p.
func (c *stripeCache) reset(e *stripeEncoder, p screen.Pixels, y0, y1 int) {
	n := (p.Width + 15) / 16
	if cap(c.mcus) < n {
		c.mcus = make([]mcuEntry, n)
	}
	c.enc, c.width, c.rows, c.format = e, p.Width, y1-y0, p.Format
	c.mcus = c.mcus[:n]
	clear(c.mcus)
	c.words = c.words[:0]
}

// bytes is the memory the cache holds.
func (c *stripeCache) bytes() int {
	const entry = 40 // the size of an mcuEntry
	return cap(c.mcus)*entry + 4*cap(c.words)
}

// hashMCUs hashes the source pixels of each MCU of rows y0 to y1 of p
// into hashes: each row's part of an MCU (64 bytes, less for a last MCU
// of fewer than 16 columns), in the pixels' layout and where it is, is
// hashed with maphash (AES-based where the CPU has AES) under the
// encoder's random seed, and the rows' hashes are combined as
// rotl(h, 21) ^ row, a different rotation for each of the 16 rows (21 is
// odd, so 21*r mod 64 differs for r below 64). Two different MCUs hash
// the same only if the rows' pseudo-random hashes cancel out, about once
// in 2^64. What else an MCU's encoding depends on (the stripe's width and
// height, the layout, the quality) is the cache's key, not hashed.
func (e *stripeEncoder) hashMCUs(p screen.Pixels, y0, y1 int, hashes []uint64) {
	rowBytes := 4 * p.Width
	clear(hashes)
	for y := y0; y < y1; y++ {
		row := p.Row(y)
		for m := range hashes {
			seg := row[64*m : min(64*m+64, rowBytes)]
			hashes[m] = bits.RotateLeft64(hashes[m], 21) ^ maphash.Bytes(e.seed, seg)
		}
	}
}
