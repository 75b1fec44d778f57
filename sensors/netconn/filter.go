package netconn

import "golang.org/x/net/bpf"

// dnsFilter is the classic BPF program attached to the capture socket: it
// keeps unfragmented UDP datagrams from source port 53 over IPv4 or IPv6
// (without extension headers), so the agent wakes up for DNS answers only.
// The socket is in cooked (SOCK_DGRAM) mode: offset 0 is the IP header.
var dnsFilter = []bpf.Instruction{
	/* 0 */ bpf.LoadAbsolute{Off: 0, Size: 1},
	/* 1 */ bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0},
	/* 2 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x40, SkipFalse: 7}, // → 10
	// IPv4.
	/* 3 */ bpf.LoadAbsolute{Off: 9, Size: 1},
	/* 4 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 17, SkipFalse: 11}, // not UDP → 16
	/* 5 */ bpf.LoadAbsolute{Off: 6, Size: 2},
	/* 6 */ bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x3fff, SkipTrue: 9}, // fragment → 16
	/* 7 */ bpf.LoadMemShift{Off: 0},
	/* 8 */ bpf.LoadIndirect{Off: 0, Size: 2},
	/* 9 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 53, SkipTrue: 5, SkipFalse: 6}, // → 15 / 16
	// IPv6.
	/* 10 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x60, SkipFalse: 5}, // → 16
	/* 11 */ bpf.LoadAbsolute{Off: 6, Size: 1},
	/* 12 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 17, SkipFalse: 3}, // → 16
	/* 13 */ bpf.LoadAbsolute{Off: 40, Size: 2},
	/* 14 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 53, SkipFalse: 1}, // → 16
	/* 15 */ bpf.RetConstant{Val: 1 << 16},
	/* 16 */ bpf.RetConstant{Val: 0},
}
