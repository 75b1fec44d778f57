package evidence

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"image"
	"math/bits"

	"github.com/vigil-itm/vigil/evidence/screen"
)

// The stripe encoder writes the entropy-coded segment of one stripe (one
// MCU row of a baseline 4:2:0 JPEG) straight from a grabber's pixels, and
// writes exactly the bytes image/jpeg writes for the same pixels and
// quality: the same colour conversion (color.RGBToYCbCr), the same edge
// replication (the last column and row repeat up to a whole MCU), the same
// 2x2 chroma averaging, the same integer forward DCT, the same rounding
// of the quantised coefficients and the same standard Huffman codes. It
// is several times faster than image/jpeg because it reads the pixels
// through no interface, converts a stripe's rows once into planes instead
// of per 8x8 block, divides by multiplying with exact reciprocals,
// walks only the non-zero coefficients, and writes bits 32 at a time.
//
// Its tables are not typed in here: the quantisation tables and Huffman
// codes are read from the header image/jpeg writes for the same quality,
// so that the two cannot disagree on them. The tests compare the encoder
// with image/jpeg byte for byte on many stripes and under fuzzing, which
// also catches a change of image/jpeg's arithmetic in a new Go release.

// huffCode is one Huffman code: the code in the low 16 bits and its length
// in bits above them.
type huffCode uint32

// huffTable maps a symbol (a DC category, or an AC run<<4|size) to its
// code.
type huffTable [256]huffCode

// quantTable is a quantisation table prepared for the encoder, in the
// natural (row-major) order of the DCT's output. image/jpeg divides a
// coefficient c by d = 8*q rounding half away from zero; here that is
// (|c| + half) * recip >> 32 with the sign put back, which equals the
// division for every |c| the DCT produces (see TestQuantiseMatchesDivision).
//
// zeroBias and zeroSpan let a row of the DCT's output be skipped when all
// of it quantises to zero: that is so when x+zeroBias < zeroSpan (as
// unsigned) for each of its fixed-point values x, which is tested with one
// comparison of their OR because zeroSpan is a power of two. The interval
// is the largest of that form inside the one that rounds to zero for the
// row's smallest quantiser.
type quantTable struct {
	recip    [64]uint64
	half     [64]uint64
	zeroBias [8]uint32
	zeroSpan [8]uint32
}

// prepareZeroTest fills in zeroBias and zeroSpan from the quantisers q,
// in natural order.
func (t *quantTable) prepareZeroTest(q *[64]uint64) {
	for row := range 8 {
		qmin := q[8*row]
		for _, v := range q[8*row : 8*row+8] {
			qmin = min(qmin, v)
		}
		// x rounds to v with |v| < 4*qmin, which quantises to zero,
		// for |x| < (4*qmin-1) << 18.
		limit := uint32((4*qmin - 1) << 18)
		span := uint32(1) << (bits.Len32(2*limit) - 1)
		t.zeroBias[row], t.zeroSpan[row] = span/2, span
	}
}

// stripeEncoder encodes stripes of one quality. It is not safe for
// concurrent use: its planes and output buffer are reused by every call.
type stripeEncoder struct {
	quality int
	quant   [2]quantTable
	huff    [4]huffTable // luma DC, luma AC, chroma DC, chroma AC
	// small holds, for the two AC tables, the whole bit string of a
	// run of zeros followed by a value from -smallAC to smallAC-1 (the
	// code and the value's bits), for the common case in one look-up.
	small [2]smallTable
	// head and sos are image/jpeg's header for this quality up to and
	// including the SOS segment, split before SOS.
	head, sos []byte
	// y, cb and cr are the planes of the stripe being encoded: 16 rows of
	// luma and 8 rows of averaged chroma, each as wide as the stripe's
	// MCUs.
	y, cb, cr []byte
	out       []byte
	// w is the bit writer's state.
	w bitWriter
	// words holds the AC bits of the stripe being encoded, block by
	// block (see codeAC), until they are kept in its cache.
	words []uint32
	// seed keys the hashes of MCUs' source pixels; changed and hashes
	// are the scratch memory of comparing them with a cache.
	seed    maphash.Seed
	changed []bool
	hashes  []uint64
	// fresh is how many MCUs the last encoding converted and transformed
	// (the others' bits came from the cache).
	fresh int
}

// smallAC bounds the AC values of smallTable.
const smallAC = 32

// smallTable maps run<<6 | (value+smallAC) to the bits that code them: the
// bit string in the low 24 bits and its length above.
type smallTable [16 * 2 * smallAC]uint32

// fill prepares the table from the AC Huffman table ac.
func (t *smallTable) fill(ac *huffTable) {
	for run := range 16 {
		for v := -smallAC; v < smallAC; v++ {
			if v == 0 {
				continue
			}
			a, b := v, v
			if v < 0 {
				a, b = -v, v-1
			}
			size := bits.Len32(uint32(a))
			c := ac[run<<4|size]
			n := int(c>>16) + size
			t[run<<6|(v+smallAC)] = uint32(n)<<24 | uint32(c&0xffff)<<size | uint32(b)&(1<<size-1)
		}
	}
}

// zigzag maps a coefficient's natural position (row*8+column) to its
// position in the zig-zag order the entropy coder writes.
var zigzag = [64]uint8{
	0, 1, 5, 6, 14, 15, 27, 28,
	2, 4, 7, 13, 16, 26, 29, 42,
	3, 8, 12, 17, 25, 30, 41, 43,
	9, 11, 18, 24, 31, 40, 44, 53,
	10, 19, 23, 32, 39, 45, 52, 54,
	20, 22, 33, 38, 46, 51, 55, 60,
	21, 34, 37, 47, 50, 56, 59, 61,
	35, 36, 48, 49, 57, 58, 62, 63,
}

// newStripeEncoder prepares an encoder for a quality from 1 to 100. It
// encodes one small image with image/jpeg and takes its tables and header
// from the file.
func newStripeEncoder(quality int) (*stripeEncoder, error) {
	var buf flushBuffer
	head, sos, _, err := encodeStripe(&buf, image.NewRGBA(image.Rect(0, 0, stripeRows, stripeRows)), quality)
	if err != nil {
		return nil, fmt.Errorf("prepare stripe encoder for quality %d: %w", quality, err)
	}
	e := &stripeEncoder{quality: quality, seed: maphash.MakeSeed(), head: append([]byte(nil), head...), sos: append([]byte(nil), sos...)}
	if err := e.readTables(e.head); err != nil {
		return nil, fmt.Errorf("prepare stripe encoder for quality %d: %w", quality, err)
	}
	return e, nil
}

// readTables fills in the quantisation and Huffman tables from the DQT
// and DHT segments of head.
func (e *stripeEncoder) readTables(head []byte) error {
	var haveQ [2]bool
	var haveH [4]bool
	for i := 2; i+4 <= len(head); {
		if head[i] != 0xff {
			return errStripeFormat
		}
		marker := head[i+1]
		end := i + 2 + int(binary.BigEndian.Uint16(head[i+2:]))
		if end > len(head) {
			return errStripeFormat
		}
		seg := head[i+4 : end]
		switch marker {
		case 0xdb: // DQT: Pq|Tq, then 64 8-bit values in zig-zag order
			for len(seg) > 0 {
				if len(seg) < 65 || seg[0] > 1 {
					return errStripeFormat
				}
				t := seg[0]
				var qs [64]uint64
				for nat := range 64 {
					q := uint64(seg[1+zigzag[nat]])
					if q == 0 {
						return errStripeFormat
					}
					d := 8 * q
					e.quant[t].recip[nat] = (1<<32 + d - 1) / d
					e.quant[t].half[nat] = d / 2
					qs[nat] = q
				}
				e.quant[t].prepareZeroTest(&qs)
				haveQ[t] = true
				seg = seg[65:]
			}
		case 0xc4: // DHT: Tc|Th, 16 counts, the values
			for len(seg) > 0 {
				if len(seg) < 17 {
					return errStripeFormat
				}
				class, id := seg[0]>>4, seg[0]&15
				if class > 1 || id > 1 {
					return errStripeFormat
				}
				n := 0
				for _, c := range seg[1:17] {
					n += int(c)
				}
				if len(seg) < 17+n {
					return errStripeFormat
				}
				t := &e.huff[2*id+class]
				code, k := uint32(0), 17
				for length := 1; length <= 16; length++ {
					for range seg[length] {
						t[seg[k]] = huffCode(uint32(length)<<16 | code)
						code++
						k++
					}
					code <<= 1
				}
				haveH[2*id+class] = true
				seg = seg[17+n:]
			}
		}
		i = end
	}
	if haveQ != [2]bool{true, true} || haveH != [4]bool{true, true, true, true} {
		return errStripeFormat
	}
	e.small[0].fill(&e.huff[1])
	e.small[1].fill(&e.huff[3])
	return nil
}

// header returns the header of a striped w x h frame for this quality.
func (e *stripeEncoder) header(w, h int) (jpegHeader, error) {
	return makeHeader(e.head, e.sos, w, h)
}

// encode returns the entropy-coded segment, byte-stuffed and padded, of
// rows y0 to y1 (at most stripeRows) of p as the one MCU row of a JPEG
// p.Width pixels wide and y1-y0 high: the segment image/jpeg writes for
// those pixels at the encoder's quality. The result is a new slice of
// exactly its length; p must be consistent (p.Check).
func (e *stripeEncoder) encode(p screen.Pixels, y0, y1 int) []byte {
	return e.encodeCached(p, y0, y1, nil)
}

// encodeCached is encode for a stripe whose last encoding left c (nil:
// none to use or keep). The MCUs whose source pixels hash as they did
// then are not converted or transformed again: their quantised DCs and
// the bits of their AC coefficients come from c. Every block's DC is
// coded again, as its difference from the block before depends on its
// neighbours, and the stripe is written whole, so the segment is the same
// bytes as encode's. c is updated to this encoding.
func (e *stripeEncoder) encodeCached(p screen.Pixels, y0, y1 int, c *stripeCache) []byte {
	w := p.Width
	mcus := (w + 15) / 16
	yw, cw := mcus*16, mcus*8
	if len(e.y) < 16*yw {
		e.y = make([]byte, 16*yw)
		e.cb = make([]byte, 8*cw)
		e.cr = make([]byte, 8*cw)
	}
	if cap(e.changed) < mcus {
		e.changed = make([]bool, mcus)
		e.hashes = make([]uint64, mcus)
	}
	changed, hashes := e.changed[:mcus], e.hashes[:mcus]
	valid := false
	if c != nil {
		valid = c.usable(e, p, y0, y1)
		if !valid {
			c.reset(e, p, y0, y1)
		}
		e.hashMCUs(p, y0, y1, hashes)
	}
	e.fresh = 0
	for m := range changed {
		changed[m] = !valid || c.mcus[m].hash != hashes[m]
		if changed[m] {
			e.fresh++
		}
	}
	for m0 := 0; m0 < mcus; {
		if !changed[m0] {
			m0++
			continue
		}
		m1 := m0 + 1
		for m1 < mcus && changed[m1] {
			m1++
		}
		e.toPlanes(p, y0, y1, yw, cw, m0, m1)
		m0 = m1
	}

	e.out = e.out[:0]
	e.w = bitWriter{out: e.out}
	e.words = e.words[:0]
	var coef [64]int32
	var prev [3]int32
	lq, cq := &e.quant[0], &e.quant[1]
	for m := range mcus {
		start := len(e.words)
		var ent mcuEntry
		if changed[m] {
			x := m * 16
			for b, src := range [4][]byte{e.y[x:], e.y[x+8:], e.y[8*yw+x:], e.y[8*yw+x+8:]} {
				nz := e.transform(src, yw, lq, &coef)
				ent.dc[b] = int16(coef[0])
				ent.nbits[b] = e.codeAC(&coef, nz, &e.huff[1], &e.small[0])
			}
			for b, src := range [2][]byte{e.cb[m*8:], e.cr[m*8:]} {
				nz := e.transform(src, cw, cq, &coef)
				ent.dc[4+b] = int16(coef[0])
				ent.nbits[4+b] = e.codeAC(&coef, nz, &e.huff[3], &e.small[1])
			}
		} else {
			ent = c.mcus[m]
			e.words = append(e.words, c.words[ent.start:int(ent.start)+mcuWords(&ent.nbits)]...)
		}
		e.writeMCU(&ent, e.words[start:], &prev)
		if c != nil {
			ent.start, ent.hash = uint32(start), hashes[m]
			c.mcus[m] = ent
		}
	}
	if c != nil {
		c.words = append(c.words[:0], e.words...)
	}
	e.w.finish()
	e.out = e.w.out
	return append(make([]byte, 0, len(e.out)), e.out...)
}

// toPlanes converts MCUs m0 to m1 of rows y0 to y1 of p into the luma
// plane (16 rows of yw bytes) and the chroma planes (8 rows of cw bytes,
// each value the rounded mean of a 2x2 square), repeating the last
// column (when m1 is the last MCU) and the last row to fill the MCU row,
// with the integer arithmetic of color.RGBToYCbCr. Other MCUs of the
// planes are left as they are.
//
// Two pixels are converted at once in the two 32-bit halves of a uint64:
// each sum of products is below 2^25 and never negative, so the halves
// do not spill into each other.
func (e *stripeEncoder) toPlanes(p screen.Pixels, y0, y1, yw, cw, m0, m1 int) {
	w := p.Width
	rs, bs := uint(0), uint(16) // where red and blue are in a pixel, in bits
	if p.Format == screen.FormatBGRX {
		rs, bs = 16, 0
	}
	rs, bs = rs&63, bs&63
	last := y1 - y0 - 1
	pairs := w / 2
	p0, p1 := min(8*m0, pairs), min(8*m1, pairs) // the pairs to convert
	for j := range 8 {
		ra := p.Row(y0 + min(2*j, last))
		rb := p.Row(y0 + min(2*j+1, last))
		ya := e.y[2*j*yw : 2*j*yw+yw]
		yb := e.y[(2*j+1)*yw : (2*j+1)*yw+yw]
		cbr := e.cb[j*cw : j*cw+cw]
		crr := e.cr[j*cw : j*cw+cw]
		ra, rb = ra[8*p0:8*p1], rb[8*p0:8*p1]
		ya, yb = ya[2*p0:2*p1], yb[2*p0:2*p1]
		cbr, crr = cbr[p0:p1], crr[p0:p1]
		// Screens are mostly runs of one colour: a pair of pixels the
		// same as the pair before it in both rows reuses its results.
		var lastA, lastB uint64
		var lumaA, lumaB uint16 // the luma of the pair in rows a and b
		var cbv, crv byte
		if p1 > p0 {
			lastA = ^binary.LittleEndian.Uint64(ra) & colours
		}
		for i := range p1 - p0 {
			// The fourth byte of a pixel is not a colour: not compared.
			pa := binary.LittleEndian.Uint64(ra[8*i:]) & colours
			pb := binary.LittleEndian.Uint64(rb[8*i:]) & colours
			if pa != lastA || pb != lastB {
				lastA, lastB = pa, pb
				const m = 0x000000ff_000000ff
				ar, ag, ab := pa>>rs&m, pa>>8&m, pa>>bs&m
				br, bg, bb := pb>>rs&m, pb>>8&m, pb>>bs&m
				ly := yR*ar + yG*ag + yB*ab + yBias
				ry := yR*br + yG*bg + yB*bb + yBias
				lumaA = uint16(ly>>16&0xff | ly>>40&0xff00)
				lumaB = uint16(ry>>16&0xff | ry>>40&0xff00)
				// Cb and Cr of both pixels of both rows, each clamped to
				// 255 (x - x>>8 for x <= 256), then summed.
				cba := (cbR*ar + cbG*ag + cbB*ab + cBias) >> 16 & lanes9
				cbb := (cbR*br + cbG*bg + cbB*bb + cBias) >> 16 & lanes9
				cra := (crR*ar + crG*ag + crB*ab + cBias) >> 16 & lanes9
				crb := (crR*br + crG*bg + crB*bb + cBias) >> 16 & lanes9
				cb := cba - cba>>8&lanes1 + cbb - cbb>>8&lanes1
				cr := cra - cra>>8&lanes1 + crb - crb>>8&lanes1
				cbv = byte((cb + cb>>32 + 2) >> 2)
				crv = byte((cr + cr>>32 + 2) >> 2)
			}
			binary.LittleEndian.PutUint16(ya[2*i:], lumaA)
			binary.LittleEndian.PutUint16(yb[2*i:], lumaB)
			cbr[i] = cbv
			crr[i] = crv
		}
		if 16*m1 < w {
			continue
		}
		// The last column repeats to the end of the MCU row: its luma,
		// and as chroma the mean of the two rows' last pixels.
		ra, rb = p.Row(y0+min(2*j, last)), p.Row(y0+min(2*j+1, last))
		ya, yb = e.y[2*j*yw:2*j*yw+yw], e.y[(2*j+1)*yw:(2*j+1)*yw+yw]
		ylA, cbA, crA := ycc(binary.LittleEndian.Uint32(ra[4*(w-1):]), rs, bs)
		ylB, cbB, crB := ycc(binary.LittleEndian.Uint32(rb[4*(w-1):]), rs, bs)
		for x := 2 * pairs; x < yw; x++ {
			ya[x], yb[x] = ylA, ylB
		}
		cbE := byte((2*uint(cbA) + 2*uint(cbB) + 2) >> 2)
		crE := byte((2*uint(crA) + 2*uint(crB) + 2) >> 2)
		for x := pairs; x < cw; x++ {
			e.cb[j*cw+x], e.cr[j*cw+x] = cbE, crE
		}
	}
}

// The factors of color.RGBToYCbCr, 16 fractional bits, and its rounding
// terms, for both halves of a uint64. The sums with the Cb and Cr factors
// of red and blue go below zero only between terms: the bias keeps every
// total at or above zero.
const (
	yR, yG, yB = 19595, 38470, 7471
	cbR, cbB   = 1<<64 - 11056, 32768
	cbG        = 1<<64 - 21712
	crR, crB   = 32768, 1<<64 - 5328
	crG        = 1<<64 - 27440
	halves     = 1 + 1<<32
	yBias      = 1 << 15 * halves
	cBias      = 257 << 15 * halves
	maxChroma  = 255
	lanes9     = 0x1ff * halves    // a 9-bit value in each half
	lanes1     = halves            // bit 0 of each half
	colours    = 0xffffff * halves // the three colour bytes of two pixels
)

// ycc converts one pixel, red at bit rs and blue at bit bs, to Y'CbCr
// exactly as color.RGBToYCbCr does: Cb and Cr reach 256 only for pure
// blue or red, clamped to 255.
func ycc(v uint32, rs, bs uint) (y, cb, cr byte) {
	r, g, b := uint64(v>>(rs&31)&0xff), uint64(v>>8&0xff), uint64(v>>(bs&31)&0xff)
	y = byte((yR*r + yG*g + yB*b + 1<<15) >> 16)
	cb = byte(min((cbR*r+cbG*g+cbB*b+257<<15)>>16&0x1ff, maxChroma))
	cr = byte(min((crR*r+crG*g+crB*b+257<<15)>>16&0x1ff, maxChroma))
	return y, cb, cr
}

// DCT constants: the rotation and scaling factors of image/jpeg's forward
// DCT (Loeffler, Ligtenberg and Moschytz), each round(k * 2^bits).
const (
	c18Cos1       = 257107 // cos(pi/16) * 2^18
	c18Sin1       = 51142  // sin(pi/16) * 2^18
	c18Cos3       = 217965 // cos(3pi/16) * 2^18
	c18Sin3       = 145639 // sin(3pi/16) * 2^18
	c18Sqrt2Cos6  = 141871 // sqrt(2) cos(6pi/16) * 2^18
	c18Sqrt2Sin6  = 342508 // sqrt(2) sin(6pi/16) * 2^18
	c14Cos1       = 16069  // cos(pi/16) * 2^14
	c14Sin1       = 3196   // sin(pi/16) * 2^14
	c14Cos3       = 13623  // cos(3pi/16) * 2^14
	c14Sin3       = 9102   // sin(3pi/16) * 2^14
	c14Sqrt2Cos6  = 8867   // sqrt(2) cos(6pi/16) * 2^14
	c14Sqrt2Sin6  = 21407  // sqrt(2) sin(6pi/16) * 2^14
	c12Sqrt2      = 5793   // sqrt(2) * 2^12
	c14Sqrt2      = 23170  // sqrt(2) * 2^14
	fixedHalf18   = 1 << 17
	dcLevelShift8 = 128 * 8
)

// rotate is the DCT's rotation and scaling of x0 and x1 by the angle whose
// scaled cosine and sine are kc and ks, in three multiplications.
func rotate(x0, x1, kc, ks int32) (y0, y1 int32) {
	s := kc * (x0 + x1)
	return s + (ks-kc)*x1, s - (kc+ks)*x0
}

// flatRow is 0x0101010101010101: a byte repeated eight times.
const flatRow = 0x0101010101010101

// transform transforms the 8x8 block at the top left of src (rows stride
// bytes apart) and quantises it with q into coef, in zig-zag order. It
// returns a mask with a bit set for every non-zero AC coefficient, at its
// zig-zag position; coef[0] is the quantised DC.
func (e *stripeEncoder) transform(src []byte, stride int, q *quantTable, coef *[64]int32) uint64 {
	r0 := (*[8]byte)(src[0*stride:])
	r1 := (*[8]byte)(src[1*stride:])
	r2 := (*[8]byte)(src[2*stride:])
	r3 := (*[8]byte)(src[3*stride:])
	r4 := (*[8]byte)(src[4*stride:])
	r5 := (*[8]byte)(src[5*stride:])
	r6 := (*[8]byte)(src[6*stride:])
	r7 := (*[8]byte)(src[7*stride:])
	if v := binary.LittleEndian.Uint64(r0[:]); v == uint64(r0[0])*flatRow &&
		v == binary.LittleEndian.Uint64(r1[:]) && v == binary.LittleEndian.Uint64(r2[:]) &&
		v == binary.LittleEndian.Uint64(r3[:]) && v == binary.LittleEndian.Uint64(r4[:]) &&
		v == binary.LittleEndian.Uint64(r5[:]) && v == binary.LittleEndian.Uint64(r6[:]) &&
		v == binary.LittleEndian.Uint64(r7[:]) {
		// One value everywhere: the DCT's integer arithmetic yields
		// 64*(v-128) as DC and exact zeros elsewhere.
		coef[0] = quantiseInt(64*int32(r0[0])-64*128, q.recip[0], q.half[0])
		return 0
	}
	return e.dct(r0, r1, r2, r3, r4, r5, r6, r7, q, coef)
}

// codeAC appends the entropy-coded AC coefficients of a block (those
// marked in nz, each after its run of zeros, runs longer than 15 as ZRL
// codes, then EOB unless the last coefficient is non-zero) to e.words
// with the AC table ac (small being its table of small values): whole
// words MSB first, the bits that do not fill a word right-aligned in one
// more. It returns the number of bits. The AC bits of a block do not
// depend on any other block, which is what lets them be kept for reuse.
func (e *stripeEncoder) codeAC(coef *[64]int32, nz uint64, ac *huffTable, small *smallTable) uint16 {
	b := acBits{words: e.words}
	prev := 0
	for nz != 0 {
		z := bits.TrailingZeros64(nz)
		nz &= nz - 1
		run := z - prev - 1
		prev = z
		for run > 15 {
			c := ac[0xf0]
			b.put(uint64(c&0xffff), uint(c>>16&31))
			run -= 16
		}
		v := coef[z&63]
		if uint32(v+smallAC) < 2*smallAC {
			c := small[(run<<6|int(v+smallAC))&(len(small)-1)]
			b.put(uint64(c&0xffffff), uint(c>>24&63))
		} else {
			s := v >> 31
			size := uint(bits.Len32(uint32((v ^ s) - s)))
			c := ac[(run<<4|int(size))&0xff]
			b.put(uint64(c&0xffff)<<(size&31)|uint64(uint32(v+s))&(1<<(size&31)-1), uint(c>>16)+size)
		}
	}
	if prev != 63 {
		c := ac[0x00]
		b.put(uint64(c&0xffff), uint(c>>16&31))
	}
	if b.n > 0 {
		b.words = append(b.words, uint32(b.acc)&(1<<(b.n&31)-1))
	}
	e.words = b.words
	return uint16(b.total)
}

// acBits collects the AC bits of one block into 32-bit words, the first
// bit in the most significant place; the last word holds n bits.
type acBits struct {
	acc      uint64
	n, total uint
	words    []uint32
}

// put appends the l low bits of code (l at most 32).
func (b *acBits) put(code uint64, l uint) {
	b.acc = b.acc<<(l&63) | code
	b.n += l
	b.total += l
	if b.n >= 32 {
		b.n -= 32
		b.words = append(b.words, uint32(b.acc>>(b.n&63)))
	}
}

// mcuWords is how many words of e.words the AC bits of an MCU's blocks
// take.
func mcuWords(nbits *[blocksPerMCU]uint16) int {
	n := 0
	for _, b := range nbits {
		n += (int(b) + 31) / 32
	}
	return n
}

// writeMCU writes the six blocks of an MCU to the segment: for each, the
// difference of its quantised DC from the previous block's of the same
// component (prev holds those of luma, Cb and Cr and is updated), then
// its AC bits from words (as codeAC left them).
func (e *stripeEncoder) writeMCU(m *mcuEntry, words []uint32, prev *[3]int32) {
	acc, n, out := e.w.acc, e.w.n, e.w.out
	i := 0
	for b := range blocksPerMCU {
		comp := max(b-3, 0) // 0 for the four luma blocks, then 1 and 2
		dc := &e.huff[2*min(comp, 1)]
		d := int32(m.dc[b])
		v := d - prev[comp]
		prev[comp] = d
		s := v >> 31
		size := uint(bits.Len32(uint32((v ^ s) - s)))
		c := dc[size&0xff]
		l := uint(c>>16) + size
		acc = acc<<(l&63) | uint64(c&0xffff)<<(size&31) | uint64(uint32(v+s))&(1<<(size&31)-1)
		n += l
		if n >= 32 {
			n -= 32
			out = appendWord(out, uint32(acc>>(n&63)))
		}
		nb := uint(m.nbits[b])
		for ; nb >= 32; nb -= 32 {
			acc = acc<<32 | uint64(words[i])
			i++
			out = appendWord(out, uint32(acc>>(n&63)))
		}
		if nb > 0 {
			acc = acc<<(nb&31) | uint64(words[i])
			i++
			n += nb
			if n >= 32 {
				n -= 32
				out = appendWord(out, uint32(acc>>(n&63)))
			}
		}
	}
	e.w.acc, e.w.n, e.w.out = acc, n, out
}

// dct transforms the 8x8 block of rows r0 to r7 with image/jpeg's integer
// forward DCT and quantises it with q into coef, in zig-zag order. It
// returns a mask with a bit set for every non-zero AC coefficient, at its
// zig-zag position.
func (*stripeEncoder) dct(r0, r1, r2, r3, r4, r5, r6, r7 *[8]byte, q *quantTable, coef *[64]int32) uint64 {
	var t [64]int32
	// Columns: 8-bit samples in, 18 fractional bits out (for the outputs
	// 0 and 4 by a shift at the end).
	for i := range 8 {
		s07, d07 := int32(r0[i])+int32(r7[i]), int32(r0[i])-int32(r7[i])
		s16, d16 := int32(r1[i])+int32(r6[i]), int32(r1[i])-int32(r6[i])
		s25, d25 := int32(r2[i])+int32(r5[i]), int32(r2[i])-int32(r5[i])
		s34, d34 := int32(r3[i])+int32(r4[i]), int32(r3[i])-int32(r4[i])

		a4, a7 := rotate(d34, d07, c18Cos3, c18Sin3)
		a5, a6 := rotate(d25, d16, c18Cos1, c18Sin1)
		e0, e3 := s07+s34, s07-s34
		e1, e2 := s16+s25, s16-s25
		e2, e3 = rotate(e2, e3, c18Sqrt2Cos6, c18Sqrt2Sin6)

		t[0*8+i] = (e0 + e1 - dcLevelShift8) << 18
		t[4*8+i] = (e0 - e1) << 18
		t[2*8+i] = e2
		t[6*8+i] = e3

		b4, b6 := a4+a6, a4-a6
		b7, b5 := a7+a5, a7-a5
		b5 = (b5 >> 12) * c12Sqrt2
		b6 = (b6 >> 12) * c12Sqrt2
		t[1*8+i] = b7 + b4
		t[3*8+i] = b5
		t[5*8+i] = b6
		t[7*8+i] = b7 - b4
	}
	// Rows: 18 fractional bits in, rounded to integers and quantised;
	// most rows of most blocks quantise to zeros, which are not stored
	// (the entropy coder reads only the non-zero coefficients and DC).
	var nz uint64
	coef[0] = 0
	for i := range 8 {
		x := (*[8]int32)(t[8*i:])
		s07, d07 := x[0]+x[7], x[0]-x[7]
		s16, d16 := x[1]+x[6], x[1]-x[6]
		s25, d25 := x[2]+x[5], x[2]-x[5]
		s34, d34 := x[3]+x[4], x[3]-x[4]

		a4, a7 := rotate(d34>>14, d07>>14, c14Cos3, c14Sin3)
		a5, a6 := rotate(d25>>14, d16>>14, c14Cos1, c14Sin1)
		e0, e3 := s07+s34, s07-s34
		e1, e2 := s16+s25, s16-s25
		e2, e3 = rotate(e2>>14, e3>>14, c14Sqrt2Cos6, c14Sqrt2Sin6)

		b4, b6 := a4+a6, a4-a6
		b7, b5 := a7+a5, a7-a5
		b5 = (b5 >> 14) * c14Sqrt2
		b6 = (b6 >> 14) * c14Sqrt2

		zb := q.zeroBias[i]
		if (uint32(e0+e1)+zb)|(uint32(b7+b4)+zb)|(uint32(e2)+zb)|(uint32(b5)+zb)|
			(uint32(e0-e1)+zb)|(uint32(b6)+zb)|(uint32(e3)+zb)|(uint32(b7-b4)+zb) < q.zeroSpan[i] {
			continue
		}
		n := (*[8]uint8)(zigzag[8*i:])
		qr := (*[8]uint64)(q.recip[8*i:])
		qh := (*[8]uint64)(q.half[8*i:])
		nz |= quantise(e0+e1, qr[0], qh[0], coef, n[0])
		nz |= quantise(b7+b4, qr[1], qh[1], coef, n[1])
		nz |= quantise(e2, qr[2], qh[2], coef, n[2])
		nz |= quantise(b5, qr[3], qh[3], coef, n[3])
		nz |= quantise(e0-e1, qr[4], qh[4], coef, n[4])
		nz |= quantise(b6, qr[5], qh[5], coef, n[5])
		nz |= quantise(e3, qr[6], qh[6], coef, n[6])
		nz |= quantise(b7-b4, qr[7], qh[7], coef, n[7])
	}
	return nz &^ 1
}

// quantise rounds the fixed-point DCT output x (18 fractional bits) to an
// integer, divides it by the quantiser with recip and half, stores the
// result at coef[pos] and returns a mask with bit pos set when it is not
// zero.
func quantise(x int32, recip, half uint64, coef *[64]int32, pos uint8) uint64 {
	c := quantiseInt((x+fixedHalf18)>>18, recip, half)
	coef[pos&63] = c
	return uint64(uint32(c|-c)>>31) << (pos & 63)
}

// quantiseInt divides v by the quantiser with recip and half, rounding
// half away from zero.
func quantiseInt(v int32, recip, half uint64) int32 {
	s := v >> 31
	a := uint64((v ^ s) - s)
	return int32((a+half)*recip>>32) ^ s - s
}

// bitWriter is the state of the entropy coder between blocks: the bits
// not yet written (the low n bits of acc) and the bytes written.
type bitWriter struct {
	acc uint64
	n   uint
	out []byte
}

// appendWord appends 32 bits of entropy-coded data, MSB first, with a
// zero byte after every 0xff.
func appendWord(out []byte, v uint32) []byte {
	// A byte of v is 0xff exactly when that byte of ^v is zero.
	if x := ^v; (x-0x01010101)&^x&0x80808080 != 0 {
		return appendStuffed(out, v)
	}
	return binary.BigEndian.AppendUint32(out, v)
}

// appendStuffed is appendWord for a word with a 0xff byte.
func appendStuffed(out []byte, v uint32) []byte {
	for s := 24; s >= 0; s -= 8 {
		b := byte(v >> uint(s))
		out = append(out, b)
		if b == 0xff {
			out = append(out, 0)
		}
	}
	return out
}

// finish pads the last byte with one bits and writes the whole bytes
// pending, dropping the bits of the padding that do not fill a byte, as
// image/jpeg does.
func (w *bitWriter) finish() {
	w.acc = w.acc<<7 | 0x7f
	w.n += 7
	for w.n >= 8 {
		w.n -= 8
		b := byte(w.acc >> w.n)
		w.out = append(w.out, b)
		if b == 0xff {
			w.out = append(w.out, 0)
		}
	}
	w.n = 0
}
