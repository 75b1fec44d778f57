package event

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// DefaultMaxLineSize is the longest line DecodeStream accepts unless told
// otherwise: 1 MiB, far above any real event.
const DefaultMaxLineSize = 1 << 20

// ErrLineTooLong is matched by the error DecodeStream reports for a line
// longer than the maximum line size. It matches ErrInvalid too.
var ErrLineTooLong = fmt.Errorf("%w: line too long", ErrInvalid)

// Decode parses one event from its JSON form and validates it.
//
// Decoding is strict: a field the schema does not define, a value of the
// wrong type and a field given twice are errors naming the field's full
// path, such as "file.sizee: unknown field (did you mean \"size\"?)" or
// "file.size: want integer, got string". Every such problem is reported
// (up to 20, then a count of the rest), joined with errors.Join, and the
// event is nil. null stands for an absent value. Timestamps are converted
// to UTC.
//
// When the JSON is well formed but the event fails Validate, Decode returns
// the event together with the validation error, so that callers can
// inspect or quarantine it. Every error matches ErrInvalid.
func Decode(data []byte) (*Event, error) {
	e, _, err := DecodeCanonical(data)
	return e, err
}

// DecodeCanonical is Decode that also reports whether data is the event's
// canonical form: byte for byte what AppendJSON writes for the decoded
// event. Agents send events in that form, so a server that stores events
// as JSON can keep data as it came instead of encoding the event again.
// canonical is false whenever the event is nil.
func DecodeCanonical(data []byte) (e *Event, canonical bool, err error) {
	d, _ := decoders.Get().(*decoder)
	if d == nil {
		d = &decoder{path: make([]pathSeg, 0, 8)}
	}
	// One copy of data for every string of the event.
	d.data, d.text = data, string(data)
	e, err = d.event(true)
	canonical = !d.altered
	d.release()
	if err != nil {
		return nil, false, err
	}
	err = e.Validate()
	return e, canonical, err
}

// decoders keeps decoders for DecodeCanonical, with their buffers.
var decoders sync.Pool

// release empties d, keeping its buffers, and puts it in decoders.
func (d *decoder) release() {
	clear(d.strs[:cap(d.strs)])
	*d = decoder{path: d.path[:0], scratch: d.scratch[:0], strs: d.strs[:0]}
	decoders.Put(d)
}

// event decodes one event object at the decoder's position without
// validating it. With whole set, only white space may follow the object.
func (d *decoder) event(whole bool) (*Event, error) {
	e := new(Event)
	err := d.run(func() {
		d.skipWS()
		if c := d.valueStart(); c != '{' {
			d.fieldErr("want an event object, got " + jsonKind(c))
			d.skipValue(0)
		} else {
			d.object(eventPlan, reflect.ValueOf(e).Elem())
		}
		if whole {
			d.skipWS()
			if d.pos < len(d.data) {
				d.syntax("unexpected data after the event")
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if err := d.fieldErrors(); err != nil {
		return nil, err
	}
	return e, nil
}

// Encode returns the JSON form of e, in one line, with the fields in schema
// order, empty fields left out and times in UTC. Decode(Encode(e)) equals e
// for every event whose times are in UTC and whose strings are valid UTF-8
// (Normalize ensures the first; invalid UTF-8 is written as U+FFFD).
// Encode fails only for values JSON cannot carry: a NaN or infinite number,
// or a year outside 0000-9999.
func Encode(e *Event) ([]byte, error) {
	return AppendJSON(make([]byte, 0, 1024), e)
}

// AppendJSON appends the JSON form of e, as written by Encode, to dst and
// returns the extended buffer. Writers of JSON Lines reuse one buffer this
// way.
func AppendJSON(dst []byte, e *Event) ([]byte, error) {
	if e == nil {
		return dst, &FieldError{Msg: "no event"}
	}
	var segs [8]pathSeg // deeper than the schema nests
	enc := encoder{path: segs[:0]}
	out := enc.object(dst, eventPlan, reflect.ValueOf(e).Elem())
	if enc.err != nil {
		return dst, fmt.Errorf("encode event %q: %w", e.Event.ID, enc.err)
	}
	return out, nil
}

// StreamOption configures DecodeStream.
type StreamOption func(*streamConfig)

type streamConfig struct {
	maxLine int
}

// WithMaxLineSize sets the longest line DecodeStream accepts, in bytes
// (without the line break). Values below 1 leave the default.
func WithMaxLineSize(n int) StreamOption {
	return func(c *streamConfig) {
		if n > 0 {
			c.maxLine = n
		}
	}
}

// DecodeStream reads JSON Lines, one event per line, and calls fn for every
// line that is not blank, with the line's number (from 1) and the result of
// Decode for it. A bad line loses nothing else: fn receives its error (a nil
// event, or the event with its validation error) and the stream goes on. A
// line longer than the maximum size (DefaultMaxLineSize unless
// WithMaxLineSize says otherwise) is skipped whole and reported with an
// error matching ErrLineTooLong. A UTF-8 byte order mark before the first
// line is ignored.
//
// DecodeStream stops when r is exhausted, returning nil, when reading fails,
// returning the read error, or when fn returns an error, returning that
// error unchanged.
func DecodeStream(r io.Reader, fn func(line int, e *Event, err error) error, opts ...StreamOption) error {
	cfg := streamConfig{maxLine: DefaultMaxLineSize}
	for _, o := range opts {
		o(&cfg)
	}
	lr := lineReader{r: bufio.NewReaderSize(r, 64<<10), max: cfg.maxLine}
	for line := 1; ; line++ {
		data, tooLong, err := lr.next()
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read events: line %d: %w", line, err)
		}
		if line == 1 {
			data = bytes.TrimPrefix(data, utf8BOM)
		}
		var fnErr error
		switch {
		case tooLong:
			fnErr = fn(line, nil, fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, cfg.maxLine))
		case !isBlank(data):
			e, derr := Decode(data)
			fnErr = fn(line, e, derr)
		}
		if fnErr != nil {
			return fnErr
		}
		if err != nil { // io.EOF after the last line
			return nil
		}
	}
}

var utf8BOM = []byte("\xEF\xBB\xBF")

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// lineReader splits a stream into lines of bounded length.
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// next returns the next line without its line break. tooLong reports a line
// over the limit, which is consumed but not returned; a line of nothing but
// white space is blank whatever its length. err is io.EOF with the last line.
func (lr *lineReader) next() (line []byte, tooLong bool, err error) {
	lr.buf = lr.buf[:0]
	blank := true
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if !tooLong && len(lr.buf)+len(chunk) > lr.max+2 { // room for "\r\n"
			tooLong = true
			blank = isBlank(lr.buf)
			lr.buf = lr.buf[:0]
		}
		if tooLong {
			blank = blank && isBlank(chunk)
		} else {
			lr.buf = append(lr.buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(lr.buf, []byte("\n")), []byte("\r"))
		if !tooLong && len(line) > lr.max {
			tooLong = true
			blank = isBlank(line)
		}
		if tooLong {
			return nil, !blank, err
		}
		return line, false, err
	}
}

// LineError places a problem at a line of a file or stream.
type LineError struct {
	// File names the input, when known.
	File string
	// Line is the line number, from 1.
	Line int
	// Err is the problem: a FieldError, a SyntaxError or several joined.
	Err error
}

// Error returns "file:line: problem", one line per problem.
func (e *LineError) Error() string {
	prefix := strconv.Itoa(e.Line) + ": "
	if e.File != "" {
		prefix = e.File + ":" + prefix
	} else {
		prefix = "line " + prefix
	}
	return prefix + strings.ReplaceAll(e.Err.Error(), "\n", "\n"+prefix)
}

// Unwrap returns the problem.
func (e *LineError) Unwrap() error { return e.Err }

// DecodeAll reads a whole file of events: either JSON Lines or a JSON array
// of event objects (recognised by its leading '['). It returns every event
// that decoded and validated, in order, and every problem as a *LineError,
// joined; a bad event loses nothing else. Reading a JSON array stops at the
// first JSON syntax error, since nothing after it can be trusted.
func DecodeAll(r io.Reader) ([]*Event, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	isArray, skipped, err := startsWithArray(br)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	if isArray {
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		return decodeArray(data, skipped)
	}
	var events []*Event
	var errs []error
	err = DecodeStream(br, func(line int, e *Event, err error) error {
		if err != nil {
			errs = append(errs, &LineError{Line: line, Err: err})
			return nil
		}
		events = append(events, e)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return events, errors.Join(errs...)
}

// DecodeFile reads the events of the named file with DecodeAll; every
// problem names the file and line.
func DecodeFile(name string) ([]*Event, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose on close
	events, err := DecodeAll(f)
	if err == nil {
		return events, nil
	}
	var errs []error
	for _, e := range unjoin(err) {
		var le *LineError
		if errors.As(e, &le) {
			le.File = name
			errs = append(errs, le)
		} else {
			errs = append(errs, fmt.Errorf("%s: %w", name, e))
		}
	}
	return events, errors.Join(errs...)
}

// unjoin lists the errors of an errors.Join result, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// skipped is the part of the input startsWithArray consumed.
type skipped struct {
	bytes, lines int
}

// startsWithArray reports whether the first byte other than white space and
// a byte order mark is '['. When it is, what precedes the '[' is consumed
// and counted; otherwise nothing is consumed but the byte order mark.
func startsWithArray(br *bufio.Reader) (isArray bool, skip skipped, err error) {
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(3)
		skip.bytes = 3
	}
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			if errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull) { // empty, or a very long run of white space
				return false, skip, nil
			}
			return false, skip, err
		}
		switch c := b[n-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			skip.lines = bytes.Count(b, []byte("\n"))
			skip.bytes += n - 1
			_, _ = br.Discard(n - 1)
			return true, skip, nil
		}
		return false, skip, nil
	}
}

// decodeArray decodes a JSON array of events held in data, which follows
// the skipped part of the input; errors give lines and offsets in the input.
func decodeArray(data []byte, skip skipped) ([]*Event, error) {
	firstLine := 1 + skip.lines
	var (
		events []*Event
		errs   []error
		line   = firstLine
		last   int // offset up to which line counts line breaks
	)
	lineAt := func(off int) int {
		if off < last {
			line, last = firstLine, 0
		}
		line += bytes.Count(data[last:off], []byte("\n"))
		last = off
		return line
	}
	d := decoder{data: data}
	err := d.run(func() {
		d.skipWS()
		d.pos++ // '['
		d.skipWS()
		if d.peek() == ']' {
			d.pos++
		} else {
			for i := 0; ; i++ {
				d.skipWS()
				start := lineAt(d.pos)
				one := decoder{data: data, pos: d.pos, scratch: d.scratch}
				e, err := one.event(false)
				var syn *SyntaxError
				if errors.As(err, &syn) {
					panic(abort{syn})
				}
				d.pos, d.scratch = one.pos, one.scratch
				if err == nil {
					err = e.Validate()
				}
				if err != nil {
					errs = append(errs, &LineError{Line: start, Err: err})
				} else {
					events = append(events, e)
				}
				d.skipWS()
				if c := d.peek(); c == ']' {
					d.pos++
					break
				} else if c != ',' {
					d.syntax("want ',' or ']' after an event")
				}
				d.pos++
			}
		}
		d.skipWS()
		if d.pos < len(d.data) {
			d.syntax("unexpected data after the array")
		}
	})
	if err != nil {
		var syn *SyntaxError
		if errors.As(err, &syn) {
			line := lineAt(min(syn.Offset, len(data)))
			syn.Offset += skip.bytes
			err = &LineError{Line: line, Err: err}
		}
		errs = append(errs, err)
	}
	return events, errors.Join(errs...)
}
