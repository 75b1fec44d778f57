package agent

import (
	"os"
	"runtime"
	"strings"

	"github.com/vigil-itm/vigil/event"
)

// LocalHost describes this machine for the host field set of events: its
// name, a stable id where the OS keeps one (/etc/machine-id on Linux), and
// the OS family and version.
func LocalHost() event.Host {
	h := event.Host{OS: &event.OS{Family: runtime.GOOS}}
	if name, err := os.Hostname(); err == nil {
		h.Name = name
	}
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			h.ID = strings.TrimSpace(string(b))
			break
		}
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				h.OS.Version = strings.Trim(v, `"`)
			}
		}
	}
	return h
}
