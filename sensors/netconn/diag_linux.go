package netconn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sock_diag constants from <linux/inet_diag.h>.
const (
	inetDiagInfo    = 2  // INET_DIAG_INFO: struct tcp_info
	inetDiagMsgSize = 72 // struct inet_diag_msg
	inetDiagReqSize = 56 // struct inet_diag_req_v2
	offDiagInode    = 68 // idiag_inode in inet_diag_msg
	tcpStateListen  = 10
)

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

// diag asks the kernel for tcp_info of every TCP socket through a
// NETLINK_SOCK_DIAG socket.
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

// dump returns the counters of every non-listening TCP socket of both
// families, by socket inode.
func (d *diag) dump() (map[uint64]tcpCounters, error) {
	out := map[uint64]tcpCounters{}
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		if err := d.dumpFamily(family, out); err != nil {
			return out, err
		}
	}
	return out, nil
}

func (d *diag) dumpFamily(family uint8, out map[uint64]tcpCounters) error {
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
	ne.PutUint32(body[4:], 0xffffffff&^(1<<tcpStateListen))
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
			inode, c, ok := parseDiagMsg(m.data)
			if ok {
				out[inode] = c
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

// parseDiagMsg reads the inode and the tcp_info counters of one
// inet_diag_msg with its attributes.
func parseDiagMsg(b []byte) (uint64, tcpCounters, bool) {
	var c tcpCounters
	if len(b) < inetDiagMsgSize {
		return 0, c, false
	}
	ne := binary.NativeEndian
	inode := uint64(ne.Uint32(b[offDiagInode:]))
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
			return inode, c, inode != 0
		}
		attrs = attrs[(l+3)&^3:]
	}
	return inode, c, false
}
