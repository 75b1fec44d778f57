package process

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procInfo is what the sensor knows about one live process.
type procInfo struct {
	PID, PPID  int
	Name       string // comm
	Exe        string
	Args       []string
	Cwd        string
	UID, EUID  int
	StartTicks uint64 // start time in clock ticks after boot, to spot pid reuse
}

// procfs reads process details under a /proc mount.
type procfs struct{ root string }

func (p procfs) path(pid int, name string) string {
	return filepath.Join(p.root, strconv.Itoa(pid), name)
}

// read reads what /proc says about pid. It fails when the process is gone;
// details a process hides (a kernel thread has no exe) stay empty.
func (p procfs) read(pid int) (procInfo, error) {
	info := procInfo{PID: pid, UID: -1, EUID: -1}
	stat, err := os.ReadFile(p.path(pid, "stat"))
	if err != nil {
		return info, fmt.Errorf("read process %d: %w", pid, err)
	}
	if err := parseStat(stat, &info); err != nil {
		return info, fmt.Errorf("read process %d: %w", pid, err)
	}
	if status, err := os.ReadFile(p.path(pid, "status")); err == nil {
		parseStatus(status, &info)
	}
	if exe, err := os.Readlink(p.path(pid, "exe")); err == nil {
		info.Exe = strings.TrimSuffix(exe, " (deleted)")
	}
	if cmd, err := os.ReadFile(p.path(pid, "cmdline")); err == nil {
		info.Args = splitCmdline(cmd)
	}
	if cwd, err := os.Readlink(p.path(pid, "cwd")); err == nil {
		info.Cwd = cwd
	}
	return info, nil
}

// parseStat reads comm, ppid and starttime from /proc/PID/stat. comm may
// hold spaces and parentheses, so fields are counted after the last ')'.
func parseStat(b []byte, info *procInfo) error {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return fmt.Errorf("malformed stat %q", truncate(b))
	}
	info.Name = string(b[open+1 : closing])
	fields := bytes.Fields(b[closing+1:])
	// fields[0] is state (field 3); ppid is field 4, starttime field 22.
	if len(fields) < 20 {
		return fmt.Errorf("stat with %d fields", len(fields)+2)
	}
	ppid, err := strconv.Atoi(string(fields[1]))
	if err != nil {
		return fmt.Errorf("stat ppid: %w", err)
	}
	info.PPID = ppid
	st, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return fmt.Errorf("stat starttime: %w", err)
	}
	info.StartTicks = st
	return nil
}

// parseStatus reads the real and effective uid from /proc/PID/status.
func parseStatus(b []byte, info *procInfo) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("Uid:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) >= 2 {
			info.UID, _ = strconv.Atoi(string(f[0]))
			info.EUID, _ = strconv.Atoi(string(f[1]))
		}
		return
	}
}

func splitCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	parts := bytes.Split(b, []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out
}

// pids lists the numeric entries of the /proc mount, appending to dst.
func (p procfs) pids(dst []int) ([]int, error) {
	d, err := os.Open(p.root)
	if err != nil {
		return dst, fmt.Errorf("list %s: %w", p.root, err)
	}
	defer func() { _ = d.Close() }()
	for {
		names, err := d.Readdirnames(512)
		for _, n := range names {
			if n == "" || n[0] < '0' || n[0] > '9' {
				continue
			}
			if pid, err := strconv.Atoi(n); err == nil {
				dst = append(dst, pid)
			}
		}
		if err != nil || len(names) == 0 {
			return dst, nil
		}
	}
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
