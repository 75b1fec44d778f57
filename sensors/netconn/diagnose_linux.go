package netconn

import (
	"context"
	"fmt"
	"os"
)

// Diagnose checks the local machine for what the netconn sensor needs: the
// socket tables (sock_diag, else /proc/net/tcp) and the DNS capture.
func Diagnose(cfg Config) []Diagnosis {
	var out []Diagnosis
	d, err := openDiag()
	if err == nil {
		err = d.dump(func(Socket, tcpCounters) {})
		d.close()
	}
	if err != nil {
		out = append(out, Diagnosis{Subject: "sock_diag", Detail: err.Error() + ": the sensor reads /proc/net/tcp instead, which costs several times more CPU, and cannot measure bytes sent, so no web-upload events",
			Fix: "load the inet_diag and tcp_diag kernel modules (modprobe tcp_diag)"})
		if _, err := os.ReadFile("/proc/net/tcp"); err != nil {
			out = append(out, Diagnosis{Subject: "/proc/net/tcp", Detail: err.Error() + ": no socket table can be read", Fix: "mount /proc"})
		} else {
			out = append(out, Diagnosis{Subject: "/proc/net/tcp", OK: true, Detail: "readable (the fallback socket table)"})
		}
	} else {
		out = append(out, Diagnosis{Subject: "sock_diag", OK: true, Detail: "TCP sockets and tcp_info.bytes_acked readable"})
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
	return out
}

func fallbackText(cfg Config) string {
	if cfg.DNSFallback == FallbackResolveList {
		return fmt.Sprintf("the hosts file, the hosts map and resolving the %d listed domains every %v", len(ShippedDomains())+len(cfg.Domains), cfg.DNSFallbackInterval)
	}
	return "the hosts file and the hosts map only"
}
