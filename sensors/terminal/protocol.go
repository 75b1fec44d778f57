package terminal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Message types of the wire protocol.
const (
	// MsgHello opens a session (and re-opens it after a reconnect): Session,
	// Shell, TTY, Width, Height, PID.
	MsgHello = "hello"
	// MsgRecord carries one piece of the recording: Kind ("o", "i", "r"),
	// Data, and Width and Height for a resize.
	MsgRecord = "record"
	// MsgCommand carries a reconstructed command line: Line, Cwd, ExitCode.
	MsgCommand = "command"
	// MsgEnd closes the session: ExitCode, Dropped.
	MsgEnd = "end"
)

// DefaultMaxFrame is the largest frame the sensor accepts by default.
const DefaultMaxFrame = 1 << 20

// frameHeader is the size of the big-endian length that prefixes a frame.
const frameHeader = 4

// Wire errors.
var (
	// ErrFrameTooLarge is returned for a frame over the reader's limit.
	ErrFrameTooLarge = errors.New("frame too large")
	// ErrBadMessage is returned for a frame that is not a valid message.
	ErrBadMessage = errors.New("bad message")
)

// Message is one frame of the protocol between `vigil shell` and the
// terminal sensor. A frame is a 4-byte big-endian length followed by that
// many bytes of JSON. The user is never part of a message: the sensor takes
// it from the socket's peer credentials.
type Message struct {
	Type string    `json:"type"`
	Time time.Time `json:"t"`
	// Session is the client's session id (hello).
	Session string `json:"session,omitempty"`
	// Shell is the real shell's path; TTY the terminal the wrapper runs on;
	// PID the shell's process id (hello).
	Shell string `json:"shell,omitempty"`
	TTY   string `json:"tty,omitempty"`
	PID   int64  `json:"pid,omitempty"`
	// Width and Height are the terminal size (hello, resize record).
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Kind and Data are a record: "o" output, "i" input, "r" resize.
	Kind string `json:"kind,omitempty"`
	Data string `json:"data,omitempty"`
	// Line and Cwd describe a command; Approximate says that line editing
	// the wrapper cannot follow (history, completion) was used.
	Line        string `json:"line,omitempty"`
	Cwd         string `json:"cwd,omitempty"`
	Approximate bool   `json:"approximate,omitempty"`
	// ExitCode is a command's or, in MsgEnd, the shell's exit status.
	ExitCode *int64 `json:"exit_code,omitempty"`
	// Dropped counts records the client dropped because its buffer was
	// full while the agent was unreachable (MsgEnd, MsgHello).
	Dropped uint64 `json:"dropped,omitempty"`
}

// AppendFrame appends m, framed, to dst.
func AppendFrame(dst []byte, m *Message) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return dst, fmt.Errorf("encode %s message: %w", m.Type, err)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...), nil
}

// WriteFrame writes m as one frame.
func WriteFrame(w io.Writer, m *Message) error {
	b, err := AppendFrame(nil, m)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write %s frame: %w", m.Type, err)
	}
	return nil
}

// ReadFrame reads one frame of at most maxSize bytes of JSON and decodes
// it. It returns io.EOF at a clean end of stream, io.ErrUnexpectedEOF for a
// frame cut short, ErrFrameTooLarge and ErrBadMessage (wrapped) otherwise.
func ReadFrame(r io.Reader, maxSize int) (Message, error) {
	var hdr [frameHeader]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Message{}, err // io.EOF stays recognisable to callers
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || uint64(n) > uint64(maxSize) {
		return Message{}, fmt.Errorf("read frame of %d bytes (limit %d): %w", n, maxSize, ErrFrameTooLarge)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Message{}, fmt.Errorf("read frame body: %w", err)
	}
	return DecodeMessage(body)
}

// DecodeMessage decodes and checks one frame's JSON.
func DecodeMessage(body []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return Message{}, fmt.Errorf("decode frame: %w: %w", ErrBadMessage, err)
	}
	switch m.Type {
	case MsgHello, MsgCommand, MsgEnd:
	case MsgRecord:
		switch m.Kind {
		case "o", "i", "r":
		default:
			return Message{}, fmt.Errorf("record kind %q: %w", m.Kind, ErrBadMessage)
		}
	default:
		return Message{}, fmt.Errorf("message type %q: %w", m.Type, ErrBadMessage)
	}
	if m.Width < 0 || m.Height < 0 || m.Width > 10000 || m.Height > 10000 {
		return Message{}, fmt.Errorf("terminal size %dx%d: %w", m.Width, m.Height, ErrBadMessage)
	}
	return m, nil
}
