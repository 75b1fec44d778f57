package removable

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// procInfo is what /proc says about a process.
type procInfo struct {
	PID        int
	Start      uint64 // start time in clock ticks since boot, to detect reuse
	Name       string
	Executable string
	Args       []string
	UID, EUID  string
}

// maxCmdline caps the command line kept for an event.
const maxCmdline = 16 << 10

// readProc reads a process's identity. It fails only when the process is
// gone; unreadable parts (another user's process when not root) stay empty.
func readProc(pid int) (procInfo, error) {
	p := procInfo{PID: pid}
	dir := "/proc/" + strconv.Itoa(pid)
	start, err := procStart(pid)
	if err != nil {
		return p, err
	}
	p.Start = start
	p.Executable, _ = os.Readlink(dir + "/exe")
	p.Executable = strings.TrimSuffix(p.Executable, " (deleted)")
	if comm, err := os.ReadFile(dir + "/comm"); err == nil {
		p.Name = printable(string(bytes.TrimSpace(comm)))
	}
	if cmd, err := os.ReadFile(dir + "/cmdline"); err == nil {
		if len(cmd) > maxCmdline {
			cmd = cmd[:maxCmdline]
		}
		cmd = bytes.TrimRight(cmd, "\x00")
		if len(cmd) > 0 {
			for a := range bytes.SplitSeq(cmd, []byte{0}) {
				p.Args = append(p.Args, string(a))
			}
		}
	}
	if status, err := os.ReadFile(dir + "/status"); err == nil {
		for line := range bytes.SplitSeq(status, []byte{'\n'}) {
			rest, ok := bytes.CutPrefix(line, []byte("Uid:"))
			if !ok {
				continue
			}
			f := strings.Fields(string(rest))
			if len(f) >= 2 {
				p.UID, p.EUID = f[0], f[1]
			}
			break
		}
	}
	if p.Name == "" && p.Executable != "" {
		p.Name = filepath.Base(p.Executable)
	}
	return p, nil
}

// procStart returns field 22 of /proc/<pid>/stat, the start time.
func procStart(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, syscall.EINVAL
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state); the start time is field 22.
	if len(f) < 20 {
		return 0, syscall.EINVAL
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// srcFile is a file a writing process had open for reading: a candidate
// for file.source_path.
type srcFile struct {
	Path string
	Size int64
}

// maxFDScan bounds the descriptors examined per process.
const maxFDScan = 256

// openFiles lists the regular files pid has open for reading (O_RDONLY or
// O_RDWR), skipping /dev, /proc, /sys and paths for which skip is true.
func openFiles(pid int, skip func(string) bool) []srcFile {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	names, _ := f.Readdirnames(maxFDScan)
	_ = f.Close()
	var out []srcFile
	for _, n := range names {
		target, err := os.Readlink(dir + "/" + n)
		if err != nil || !strings.HasPrefix(target, "/") || strings.HasSuffix(target, " (deleted)") {
			continue
		}
		if strings.HasPrefix(target, "/dev/") || strings.HasPrefix(target, "/proc/") || strings.HasPrefix(target, "/sys/") || skip(target) {
			continue
		}
		if fdAccMode(pid, n) == os.O_WRONLY {
			continue
		}
		st, err := os.Stat(target)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		out = append(out, srcFile{Path: target, Size: st.Size()})
		if len(out) >= 16 {
			break
		}
	}
	return out
}

// fdAccMode returns the O_ACCMODE bits of a descriptor from fdinfo, or -1.
func fdAccMode(pid int, fd string) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/fdinfo/" + fd)
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			fl, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			if err != nil {
				return -1
			}
			return int(fl & 3)
		}
	}
	return -1
}

// hasOpen reports whether pid has path open.
func hasOpen(pid int, path string) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	names, _ := f.Readdirnames(maxFDScan)
	_ = f.Close()
	for _, n := range names {
		if t, err := os.Readlink(dir + "/" + n); err == nil && t == path {
			return true
		}
	}
	return false
}

// findOpener scans every process for one that has path open. It costs a
// readlink per descriptor on the machine, so callers rate-limit it.
func findOpener(path string, self int) int {
	f, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	names, _ := f.Readdirnames(-1)
	_ = f.Close()
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == self {
			continue
		}
		if hasOpen(pid, path) {
			return pid
		}
	}
	return 0
}
