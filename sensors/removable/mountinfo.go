package removable

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// mount is one line of /proc/<pid>/mountinfo (see proc(5)).
type mount struct {
	// ID is the mount's unique id; it is not reused while the mount exists.
	ID int
	// ParentID is the id of the parent mount.
	ParentID int
	// Major and Minor are st_dev of files on the mount: a block device for
	// disk filesystems, major 0 for virtual ones (and for btrfs).
	Major, Minor uint32
	// Root is the directory of the filesystem that forms the mount's root.
	Root string
	// MountPoint is where the mount is, relative to the process's root.
	MountPoint string
	// Options are the per-mount options ("rw,nosuid,relatime").
	Options string
	// FSType is the filesystem type, such as "vfat" or "ext4".
	FSType string
	// Source is the mount source, such as "/dev/sdb1".
	Source string
	// SuperOptions are the per-superblock options.
	SuperOptions string
}

// errMountinfo is wrapped by every mountinfo parse error.
var errMountinfo = errors.New("malformed mountinfo line")

// parseMountinfo parses the whole of a mountinfo file. A malformed line is
// an error naming its number: the kernel never writes one, so it means the
// input is not mountinfo.
func parseMountinfo(data []byte) ([]mount, error) {
	out := make([]mount, 0, bytes.Count(data, []byte{'\n'})+1)
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		if len(l) == 0 {
			continue
		}
		m, err := parseMountinfoLine(l)
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", line, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseMountinfoLine parses one line:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// Fields are separated by single spaces; spaces, tabs, newlines and
// backslashes inside fields are escaped as \040, \011, \012 and \134.
func parseMountinfoLine(l []byte) (mount, error) {
	var m mount
	var f [6][]byte
	rest := l
	for i := range f {
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			return m, fmt.Errorf("%w: %d fields before the separator, want at least 6", errMountinfo, i)
		}
		f[i], rest = rest[:j], rest[j+1:]
	}
	// Optional fields ("shared:1 master:2") end at a lone "-".
	for {
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			return m, fmt.Errorf("%w: no \" - \" separator", errMountinfo)
		}
		field := rest[:j]
		rest = rest[j+1:]
		if len(field) == 1 && field[0] == '-' {
			break
		}
	}
	var tail [3][]byte
	for i := range 2 {
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			return m, fmt.Errorf("%w: %d fields after the separator, want 3", errMountinfo, i+1)
		}
		tail[i], rest = rest[:j], rest[j+1:]
	}
	tail[2] = rest

	var err error
	if m.ID, err = atoiField(f[0], "mount id"); err != nil {
		return m, err
	}
	if m.ParentID, err = atoiField(f[1], "parent id"); err != nil {
		return m, err
	}
	colon := bytes.IndexByte(f[2], ':')
	if colon < 0 {
		return m, fmt.Errorf("%w: device %q: want major:minor", errMountinfo, f[2])
	}
	maj, err := strconv.ParseUint(string(f[2][:colon]), 10, 32)
	if err != nil {
		return m, fmt.Errorf("%w: device major %q", errMountinfo, f[2][:colon])
	}
	minor, err := strconv.ParseUint(string(f[2][colon+1:]), 10, 32)
	if err != nil {
		return m, fmt.Errorf("%w: device minor %q", errMountinfo, f[2][colon+1:])
	}
	m.Major, m.Minor = uint32(maj), uint32(minor)
	m.Root = unescapeMountinfo(f[3])
	m.MountPoint = unescapeMountinfo(f[4])
	if len(m.MountPoint) == 0 || m.MountPoint[0] != '/' {
		return m, fmt.Errorf("%w: mount point %q is not absolute", errMountinfo, m.MountPoint)
	}
	m.Options = string(f[5])
	m.FSType = unescapeMountinfo(tail[0])
	if m.FSType == "" {
		return m, fmt.Errorf("%w: empty filesystem type", errMountinfo)
	}
	m.Source = unescapeMountinfo(tail[1])
	m.SuperOptions = string(tail[2])
	return m, nil
}

func atoiField(b []byte, what string) (int, error) {
	n, err := strconv.ParseUint(string(b), 10, 31)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q", errMountinfo, what, b)
	}
	return int(n), nil
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 and friends).
// Anything else, including a malformed escape, is kept as it is.
func unescapeMountinfo(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+3 < len(b) && b[i+1] <= '3' && isOctal(b[i+1]) && isOctal(b[i+2]) && isOctal(b[i+3]) {
			v := (b[i+1]-'0')<<6 | (b[i+2]-'0')<<3 | (b[i+3] - '0')
			out = append(out, v)
			i += 3
			continue
		}
		out = append(out, b[i])
	}
	return string(out)
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }
