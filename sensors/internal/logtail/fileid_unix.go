//go:build unix

package logtail

import (
	"os"
	"syscall"
)

// FileID returns the identity of the file (its inode number) that a saved
// Position or offset is checked against, 0 when unknown.
func FileID(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino) //nolint:unconvert // Ino is uint32 on some platforms.
	}
	return 0
}
