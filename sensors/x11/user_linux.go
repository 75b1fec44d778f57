package x11

import (
	"os"
	"os/user"
	"strconv"
	"syscall"

	"github.com/vigil-itm/vigil/event"
)

// ProcessUser returns the user that owns process pid, nil when unknown.
func ProcessUser(pid int) *event.User {
	if pid <= 0 {
		return nil
	}
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid))
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	id := strconv.FormatUint(uint64(st.Uid), 10)
	u := &event.User{ID: id}
	if lu, err := user.LookupId(id); err == nil {
		u.Name = lu.Username
	}
	return u
}
