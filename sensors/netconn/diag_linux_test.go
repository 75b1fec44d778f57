package netconn

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

// TestDiagAgreesWithProcNetTCP checks the sock_diag dump against the text
// tables for real sockets: a listener and a connection, over IPv4 and
// IPv6 (when the machine has it).
func TestDiagAgreesWithProcNetTCP(t *testing.T) {
	d, err := openDiag()
	require.NoError(t, err)
	defer d.close()

	ports := map[uint16]bool{}
	for _, network := range []string{"tcp4", "tcp6"} {
		addr := "127.0.0.1:0"
		if network == "tcp6" {
			addr = "[::1]:0"
		}
		ln, err := net.Listen(network, addr)
		if err != nil && network == "tcp6" {
			t.Logf("no IPv6 loopback: %v", err)
			continue
		}
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		c, err := net.Dial(network, ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		peer, err := ln.Accept()
		require.NoError(t, err)
		t.Cleanup(func() { _ = peer.Close() })
		_, err = c.Write(make([]byte, 1000))
		require.NoError(t, err)
		_, err = peer.Read(make([]byte, 1000))
		require.NoError(t, err)
		ports[uint16(ln.Addr().(*net.TCPAddr).Port)] = true
	}

	mine := func(so Socket) bool { return ports[so.Local.Port()] || ports[so.Remote.Port()] }
	fromDiag := map[uint64]Socket{}
	counters := map[uint64]tcpCounters{}
	require.NoError(t, d.dump(func(so Socket, c tcpCounters) {
		if mine(so) {
			fromDiag[so.Inode] = so
			counters[so.Inode] = c
		}
	}))
	fromProc := map[uint64]Socket{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, ParseProcNetTCP(data, func(so Socket) {
			if mine(so) && (so.State == StateEstablished || so.State == StateListen) {
				fromProc[so.Inode] = so
			}
		}))
	}
	// Per family: a listener and the two ends of one connection.
	require.Len(t, fromProc, 3*len(ports))
	require.Equal(t, fromProc, fromDiag)
	var sent int
	for inode, so := range fromDiag {
		if so.State == StateEstablished && counters[inode].Acked > 1000 {
			sent++
		}
	}
	require.Equal(t, len(ports), sent, "the writing end of each connection had 1000 bytes (and the SYN) acknowledged")
}

// diagMsg builds an inet_diag_msg with a tcp_info attribute.
func diagMsg(family uint8, state uint8, src, dst netip.AddrPort, uid, inode uint32, acked uint64) []byte {
	ne := binary.NativeEndian
	b := make([]byte, inetDiagMsgSize)
	b[0], b[1] = family, state
	binary.BigEndian.PutUint16(b[offDiagSport:], src.Port())
	binary.BigEndian.PutUint16(b[offDiagDport:], dst.Port())
	s16, d16 := src.Addr().As16(), dst.Addr().As16()
	if family == unix.AF_INET {
		s4, d4 := src.Addr().As4(), dst.Addr().As4()
		copy(b[offDiagSrc:], s4[:])
		copy(b[offDiagDst:], d4[:])
	} else {
		copy(b[offDiagSrc:], s16[:])
		copy(b[offDiagDst:], d16[:])
	}
	ne.PutUint32(b[offDiagUID:], uid)
	ne.PutUint32(b[offDiagInode:], inode)
	info := make([]byte, offBytesSent+8)
	ne.PutUint64(info[offBytesAcked:], acked)
	attr := make([]byte, 4, 4+len(info))
	ne.PutUint16(attr[0:], uint16(4+len(info)))
	ne.PutUint16(attr[2:], inetDiagInfo)
	return append(b, append(attr, info...)...)
}

func TestParseDiagMsg(t *testing.T) {
	v4src, v4dst := netip.MustParseAddrPort("10.1.2.3:51000"), netip.MustParseAddrPort("162.125.1.1:443")
	v6src, v6dst := netip.MustParseAddrPort("[2001:db8::1]:40000"), netip.MustParseAddrPort("[2606:4700::1]:443")
	mapped := netip.AddrPortFrom(netip.AddrFrom16(v4dst.Addr().As16()), 443)
	tests := []struct {
		name string
		msg  []byte
		want Socket
		c    tcpCounters
		ok   bool
	}{
		{"ipv4", diagMsg(unix.AF_INET, StateEstablished, v4src, v4dst, 1000, 4242, 12345),
			Socket{Local: v4src, Remote: v4dst, State: StateEstablished, UID: 1000, Inode: 4242}, tcpCounters{Acked: 12345}, true},
		{"ipv6", diagMsg(unix.AF_INET6, StateEstablished, v6src, v6dst, 0, 7, 1),
			Socket{Local: v6src, Remote: v6dst, State: StateEstablished, UID: 0, Inode: 7}, tcpCounters{Acked: 1}, true},
		{"ipv4-mapped ipv6 is unmapped", diagMsg(unix.AF_INET6, StateEstablished, v6src, mapped, 5, 8, 0),
			Socket{Local: v6src, Remote: v4dst, State: StateEstablished, UID: 5, Inode: 8}, tcpCounters{}, true},
		{"listening, without tcp_info", diagMsg(unix.AF_INET, StateListen, v4src, netip.AddrPortFrom(netip.IPv4Unspecified(), 0), 0, 9, 0)[:inetDiagMsgSize],
			Socket{Local: v4src, Remote: netip.AddrPortFrom(netip.IPv4Unspecified(), 0), State: StateListen, Inode: 9}, tcpCounters{}, true},
		{"short", make([]byte, inetDiagMsgSize-1), Socket{}, tcpCounters{}, false},
		{"last attribute without its padding", append(diagMsg(unix.AF_INET, StateListen, v4src, v4dst, 0, 9, 0)[:inetDiagMsgSize], 6, 0, 9, 0, 0xaa, 0xbb),
			Socket{Local: v4src, Remote: v4dst, State: StateListen, Inode: 9}, tcpCounters{}, true},
		{"unknown family", diagMsg(unix.AF_UNIX, StateEstablished, v4src, v4dst, 0, 1, 0), Socket{}, tcpCounters{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			so, c, ok := parseDiagMsg(tc.msg)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, so)
			require.Equal(t, tc.c, c)
		})
	}
}

func FuzzParseDiagAnswer(f *testing.F) {
	msg := diagMsg(unix.AF_INET, StateEstablished, netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:443"), 1, 2, 3)
	hdr := make([]byte, unix.NLMSG_HDRLEN)
	binary.NativeEndian.PutUint32(hdr, uint32(len(hdr)+len(msg)))
	f.Add(append(hdr, msg...))
	f.Add(msg)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, _ := splitNetlink(b)
		for _, m := range msgs {
			so, _, ok := parseDiagMsg(m.data)
			if ok && (!so.Local.IsValid() || !so.Remote.IsValid()) {
				t.Fatalf("accepted a socket without addresses: %+v", so)
			}
		}
		if so, _, ok := parseDiagMsg(b); ok && so.Local.Addr().Is4In6() {
			t.Fatalf("left a mapped address: %v", so.Local)
		}
	})
}

// TestPollFallsBackToProcNetTCP runs the poll without sock_diag, as on a
// kernel without tcp_diag: connections are still seen, from the text
// tables, but no bytes are measured.
func TestPollFallsBackToProcNetTCP(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = ln.Close() }()
	dst := netip.MustParseAddrPort(ln.Addr().String())

	cfg := DefaultConfig()
	cfg.IncludeLoopback, cfg.Connections, cfg.UploadMinBytes = true, ConnectionsAll, 1
	s := New(cfg, sensors.Env{})
	col := &sensortest.Events{}
	now := time.Now()
	require.NoError(t, s.poll(now, 1, nil, col.Emit)) // primes: nothing is new yet

	c, err := net.Dial("tcp4", dst.String())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	peer, err := ln.Accept()
	require.NoError(t, err)
	defer func() { _ = peer.Close() }()
	_, err = c.Write(make([]byte, 4096))
	require.NoError(t, err)

	require.NoError(t, s.poll(now.Add(time.Second), 2, nil, col.Emit))
	opened := find(col, event.ActionConnectionOpened, dst)
	require.Len(t, opened, 1, "the outbound end only: the accepted end's local port is listening")
	require.Equal(t, int64(os.Getpid()), opened[0].Process.PID)
	require.Equal(t, c.LocalAddr().String(), netip.AddrPortFrom(netip.MustParseAddr(opened[0].Source.IP), uint16(opened[0].Source.Port)).String())

	require.NoError(t, c.Close())
	require.NoError(t, s.poll(now.Add(10*time.Second), 3, nil, col.Emit))
	require.Empty(t, find(col, event.ActionWebUpload, dst), "without sock_diag no bytes are known")
}
