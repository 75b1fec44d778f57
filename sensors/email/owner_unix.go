//go:build unix

package email

import (
	"os"
	"strconv"
	"syscall"
)

// ownerID returns the uid owning the file, "" when unknown.
func ownerID(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(st.Uid), 10)
	}
	return ""
}

// fileID returns the inode number of the file, 0 when unknown.
func fileID(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino) //nolint:unconvert // Ino is uint32 on some platforms.
	}
	return 0
}
