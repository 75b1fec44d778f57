package netconn

import (
	"context"
	"fmt"
	"os"
)

// Diagnose checks the local machine for what the netconn sensor needs: the
// socket tables, the DNS capture and sock_diag.
func Diagnose(cfg Config) []Diagnosis {
	var out []Diagnosis
	if _, err := os.ReadFile("/proc/net/tcp"); err != nil {
		out = append(out, Diagnosis{Subject: "/proc/net/tcp", Detail: err.Error(), Fix: "mount /proc"})
	} else {
		out = append(out, Diagnosis{Subject: "/proc/net/tcp", OK: true, Detail: "readable"})
	}
	if os.Geteuid() != 0 {
		out = append(out, Diagnosis{Subject: "process owners", Detail: "not root: sockets of other users' processes cannot be mapped to them",
			Fix: "run the agent as root"})
	}
	switch {
	case !cfg.DNSCapture:
		out = append(out, Diagnosis{Subject: "DNS capture", OK: true, Detail: "turned off (dns_capture: false); names come from " + fallbackText(cfg)})
	default:
		c, err := openCapture()
		if err != nil {
			out = append(out, Diagnosis{Subject: "DNS capture", Detail: err.Error() + "; names will come from " + fallbackText(cfg),
				Fix: "run the agent as root, or give it CAP_NET_RAW (setcap cap_net_raw+ep on the binary, or AmbientCapabilities=CAP_NET_RAW in its systemd unit)"})
			break
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = c.run(ctx, func([]byte) {})
		out = append(out, Diagnosis{Subject: "DNS capture", OK: true, Detail: "AF_PACKET socket with the UDP port 53 filter opens"})
	}
	d, err := openDiag()
	if err == nil {
		_, err = d.dump()
		d.close()
	}
	if err != nil {
		out = append(out, Diagnosis{Subject: "sock_diag", Detail: err.Error() + ": bytes sent cannot be measured, so no web-upload events",
			Fix: "load the inet_diag and tcp_diag kernel modules (modprobe tcp_diag)"})
	} else {
		out = append(out, Diagnosis{Subject: "sock_diag", OK: true, Detail: "tcp_info.bytes_acked readable for every TCP socket"})
	}
	return out
}

func fallbackText(cfg Config) string {
	if cfg.DNSFallback == FallbackResolveList {
		return fmt.Sprintf("the hosts file, the hosts map and resolving the %d listed domains every %v", len(ShippedDomains())+len(cfg.Domains), cfg.DNSFallbackInterval)
	}
	return "the hosts file and the hosts map only"
}
