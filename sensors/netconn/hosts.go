package netconn

import (
	"bufio"
	"net/netip"
	"strings"
)

// ParseHosts reads an /etc/hosts file: each address gets the first name
// listed for it.
func ParseHosts(text string) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		a = a.Unmap()
		if _, ok := out[a]; !ok {
			out[a] = strings.ToLower(f[1])
		}
	}
	return out
}
