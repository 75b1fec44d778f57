package netconn

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// TCP states as /proc/net/tcp numbers them.
const (
	StateEstablished = 0x01
	StateListen      = 0x0A
)

// Socket is one line of /proc/net/tcp or /proc/net/tcp6.
type Socket struct {
	Local, Remote netip.AddrPort
	State         int
	UID           uint32
	Inode         uint64
}

// ErrBadProcNet is returned (wrapped) for a malformed /proc/net/tcp line.
var ErrBadProcNet = errors.New("malformed /proc/net/tcp line")

// ParseProcNetTCP parses the content of /proc/net/tcp or /proc/net/tcp6
// (the header line is skipped) and calls fn for each socket. A malformed
// line stops the parse with an error naming it.
func ParseProcNetTCP(data []byte, fn func(Socket)) error {
	n := 0
	for line := range bytes.Lines(data) {
		n++
		if n == 1 {
			continue
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		s, err := parseProcNetLine(line)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		fn(s)
	}
	return nil
}

// parseProcNetLine reads
// "sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...".
func parseProcNetLine(line []byte) (Socket, error) {
	var s Socket
	var f [10][]byte
	i := 0
	for field := range bytes.FieldsSeq(line) {
		if i == len(f) {
			break
		}
		f[i] = field
		i++
	}
	if i < len(f) {
		return s, fmt.Errorf("%w: %d fields", ErrBadProcNet, i)
	}
	var err error
	if s.Local, err = parseHexAddrPort(f[1]); err != nil {
		return s, err
	}
	if s.Remote, err = parseHexAddrPort(f[2]); err != nil {
		return s, err
	}
	st, err := strconv.ParseUint(string(f[3]), 16, 8)
	if err != nil {
		return s, fmt.Errorf("%w: state %q", ErrBadProcNet, f[3])
	}
	s.State = int(st)
	uid, err := strconv.ParseUint(string(f[7]), 10, 32)
	if err != nil {
		return s, fmt.Errorf("%w: uid %q", ErrBadProcNet, f[7])
	}
	s.UID = uint32(uid)
	if s.Inode, err = strconv.ParseUint(string(f[9]), 10, 64); err != nil {
		return s, fmt.Errorf("%w: inode %q", ErrBadProcNet, f[9])
	}
	return s, nil
}

// parseHexAddrPort reads "0100007F:0050" (IPv4) or the 32-digit IPv6 form.
// The kernel prints the address as 32-bit words in host byte order; this
// parser assumes a little-endian host, as every Linux the agent ships for.
func parseHexAddrPort(b []byte) (netip.AddrPort, error) {
	addrHex, portHex, ok := bytes.Cut(b, []byte(":"))
	if !ok || len(portHex) != 4 {
		return netip.AddrPort{}, fmt.Errorf("%w: address %q", ErrBadProcNet, b)
	}
	port, err := strconv.ParseUint(string(portHex), 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: port %q", ErrBadProcNet, portHex)
	}
	var raw [16]byte
	switch len(addrHex) {
	case 8, 32:
	default:
		return netip.AddrPort{}, fmt.Errorf("%w: address %q", ErrBadProcNet, addrHex)
	}
	n, err := hex.Decode(raw[:], addrHex)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: address %q", ErrBadProcNet, addrHex)
	}
	// Each 32-bit word is in host (little-endian) order.
	for w := 0; w < n; w += 4 {
		v := binary.LittleEndian.Uint32(raw[w:])
		binary.BigEndian.PutUint32(raw[w:], v)
	}
	var addr netip.Addr
	if n == 4 {
		addr = netip.AddrFrom4([4]byte(raw[:4]))
	} else {
		addr = netip.AddrFrom16(raw).Unmap()
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
