package process

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Process connector constants from <linux/connector.h> and <linux/cn_proc.h>.
const (
	cnIdxProc = 1
	cnValProc = 1

	procCnMcastListen = 1
	procCnMcastIgnore = 2

	procEventFork = 0x00000001
	procEventExec = 0x00000002
	procEventExit = 0x80000000

	nlmsgHdrLen = 16
	cnMsgLen    = 20
	procHdrLen  = 16 // what, cpu, timestamp_ns
	nlmsgDone   = 3
	nlmsgError  = 2
	nlmsgAlign  = 4
)

// errTruncated is returned for a message shorter than its headers say.
var errTruncated = errors.New("truncated process connector message")

// procEvent is one decoded process connector event.
type procEvent struct {
	What uint32
	// PID and TGID are the thread and its thread group (the process) for
	// exec and exit; for fork they are the child's.
	PID, TGID uint32
	// ParentPID and ParentTGID are set for fork.
	ParentPID, ParentTGID uint32
	// ExitCode is the wait status of an exit; ExitSignal the signal sent to
	// the parent.
	ExitCode, ExitSignal uint32
}

// parseMessages decodes the netlink messages of one datagram and returns the
// fork, exec and exit events in it; other events are skipped.
func parseMessages(b []byte) ([]procEvent, error) {
	ne := binary.NativeEndian
	var out []procEvent
	for len(b) >= nlmsgHdrLen {
		l := int(ne.Uint32(b[0:4]))
		typ := ne.Uint16(b[4:6])
		if l < nlmsgHdrLen || l > len(b) {
			return out, fmt.Errorf("netlink message length %d of %d bytes: %w", l, len(b), errTruncated)
		}
		msg := b[nlmsgHdrLen:l]
		if typ == nlmsgError {
			return out, errors.New("netlink error message from the process connector")
		}
		if ev, ok, err := parseCnMsg(msg); err != nil {
			return out, err
		} else if ok {
			out = append(out, ev)
		}
		adv := (l + nlmsgAlign - 1) &^ (nlmsgAlign - 1)
		if adv >= len(b) {
			break
		}
		b = b[adv:]
	}
	return out, nil
}

func parseCnMsg(m []byte) (procEvent, bool, error) {
	ne := binary.NativeEndian
	if len(m) < cnMsgLen {
		return procEvent{}, false, fmt.Errorf("connector header of %d bytes: %w", len(m), errTruncated)
	}
	idx, val := ne.Uint32(m[0:4]), ne.Uint32(m[4:8])
	dataLen := int(ne.Uint16(m[16:18]))
	if idx != cnIdxProc || val != cnValProc {
		return procEvent{}, false, nil
	}
	d := m[cnMsgLen:]
	if dataLen > len(d) {
		return procEvent{}, false, fmt.Errorf("connector payload %d of %d bytes: %w", dataLen, len(d), errTruncated)
	}
	d = d[:dataLen]
	if len(d) < procHdrLen {
		return procEvent{}, false, nil // an ack without an event
	}
	ev := procEvent{What: ne.Uint32(d[0:4])}
	u := d[procHdrLen:]
	word := func(i int) (uint32, bool) {
		if len(u) < 4*(i+1) {
			return 0, false
		}
		return ne.Uint32(u[4*i:]), true
	}
	var ok bool
	switch ev.What {
	case procEventFork:
		var a, b, c bool
		ev.ParentPID, a = word(0)
		ev.ParentTGID, b = word(1)
		ev.PID, c = word(2)
		ev.TGID, ok = word(3)
		ok = ok && a && b && c
	case procEventExec:
		var a bool
		ev.PID, a = word(0)
		ev.TGID, ok = word(1)
		ok = ok && a
	case procEventExit:
		var a, b bool
		ev.PID, a = word(0)
		ev.TGID, b = word(1)
		ev.ExitCode, ok = word(2)
		ev.ExitSignal, _ = word(3)
		ok = ok && a && b
	default:
		return procEvent{}, false, nil
	}
	if !ok {
		return procEvent{}, false, fmt.Errorf("process event 0x%x of %d bytes: %w", ev.What, len(d), errTruncated)
	}
	return ev, true, nil
}

// listenMessage builds the request that subscribes (op 1) to or
// unsubscribes (op 2) from process events.
func listenMessage(op uint32) []byte {
	ne := binary.NativeEndian
	b := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], nlmsgDone)
	c := b[nlmsgHdrLen:]
	ne.PutUint32(c[0:], cnIdxProc)
	ne.PutUint32(c[4:], cnValProc)
	ne.PutUint16(c[16:], 4)
	ne.PutUint32(c[cnMsgLen:], op)
	return b
}

// exitStatus turns a wait status into an exit code, 128+signal for a
// process killed by a signal, as shells report it.
func exitStatus(ws uint32) int64 {
	if sig := ws & 0x7f; sig != 0 {
		return 128 + int64(sig)
	}
	return int64((ws >> 8) & 0xff)
}
