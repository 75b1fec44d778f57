package netconn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sock_diag constants from <linux/inet_diag.h>.
const (
	inetDiagInfo    = 2  // INET_DIAG_INFO: struct tcp_info
	inetDiagMsgSize = 72 // struct inet_diag_msg
	inetDiagReqSize = 56 // struct inet_diag_req_v2
	offDiagSport    = 4  // idiag_sport (network order)
	offDiagDport    = 6  // idiag_dport
	offDiagSrc      = 8  // idiag_src: 4 words
	offDiagDst      = 24 // idiag_dst
	offDiagUID      = 64 // idiag_uid
	offDiagInode    = 68 // idiag_inode
)

// dumpStates are the TCP states the sensor asks for: established
// connections, and listening sockets to tell inbound connections apart.
const dumpStates = 1<<StateEstablished | 1<<StateListen

// Offsets in struct tcp_info of the counters the sensor reads. A shorter
// tcp_info (older kernel) lacks the later ones.
var (
	offBytesAcked = int(unsafe.Offsetof(unix.TCPInfo{}.Bytes_acked))
	offBytesSent  = int(unsafe.Offsetof(unix.TCPInfo{}.Bytes_sent))
)

// tcpCounters are a socket's byte counters from tcp_info.
type tcpCounters struct {
	// Acked is tcpi_bytes_acked: bytes the peer acknowledged.
	Acked uint64
	// Sent is tcpi_bytes_sent (Linux 4.19+): bytes sent, retransmissions
	// included; 0 when the kernel does not report it.
	Sent uint64
}

// diag lists TCP sockets with their tcp_info through a NETLINK_SOCK_DIAG
// socket. A dump costs a fraction of reading /proc/net/tcp{,6}: the kernel
// walks the same tables but does not format a text line per socket, and
// only the asked states are returned.
type diag struct {
	fd  int
	seq uint32
	buf []byte
}

func openDiag() (*diag, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("open sock_diag socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("bind sock_diag socket: %w", err)
	}
	return &diag{fd: fd, buf: make([]byte, 1<<16)}, nil
}

func (d *diag) close() { _ = unix.Close(d.fd) }

// dump calls fn for every established or listening TCP socket of both
// families with its counters (zero for a listening socket).
func (d *diag) dump(fn func(Socket, tcpCounters)) error {
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		if err := d.dumpFamily(family, fn); err != nil {
			return err
		}
	}
	return nil
}

func (d *diag) dumpFamily(family uint8, fn func(Socket, tcpCounters)) error {
	d.seq++
	req := make([]byte, unix.NLMSG_HDRLEN+inetDiagReqSize)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], d.seq)
	body := req[unix.NLMSG_HDRLEN:]
	body[0] = family
	body[1] = unix.IPPROTO_TCP
	body[2] = 1 << (inetDiagInfo - 1)
	ne.PutUint32(body[4:], dumpStates)
	if err := unix.Sendto(d.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("send sock_diag request: %w", err)
	}
	for {
		n, _, err := unix.Recvfrom(d.fd, d.buf, 0)
		if err != nil {
			return fmt.Errorf("read sock_diag answer: %w", err)
		}
		msgs, err := splitNetlink(d.buf[:n])
		if err != nil {
			return fmt.Errorf("parse sock_diag answer: %w", err)
		}
		for _, m := range msgs {
			if m.seq != d.seq {
				continue
			}
			switch m.typ {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(m.data) >= 4 {
					if errno := int32(ne.Uint32(m.data)); errno != 0 {
						return fmt.Errorf("sock_diag: %w", unix.Errno(-errno))
					}
				}
				return errors.New("sock_diag: error answer")
			}
			if so, c, ok := parseDiagMsg(m.data); ok {
				fn(so, c)
			}
		}
	}
}

// netlinkMsg is one message of a netlink datagram.
type netlinkMsg struct {
	typ  uint16
	seq  uint32
	data []byte
}

// splitNetlink splits a netlink datagram into its messages.
func splitNetlink(b []byte) ([]netlinkMsg, error) {
	var out []netlinkMsg
	ne := binary.NativeEndian
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(ne.Uint32(b[0:]))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return out, fmt.Errorf("netlink message length %d of %d bytes", l, len(b))
		}
		out = append(out, netlinkMsg{typ: ne.Uint16(b[4:]), seq: ne.Uint32(b[8:]), data: b[unix.NLMSG_HDRLEN:l]})
		next := (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
		if next > len(b) {
			break
		}
		b = b[next:]
	}
	return out, nil
}

// parseDiagMsg reads one inet_diag_msg with its attributes: the socket
// (addresses, state, owner, inode) and the tcp_info counters when present.
// It reports false for a message too short to be one.
func parseDiagMsg(b []byte) (Socket, tcpCounters, bool) {
	var c tcpCounters
	if len(b) < inetDiagMsgSize {
		return Socket{}, c, false
	}
	ne := binary.NativeEndian
	so := Socket{
		State: int(b[1]),
		UID:   ne.Uint32(b[offDiagUID:]),
		Inode: uint64(ne.Uint32(b[offDiagInode:])),
	}
	sport := binary.BigEndian.Uint16(b[offDiagSport:])
	dport := binary.BigEndian.Uint16(b[offDiagDport:])
	var src, dst netip.Addr
	switch b[0] {
	case unix.AF_INET:
		src = netip.AddrFrom4([4]byte(b[offDiagSrc : offDiagSrc+4]))
		dst = netip.AddrFrom4([4]byte(b[offDiagDst : offDiagDst+4]))
	case unix.AF_INET6:
		src = netip.AddrFrom16([16]byte(b[offDiagSrc : offDiagSrc+16])).Unmap()
		dst = netip.AddrFrom16([16]byte(b[offDiagDst : offDiagDst+16])).Unmap()
	default:
		return Socket{}, c, false
	}
	so.Local, so.Remote = netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	attrs := b[inetDiagMsgSize:]
	for len(attrs) >= 4 {
		l := int(ne.Uint16(attrs[0:]))
		typ := ne.Uint16(attrs[2:])
		if l < 4 || l > len(attrs) {
			break
		}
		if typ == inetDiagInfo {
			info := attrs[4:l]
			if len(info) >= offBytesAcked+8 {
				c.Acked = ne.Uint64(info[offBytesAcked:])
			}
			if len(info) >= offBytesSent+8 {
				c.Sent = ne.Uint64(info[offBytesSent:])
			}
			break
		}
		next := (l + 3) &^ 3 // attributes are 4-byte aligned
		if next > len(attrs) {
			break // the last attribute's padding is cut off
		}
		attrs = attrs[next:]
	}
	return so, c, true
}
