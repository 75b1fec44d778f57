// Package netconn owns the network-connection sensor: it maps outbound TCP
// connections to the processes that own them (/proc/net/tcp and tcp6, and
// the socket inodes under /proc/<pid>/fd), names their destinations from
// DNS answers seen on the wire (an AF_PACKET capture of UDP port 53 when
// the agent may open one) or from its documented fallbacks, classifies the
// names against a shipped list of cloud-storage, webmail, paste and
// file-sharing domains, measures bytes sent through sock_diag
// (tcp_info.bytes_acked), and emits connection-opened and web-upload
// events. It owns the /proc/net/tcp parser, the DNS answer reader, the
// domain list and its classifier.
//
// The package must not import the engine, the store, the API or other
// sensors.
package netconn
