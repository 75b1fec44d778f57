//go:build unix

package printing

import (
	"os"
	"syscall"
)

// fileID returns the inode number of the file, 0 when unknown.
func fileID(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino) //nolint:unconvert // Ino is uint32 on some platforms.
	}
	return 0
}
