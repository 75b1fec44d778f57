package netconn

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigil-itm/vigil/event"
)

// socketOwners finds the processes holding the socket inodes in want by
// reading the links under /proc/<pid>/fd. It stops when all are found. A
// socket shared by several processes (after fork) goes to the first one
// met, in /proc order.
func socketOwners(procRoot string, want map[uint64]bool) map[uint64]int {
	out := make(map[uint64]int, len(want))
	procs, err := os.ReadDir(procRoot)
	if err != nil {
		return out
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid <= 0 {
			continue
		}
		fdDir := filepath.Join(procRoot, p.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue // gone, or not ours to read
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			inode, err := strconv.ParseUint(strings.TrimSuffix(link[len("socket:["):], "]"), 10, 64)
			if err != nil || !want[inode] {
				continue
			}
			if _, done := out[inode]; !done {
				out[inode] = pid
				if len(out) == len(want) {
					return out
				}
			}
		}
	}
	return out
}

// processInfo reads what /proc says about pid.
func processInfo(procRoot string, pid int) *event.Process {
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	p := &event.Process{PID: int64(pid)}
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		p.Executable = strings.TrimSuffix(exe, " (deleted)")
	}
	if comm, err := os.ReadFile(filepath.Join(dir, "comm")); err == nil {
		p.Name = strings.TrimSpace(string(comm))
	}
	if cmd, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil && len(cmd) > 0 {
		args := strings.Split(string(bytes.TrimRight(cmd, "\x00")), "\x00")
		if len(args) > 64 {
			args = args[:64]
		}
		p.Args = args
		p.CommandLine = strings.Join(args, " ")
		if len(p.CommandLine) > 4096 {
			p.CommandLine = p.CommandLine[:4096]
		}
	}
	return p
}
