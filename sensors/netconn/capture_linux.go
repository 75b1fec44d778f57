package netconn

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// capture is an AF_PACKET socket that receives DNS answers on every
// interface, loopback included.
type capture struct {
	fd int
}

// openCapture opens the capture socket with dnsFilter attached. It needs
// CAP_NET_RAW.
func openCapture() (*capture, error) {
	const ethPAllBE = 0x0300 // htons(ETH_P_ALL)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, ethPAllBE)
	if err != nil {
		return nil, fmt.Errorf("open AF_PACKET socket: %w", err)
	}
	raw, err := bpf.Assemble(dnsFilter)
	if err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("assemble DNS filter: %w", err)
	}
	prog := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		prog[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
		&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("attach DNS filter: %w", err)
	}
	// A timeout lets the read loop notice cancellation.
	tv := unix.NsecToTimeval(int64(200e6))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("set capture timeout: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	return &capture{fd: fd}, nil
}

// run passes each captured packet to fn until ctx is done, then closes
// the socket.
func (c *capture) run(ctx context.Context, fn func(pkt []byte)) error {
	defer func() { _ = unix.Close(c.fd) }()
	buf := make([]byte, 1<<16)
	for ctx.Err() == nil {
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOBUFS):
			continue // the kernel dropped packets for us; go on
		case err != nil:
			return fmt.Errorf("read DNS capture: %w", err)
		}
		if n > 0 {
			fn(buf[:n])
		}
	}
	return nil
}
