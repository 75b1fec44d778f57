package session

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// RecordSize is the size in bytes of one glibc utmp/wtmp record on 64-bit
// Linux (struct utmp with the 32-bit time fields glibc uses for
// compatibility).
const RecordSize = 384

// Record types (ut_type) from <utmp.h>.
const (
	TypeEmpty        = 0
	TypeRunLevel     = 1
	TypeBootTime     = 2
	TypeNewTime      = 3
	TypeOldTime      = 4
	TypeInitProcess  = 5
	TypeLoginProcess = 6
	TypeUserProcess  = 7
	TypeDeadProcess  = 8
	TypeAccounting   = 9
)

// Offsets of the fields inside one record.
const (
	offType    = 0
	offPID     = 4
	offLine    = 8
	lenLine    = 32
	offID      = 40
	lenID      = 4
	offUser    = 44
	lenUser    = 32
	offHost    = 76
	lenHost    = 256
	offExit    = 332
	offSession = 336
	offSec     = 340
	offUsec    = 344
	offAddr    = 348
)

// ErrShortRecord is returned for input shorter than RecordSize.
var ErrShortRecord = errors.New("utmp record too short")

// Record is one decoded utmp/wtmp entry.
type Record struct {
	// Type is one of the Type constants.
	Type int16
	// PID is the process that wrote the entry (the login process).
	PID int32
	// Line is the terminal device without "/dev/", such as "pts/0" or "tty1".
	Line string
	// ID is the inittab id or the tail of Line.
	ID string
	// User is the login name.
	User string
	// Host is the remote host name or address, or the X display.
	Host string
	// Termination and Exit are the exit status of a DEAD_PROCESS entry.
	Termination, Exit int16
	// Session is the session id (getsid) where the writer set it.
	Session int32
	// Time is when the entry was written.
	Time time.Time
	// Addr is the remote IPv4 or IPv6 address, when the writer set it.
	Addr netip.Addr
}

// ParseRecord decodes one record from b, which must hold at least
// RecordSize bytes; bytes past RecordSize are ignored. Strings stop at the
// first NUL; invalid UTF-8 is kept as it is.
func ParseRecord(b []byte) (Record, error) {
	if len(b) < RecordSize {
		return Record{}, fmt.Errorf("parse utmp record of %d bytes: %w", len(b), ErrShortRecord)
	}
	le := binary.LittleEndian
	r := Record{
		Type:        int16(le.Uint16(b[offType:])),
		PID:         int32(le.Uint32(b[offPID:])),
		Line:        cString(b[offLine : offLine+lenLine]),
		ID:          cString(b[offID : offID+lenID]),
		User:        cString(b[offUser : offUser+lenUser]),
		Host:        cString(b[offHost : offHost+lenHost]),
		Termination: int16(le.Uint16(b[offExit:])),
		Exit:        int16(le.Uint16(b[offExit+2:])),
		Session:     int32(le.Uint32(b[offSession:])),
	}
	sec := int64(int32(le.Uint32(b[offSec:])))
	usec := int64(int32(le.Uint32(b[offUsec:])))
	if usec < 0 || usec >= 1e6 {
		usec = 0
	}
	r.Time = time.Unix(sec, usec*1000).UTC()
	r.Addr = parseAddr(b[offAddr : offAddr+16])
	return r, nil
}

// MarshalBinary encodes r as one RecordSize-byte record, truncating strings
// that do not fit their field. It is the inverse of ParseRecord.
func (r Record) MarshalBinary() ([]byte, error) {
	b := make([]byte, RecordSize)
	le := binary.LittleEndian
	le.PutUint16(b[offType:], uint16(r.Type))
	le.PutUint32(b[offPID:], uint32(r.PID))
	copy(b[offLine:offLine+lenLine], r.Line)
	copy(b[offID:offID+lenID], r.ID)
	copy(b[offUser:offUser+lenUser], r.User)
	copy(b[offHost:offHost+lenHost], r.Host)
	le.PutUint16(b[offExit:], uint16(r.Termination))
	le.PutUint16(b[offExit+2:], uint16(r.Exit))
	le.PutUint32(b[offSession:], uint32(r.Session))
	if !r.Time.IsZero() {
		le.PutUint32(b[offSec:], uint32(int32(r.Time.Unix())))
		le.PutUint32(b[offUsec:], uint32(int32(r.Time.Nanosecond()/1000)))
	}
	switch {
	case r.Addr.Is4():
		a := r.Addr.As4()
		copy(b[offAddr:], a[:])
	case r.Addr.Is6():
		a := r.Addr.As16()
		copy(b[offAddr:], a[:])
	}
	return b, nil
}

// SessionID is the id the sensor gives the session of r: the kernel session
// id when the writer recorded it, else the login process id.
func (r Record) SessionID() string {
	if r.Session != 0 {
		return strconv.FormatInt(int64(r.Session), 10)
	}
	return strconv.FormatInt(int64(r.PID), 10)
}

// RemoteAddress is the remote address of r: the IP address when recorded,
// else the host field for remote lines. X displays (":0") are not remote.
func (r Record) RemoteAddress() string {
	if r.Addr.IsValid() && !r.Addr.IsUnspecified() {
		return r.Addr.String()
	}
	if r.Host == "" || r.Host[0] == ':' {
		return ""
	}
	return r.Host
}

// cString returns the bytes of b up to the first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// parseAddr decodes ut_addr_v6: an IPv4 address uses only the first word.
func parseAddr(b []byte) netip.Addr {
	var a16 [16]byte
	copy(a16[:], b)
	if a16 == [16]byte{} {
		return netip.Addr{}
	}
	if bytes.Equal(a16[4:], make([]byte, 12)) {
		return netip.AddrFrom4([4]byte(a16[:4]))
	}
	return netip.AddrFrom16(a16).Unmap()
}

// ParseAll decodes every whole record of b, a utmp or wtmp file's content;
// a trailing partial record is ignored.
func ParseAll(b []byte) []Record {
	out := make([]Record, 0, len(b)/RecordSize)
	for len(b) >= RecordSize {
		r, err := ParseRecord(b[:RecordSize])
		if err == nil {
			out = append(out, r)
		}
		b = b[RecordSize:]
	}
	return out
}
