package cert

import (
	"errors"
	"io"
	"sync/atomic"
)

// Limits of one CSV record. A record over them is read to its end and then
// reported as too long, so that one bad row cannot make memory grow.
const (
	// maxRecordBytes bounds the bytes a record keeps, outside the counted
	// column (the content column, whose bytes are counted and dropped).
	maxRecordBytes = 1 << 20
	// maxFields bounds the fields a record keeps.
	maxFields = 1024
	// chunkSize is the read size.
	chunkSize = 64 << 10
)

// States of the CSV scanner.
const (
	stStart  = iota // at the start of a field
	stPlain         // inside an unquoted field
	stQuoted        // inside a quoted field
	stQuote         // just after a quote inside a quoted field
)

// csvReader reads RFC 4180 records one at a time from a stream, keeping one
// record in memory. It is lenient where real exports are sloppy: a quote
// inside an unquoted field is kept as a literal, a quoted field followed by
// more text goes on unquoted, and "\r\n" ends a line like "\n" (inside
// quotes too, as encoding/csv does). Blank lines are skipped.
//
// One column may be counted rather than kept (countCol): its bytes are
// measured and dropped, so a huge field costs no memory.
type csvReader struct {
	src     io.Reader
	chunk   []byte
	pos, n  int
	eof     bool
	err     error
	read    int64         // bytes read from src
	counter *atomic.Int64 // shared total of bytes read, or nil

	state   int
	started bool // the record holds something besides a line break

	buf      []byte // the kept bytes of the current record's fields
	ends     []int  // end offset in buf of each field
	nfields  int    // fields in the record, kept or not
	countCol int    // the counted column, or -1
	countLen int64  // bytes of the counted column in the current record
	tooLong  bool   // the record went over maxRecordBytes or maxFields
	badQuote bool   // the input ended inside a quoted field
}

func newCSVReader(src io.Reader, counter *atomic.Int64) *csvReader {
	return &csvReader{
		src:      src,
		chunk:    make([]byte, chunkSize),
		counter:  counter,
		countCol: -1,
		buf:      make([]byte, 0, 1024),
		ends:     make([]int, 0, 16),
	}
}

// next reads the next record. It returns false at the end of the input or
// when reading fails; err tells which.
func (c *csvReader) next() bool {
	c.buf = c.buf[:0]
	c.ends = c.ends[:0]
	c.nfields = 0
	c.countLen = 0
	c.tooLong = false
	c.badQuote = false
	c.state = stStart
	c.started = false
	for {
		if c.pos >= c.n && !c.fill() {
			return c.finish()
		}
		switch c.state {
		case stStart:
			switch b := c.chunk[c.pos]; b {
			case '"':
				c.pos++
				c.state = stQuoted
				c.started = true
			case ',':
				c.pos++
				c.endField()
				c.started = true
			case '\n':
				c.pos++
				if c.started {
					c.endField()
					return true
				}
			case '\r':
				c.pos++
				if !c.crEndsLine() {
					c.add([]byte{'\r'})
					c.state = stPlain
					c.started = true
				}
			default:
				c.state = stPlain
				c.started = true
			}
		case stPlain:
			data := c.chunk[c.pos:c.n]
			j := 0
			for j < len(data) && data[j] != ',' && data[j] != '\n' && data[j] != '\r' {
				j++
			}
			c.add(data[:j])
			c.pos += j
			if j == len(data) {
				continue
			}
			c.pos++
			switch data[j] {
			case ',':
				c.endField()
				c.state = stStart
			case '\n':
				c.endField()
				return true
			default: // '\r'
				if !c.crEndsLine() {
					c.add([]byte{'\r'})
				}
			}
		case stQuoted:
			data := c.chunk[c.pos:c.n]
			j := 0
			for j < len(data) && data[j] != '"' && data[j] != '\r' {
				j++
			}
			c.add(data[:j])
			c.pos += j
			if j == len(data) {
				continue
			}
			c.pos++
			if data[j] == '"' {
				c.state = stQuote
			} else if !c.crEndsLine() { // "\r\n" inside quotes is kept as "\n"
				c.add([]byte{'\r'})
			}
		case stQuote:
			switch b := c.chunk[c.pos]; b {
			case '"':
				c.pos++
				c.add([]byte{'"'})
				c.state = stQuoted
			case ',':
				c.pos++
				c.endField()
				c.state = stStart
			case '\n':
				c.pos++
				c.endField()
				return true
			case '\r':
				c.pos++
				if !c.crEndsLine() {
					c.add([]byte{'\r'})
					c.state = stPlain
				}
			default: // text after the closing quote: keep the quote, go on unquoted
				c.add([]byte{'"'})
				c.state = stPlain
			}
		}
	}
}

// finish ends the input: the last record may lack its line break.
func (c *csvReader) finish() bool {
	if c.err != nil || !c.started {
		return false
	}
	if c.state == stQuoted {
		c.badQuote = true
	}
	c.endField()
	c.state = stStart
	c.started = false
	return true
}

// crEndsLine reports whether the '\r' just consumed is followed by '\n' or
// by the end of the input, that is, whether it belongs to a line break.
func (c *csvReader) crEndsLine() bool {
	if c.pos >= c.n && !c.fill() {
		return true
	}
	return c.chunk[c.pos] == '\n'
}

// fill reads the next chunk once the current one is consumed.
func (c *csvReader) fill() bool {
	if c.eof || c.err != nil {
		return false
	}
	for range 100 {
		n, err := c.src.Read(c.chunk)
		c.pos, c.n = 0, n
		c.read += int64(n)
		if c.counter != nil && n > 0 {
			c.counter.Add(int64(n))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				c.eof = true
			} else {
				c.err = err
			}
			return n > 0 && c.err == nil
		}
		if n > 0 {
			return true
		}
	}
	c.err = io.ErrNoProgress
	return false
}

// add appends bytes to the current field.
func (c *csvReader) add(p []byte) {
	switch {
	case len(p) == 0:
	case c.nfields == c.countCol:
		c.countLen += int64(len(p))
	case c.tooLong:
	case len(c.buf)+len(p) > maxRecordBytes:
		c.tooLong = true
	default:
		c.buf = append(c.buf, p...)
	}
}

func (c *csvReader) endField() {
	c.nfields++
	if len(c.ends) < maxFields {
		c.ends = append(c.ends, len(c.buf))
	} else {
		c.tooLong = true
	}
}

// field returns the kept bytes of field i of the current record; it is
// empty for the counted column and for fields past maxFields. The bytes are
// valid until the next call to next.
func (c *csvReader) field(i int) []byte {
	if i < 0 || i >= len(c.ends) {
		return nil
	}
	start := 0
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.buf[start:c.ends[i]]
}
