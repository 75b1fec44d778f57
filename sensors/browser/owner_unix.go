//go:build unix

package browser

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
