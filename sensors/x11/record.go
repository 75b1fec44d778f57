package x11

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// RECORD reply categories (the "category" byte of an EnableContext reply).
const (
	RecordFromServer    = 0
	RecordFromClient    = 1
	RecordClientStarted = 2
	RecordClientDied    = 3
	RecordStartOfData   = 4
	RecordEndOfData     = 5
)

// recordEnableContext is the RECORD minor opcode of EnableContext.
const recordEnableContext = 5

// Core protocol numbers the keyboard needs.
const (
	evKeyPress               = 2
	evKeyRelease             = 3
	evGeneric                = 35
	reqChangeKeyboardMapping = 100
)

// MaxRecordReply bounds the data of one RECORD reply the reader accepts;
// the server flushes its buffer long before this.
const MaxRecordReply = 16 << 20

// ErrRecordEnded is returned by RecordStream.Next when the server said the
// context was disabled (EndOfData).
var ErrRecordEnded = errors.New("RECORD context ended")

// EnableContextRequest returns the bytes of a RECORD EnableContext request
// for context ctx, for a little-endian connection; major is the RECORD
// extension's major opcode on the server.
func EnableContextRequest(major byte, ctx uint32) []byte {
	b := make([]byte, 8)
	b[0], b[1] = major, recordEnableContext
	binary.LittleEndian.PutUint16(b[2:], 2)
	binary.LittleEndian.PutUint32(b[4:], ctx)
	return b
}

// RecordReply is one reply of the EnableContext stream. Data is valid until
// the next call to Next.
type RecordReply struct {
	Category      byte
	ClientSwapped bool
	ServerTime    uint32
	Data          []byte
}

// RecordStream reads the replies to an EnableContext request from a
// connection that sent nothing else.
type RecordStream struct {
	r   *bufio.Reader
	buf []byte
}

// NewRecordStream reads RECORD replies from r.
func NewRecordStream(r io.Reader) *RecordStream {
	return &RecordStream{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next reply. It returns ErrRecordEnded after EndOfData, an
// error describing the X error when the server refused the request, and the
// read error (io.EOF when the server went away) otherwise.
//
// Events the server sends every client (MappingNotify) are skipped.
func (s *RecordStream) Next() (RecordReply, error) {
	var head [32]byte
	for {
		if _, err := io.ReadFull(s.r, head[:]); err != nil {
			return RecordReply{}, fmt.Errorf("read RECORD reply header: %w", err)
		}
		if head[0] == 1 {
			break
		}
		if head[0] == 0 {
			return RecordReply{}, fmt.Errorf("RECORD EnableContext failed: X error code %d (resource 0x%x, opcode %d.%d)",
				head[1], binary.LittleEndian.Uint32(head[4:]), head[10], binary.LittleEndian.Uint16(head[8:]))
		}
		if head[0]&0x7f == evGeneric {
			extra := int64(binary.LittleEndian.Uint32(head[4:])) * 4
			if _, err := s.r.Discard(int(min(extra, MaxRecordReply))); err != nil {
				return RecordReply{}, fmt.Errorf("skip generic event on the RECORD connection: %w", err)
			}
		}
	}
	n := binary.LittleEndian.Uint32(head[4:])
	if uint64(n)*4 > MaxRecordReply {
		return RecordReply{}, fmt.Errorf("RECORD reply of %d bytes exceeds %d", uint64(n)*4, MaxRecordReply)
	}
	size := int(n) * 4
	if cap(s.buf) < size {
		s.buf = make([]byte, size)
	}
	data := s.buf[:size]
	if _, err := io.ReadFull(s.r, data); err != nil {
		return RecordReply{}, fmt.Errorf("read RECORD reply data (%d bytes): %w", size, err)
	}
	rep := RecordReply{
		Category:      head[1],
		ClientSwapped: head[9] != 0,
		ServerTime:    binary.LittleEndian.Uint32(head[16:]),
		Data:          data,
	}
	if rep.Category == RecordEndOfData {
		return rep, ErrRecordEnded
	}
	return rep, nil
}

// InputKind says what a recorded input item is.
type InputKind uint8

// Kinds of recorded input.
const (
	// InputKeyPress is a key going down.
	InputKeyPress InputKind = iota + 1
	// InputKeyRelease is a key going up.
	InputKeyRelease
	// InputMappingChange is a ChangeKeyboardMapping request some client
	// sent: Keysyms replaces the symbols of Count keycodes from First, with
	// PerKeycode symbols each.
	InputMappingChange
)

// Input is one item of the RECORD data: a key event or a keyboard mapping
// change, in the order the server handled them.
type Input struct {
	Kind    InputKind
	Keycode byte
	// Time is the server time of a key event, in milliseconds.
	Time       uint32
	First      byte
	Count      int
	PerKeycode int
	Keysyms    []Keysym
}

// ParseRecordData decodes the data of one reply and calls fn for each key
// event and keyboard mapping change in it. Other events and requests are
// skipped. It returns an error when the data is malformed; items before
// the damage have been passed to fn.
func ParseRecordData(rep RecordReply, fn func(Input)) error {
	data := rep.Data
	switch rep.Category {
	case RecordFromServer:
		for len(data) > 0 {
			if len(data) < 32 {
				return fmt.Errorf("RECORD event data: %d trailing bytes", len(data))
			}
			size := 32
			switch t := data[0] & 0x7f; t {
			case evKeyPress, evKeyRelease:
				k := InputKeyPress
				if t == evKeyRelease {
					k = InputKeyRelease
				}
				fn(Input{Kind: k, Keycode: data[1], Time: binary.LittleEndian.Uint32(data[4:])})
			case evGeneric:
				extra := uint64(binary.LittleEndian.Uint32(data[4:])) * 4
				if extra > uint64(len(data)-32) {
					return fmt.Errorf("RECORD generic event of %d extra bytes overruns the reply", extra)
				}
				size += int(extra)
			}
			data = data[size:]
		}
	case RecordFromClient:
		order := binary.ByteOrder(binary.LittleEndian)
		if rep.ClientSwapped {
			order = binary.BigEndian
		}
		for len(data) > 0 {
			if len(data) < 4 {
				return fmt.Errorf("RECORD request data: %d trailing bytes", len(data))
			}
			size := uint64(order.Uint16(data[2:])) * 4
			hdr := 4
			if size == 0 { // BIG-REQUESTS: the length follows in 32 bits
				if len(data) < 8 {
					return errors.New("RECORD big request: truncated length")
				}
				size = uint64(order.Uint32(data[4:])) * 4
				hdr = 8
			}
			if size < uint64(hdr) || size > uint64(len(data)) {
				return fmt.Errorf("RECORD request opcode %d: length %d does not fit %d bytes", data[0], size, len(data))
			}
			if data[0] == reqChangeKeyboardMapping {
				in, err := parseChangeKeyboardMapping(data[1], data[hdr:size], order)
				if err != nil {
					return err
				}
				fn(in)
			}
			data = data[size:]
		}
	}
	return nil
}

// parseChangeKeyboardMapping decodes a ChangeKeyboardMapping request: count
// is the header's keycode count and body the request after its length.
func parseChangeKeyboardMapping(count byte, body []byte, order binary.ByteOrder) (Input, error) {
	if len(body) < 4 {
		return Input{}, errors.New("ChangeKeyboardMapping: truncated")
	}
	n, first, per := int(count), body[0], int(body[1])
	need := 4 + n*per*4
	if len(body) < need {
		return Input{}, fmt.Errorf("ChangeKeyboardMapping: %d keycodes x %d symbols need %d bytes, have %d", n, per, need, len(body))
	}
	syms := make([]Keysym, n*per)
	for i := range syms {
		syms[i] = Keysym(order.Uint32(body[4+i*4:]))
	}
	return Input{Kind: InputMappingChange, First: first, Count: n, PerKeycode: per, Keysyms: syms}, nil
}
