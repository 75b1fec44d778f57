package removable

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// uevent is one kernel object event as the kernel multicasts it on
// NETLINK_KOBJECT_UEVENT: "ACTION@DEVPATH\0KEY=VALUE\0KEY=VALUE\0...".
type uevent struct {
	Action    string
	DevPath   string
	Subsystem string
	DevType   string
	DevName   string
	// Env holds every KEY=VALUE pair, including the ones above.
	Env map[string]string
}

// errUevent is wrapped by every uevent parse error.
var errUevent = errors.New("malformed uevent")

// maxUevent is the largest message accepted; the kernel's own buffer for a
// uevent's environment is 2048 bytes.
const maxUevent = 8192

// parseUevent parses a kernel uevent message. Messages that udev forwards
// (they start with "libudev\0") and anything else that does not have the
// kernel's "action@devpath" header are errors.
func parseUevent(b []byte) (uevent, error) {
	var u uevent
	if len(b) > maxUevent {
		return u, fmt.Errorf("%w: %d bytes, more than %d", errUevent, len(b), maxUevent)
	}
	head, rest, _ := bytes.Cut(b, []byte{0})
	at := bytes.IndexByte(head, '@')
	if at <= 0 || at == len(head)-1 {
		return u, fmt.Errorf("%w: header %q is not action@devpath", errUevent, truncate(head, 64))
	}
	u.Env = make(map[string]string, 12)
	for len(rest) > 0 {
		var kv []byte
		kv, rest, _ = bytes.Cut(rest, []byte{0})
		if len(kv) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(kv, []byte{'='})
		if !ok || len(k) == 0 {
			return u, fmt.Errorf("%w: %q is not KEY=VALUE", errUevent, truncate(kv, 64))
		}
		u.Env[string(k)] = string(v)
	}
	u.Action = u.Env["ACTION"]
	u.DevPath = u.Env["DEVPATH"]
	u.Subsystem = u.Env["SUBSYSTEM"]
	u.DevType = u.Env["DEVTYPE"]
	u.DevName = u.Env["DEVNAME"]
	switch {
	case u.Action == "":
		return u, fmt.Errorf("%w: no ACTION", errUevent)
	case u.Action != string(head[:at]):
		return u, fmt.Errorf("%w: ACTION %q differs from header %q", errUevent, u.Action, head[:at])
	case u.DevPath == "" || !strings.HasPrefix(u.DevPath, "/"):
		return u, fmt.Errorf("%w: DEVPATH %q is not absolute", errUevent, u.DevPath)
	case u.DevPath != string(head[at+1:]):
		return u, fmt.Errorf("%w: DEVPATH %q differs from header", errUevent, u.DevPath)
	case climbs(u.DevPath):
		return u, fmt.Errorf("%w: DEVPATH %q climbs out of sysfs", errUevent, u.DevPath)
	case u.Subsystem == "":
		return u, fmt.Errorf("%w: no SUBSYSTEM", errUevent)
	case climbs(u.DevName):
		return u, fmt.Errorf("%w: DEVNAME %q climbs out of /dev", errUevent, u.DevName)
	}
	return u, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// climbs reports whether a slash-separated path has a ".." element.
func climbs(p string) bool {
	return strings.Contains("/"+p+"/", "/../")
}
