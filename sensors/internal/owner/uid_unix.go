//go:build unix

package owner

import (
	"os"
	"strconv"
	"syscall"
)

// UID returns the numeric id of the user owning the file, "" when unknown.
func UID(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(st.Uid), 10)
	}
	return ""
}
