package netconn

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/bpf"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

const procNetTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21345 1 0000000000000000 100 0 0 10 0
   1: 0F02000A:C350 5DB8D822:01BB 01 00000000:00000000 02:000A7B5D 00000000  1000        0 998877 2 0000000000000000 20 4 30 10 -1
`

const procNetTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21346 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000F02000A:C351 0000000000000000FFFF00005DB8D822:01BB 01 00000000:00000000 00:00000000 00000000  1000        0 998878 1 0000000000000000 20 4 30 10 -1
   2: B80D01200000000000000000010000000:D000 B80D0120000000000000000002000000:0050 01 00000000:00000000 00:00000000 00000000  1000        0 998879 1 0000000000000000 20 4 30 10 -1
`

func TestParseProcNetTCP(t *testing.T) {
	var got []Socket
	require.NoError(t, ParseProcNetTCP([]byte(procNetTCP), func(s Socket) { got = append(got, s) }))
	require.Equal(t, []Socket{
		{Local: netip.MustParseAddrPort("127.0.0.1:631"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), State: StateListen, Inode: 21345},
		{Local: netip.MustParseAddrPort("10.0.2.15:50000"), Remote: netip.MustParseAddrPort("34.216.184.93:443"), State: StateEstablished, UID: 1000, Inode: 998877},
	}, got)

	got = nil
	err := ParseProcNetTCP([]byte(procNetTCP6), func(s Socket) { got = append(got, s) })
	require.ErrorIs(t, err, ErrBadProcNet, "line 4 has a 33-digit address")
	require.Len(t, got, 2)
	require.Equal(t, netip.MustParseAddrPort("[::1]:631"), got[0].Local)
	require.Equal(t, netip.MustParseAddrPort("10.0.2.15:50001"), got[1].Local, "v4-mapped addresses are unmapped")
	require.Equal(t, netip.MustParseAddrPort("34.216.184.93:443"), got[1].Remote)

	fixed := strings.Replace(procNetTCP6, "B80D01200000000000000000010000000:D000", "B80D0120000000000000000001000000:D000", 1)
	got = nil
	require.NoError(t, ParseProcNetTCP([]byte(fixed), func(s Socket) { got = append(got, s) }))
	require.Equal(t, netip.MustParseAddrPort("[2001:db8::1]:53248"), got[2].Local)
	require.Equal(t, netip.MustParseAddrPort("[2001:db8::2]:80"), got[2].Remote)

	for _, bad := range []string{"h\n0: x\n", "h\n0: 0100007F:0277 00000000:0000 ZZ 0 0 0 0 0 1\n", "h\n0: 0100007F:277 00000000:0000 0A 0 0 0 0 0 1\n"} {
		require.ErrorIs(t, ParseProcNetTCP([]byte(bad), func(Socket) {}), ErrBadProcNet, bad)
	}
}

func FuzzParseProcNetTCP(f *testing.F) {
	f.Add([]byte(procNetTCP))
	f.Add([]byte(procNetTCP6))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ParseProcNetTCP(data, func(s Socket) {
			if !s.Local.IsValid() || !s.Remote.IsValid() {
				t.Fatalf("invalid address in %+v", s)
			}
		})
	})
}

func BenchmarkParseProcNetTCP(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(strings.SplitN(procNetTCP, "\n", 2)[0] + "\n")
	line := strings.SplitN(procNetTCP, "\n", 3)[2]
	for range 500 {
		sb.WriteString(line)
	}
	data := []byte(sb.String())
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		n := 0
		if err := ParseProcNetTCP(data, func(Socket) { n++ }); err != nil || n != 500 {
			b.Fatal(err, n)
		}
	}
}

// dnsResponse builds a DNS response for question q with a CNAME to cname
// (when set) and A/AAAA records for addrs.
func dnsResponse(t testing.TB, id uint16, q, cname string, ttl uint32, addrs ...netip.Addr) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: true, RecursionAvailable: true})
	b.EnableCompression()
	require.NoError(t, b.StartQuestions())
	require.NoError(t, b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(q + "."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}))
	require.NoError(t, b.StartAnswers())
	owner := q
	if cname != "" {
		require.NoError(t, b.CNAMEResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(q + "."), Class: dnsmessage.ClassINET, TTL: ttl},
			dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(cname + ".")}))
		owner = cname
	}
	for _, a := range addrs {
		h := dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(owner + "."), Class: dnsmessage.ClassINET, TTL: ttl}
		if a.Is4() {
			require.NoError(t, b.AResource(h, dnsmessage.AResource{A: a.As4()}))
		} else {
			require.NoError(t, b.AAAAResource(h, dnsmessage.AAAAResource{AAAA: a.As16()}))
		}
	}
	// An unrelated record must not be taken.
	require.NoError(t, b.AResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName("other.example."), Class: dnsmessage.ClassINET, TTL: ttl},
		dnsmessage.AResource{A: [4]byte{192, 0, 2, 99}}))
	msg, err := b.Finish()
	require.NoError(t, err)
	return msg
}

// ipPacket wraps payload in UDP from srcPort and an IPv4 or IPv6 header.
func ipPacket(v6 bool, srcPort uint16, payload []byte) []byte {
	udp := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:], srcPort)
	binary.BigEndian.PutUint16(udp[2:], 40000)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], payload)
	if v6 {
		h := make([]byte, 40)
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(len(udp)))
		h[6], h[7] = 17, 64
		return append(h, udp...)
	}
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(udp)))
	h[8], h[9] = 64, 17
	return append(h, udp...)
}

func TestDNSAnswers(t *testing.T) {
	a4, a6 := netip.MustParseAddr("162.125.1.18"), netip.MustParseAddr("2620:100:6017:18::a27d:212")
	msg := dnsResponse(t, 7, "WWW.Dropbox.com", "www-env.dropbox-dns.com", 30, a4, a6)
	want := []Answer{{Name: "www.dropbox.com", Addr: a4, TTL: 30 * time.Second}, {Name: "www.dropbox.com", Addr: a6, TTL: 30 * time.Second}}
	require.Equal(t, want, DNSAnswers(msg))
	for _, v6 := range []bool{false, true} {
		require.Equal(t, want, DNSAnswersFromIP(ipPacket(v6, 53, msg)))
		require.Nil(t, DNSAnswersFromIP(ipPacket(v6, 5353, msg)), "not from port 53")
	}
	// A query (not a response) and garbage yield nothing.
	q := append([]byte(nil), msg...)
	q[2] &^= 0x80
	require.Nil(t, DNSAnswers(q))
	require.Nil(t, DNSAnswers([]byte{1, 2, 3}))
	// A fragment is not read.
	frag := ipPacket(false, 53, msg)
	frag[6] = 0x20
	require.Nil(t, DNSAnswersFromIP(frag))
}

func TestDNSFilter(t *testing.T) {
	vm, err := bpf.NewVM(dnsFilter)
	require.NoError(t, err)
	msg := dnsResponse(t, 1, "a.example", "", 60, netip.MustParseAddr("192.0.2.1"))
	tests := []struct {
		name   string
		pkt    []byte
		accept bool
	}{
		{"ipv4 dns answer", ipPacket(false, 53, msg), true},
		{"ipv6 dns answer", ipPacket(true, 53, msg), true},
		{"ipv4 other port", ipPacket(false, 443, msg), false},
		{"ipv6 other port", ipPacket(true, 123, msg), false},
		{"ipv4 tcp", func() []byte { p := ipPacket(false, 53, msg); p[9] = 6; return p }(), false},
		{"ipv4 fragment", func() []byte { p := ipPacket(false, 53, msg); p[7] = 1; return p }(), false},
		{"ipv4 with options", func() []byte {
			p := ipPacket(false, 53, msg)
			p = append(append(append([]byte(nil), p[:20]...), 1, 1, 1, 0), p[20:]...)
			p[0] = 0x46
			return p
		}(), true},
		{"not ip", []byte{0x00, 1, 2, 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := vm.Run(tt.pkt)
			require.NoError(t, err)
			require.Equal(t, tt.accept, n > 0)
		})
	}
}

func FuzzDNSAnswersFromIP(f *testing.F) {
	msg := dnsResponse(f, 7, "www.dropbox.com", "www-env.dropbox-dns.com", 30, netip.MustParseAddr("162.125.1.18"))
	f.Add(ipPacket(false, 53, msg))
	f.Add(ipPacket(true, 53, msg))
	f.Add(msg)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		for _, a := range DNSAnswersFromIP(pkt) {
			if !a.Addr.IsValid() || a.Name == "" {
				t.Fatalf("bad answer %+v", a)
			}
		}
		for _, a := range DNSAnswers(pkt) {
			if !a.Addr.IsValid() {
				t.Fatalf("bad answer %+v", a)
			}
		}
	})
}

func BenchmarkDNSAnswersFromIP(b *testing.B) {
	pkt := ipPacket(false, 53, dnsResponse(b, 7, "www.dropbox.com", "www-env.dropbox-dns.com", 30,
		netip.MustParseAddr("162.125.1.18"), netip.MustParseAddr("162.125.1.19")))
	b.ReportAllocs()
	for b.Loop() {
		if len(DNSAnswersFromIP(pkt)) != 2 {
			b.Fatal("no answers")
		}
	}
}

func TestNameCache(t *testing.T) {
	c := NewNameCache(16, time.Minute)
	now := time.Now()
	for i := range 40 {
		c.Add(now, Answer{Name: "n.example", Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), TTL: time.Second})
	}
	require.LessOrEqual(t, c.Len(), 16)
	n, ok := c.Lookup(netip.AddrFrom4([4]byte{10, 0, 0, 39}))
	require.True(t, ok)
	require.Equal(t, "n.example", n)
	// Expired entries go first.
	c = NewNameCache(16, time.Minute)
	for i := range 16 {
		c.Add(now, Answer{Name: "n.example", Addr: netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}), TTL: time.Second})
	}
	require.Equal(t, 16, c.Len())
	later := now.Add(2 * time.Minute)
	c.Add(later, Answer{Name: "m.example", Addr: netip.MustParseAddr("::ffff:10.1.1.1"), TTL: time.Second})
	require.Equal(t, 1, c.Len())
	n, ok = c.Lookup(netip.MustParseAddr("10.1.1.1"))
	require.True(t, ok)
	require.Equal(t, "m.example", n)
}

func TestClassifier(t *testing.T) {
	c := NewClassifier(ShippedDomains(), []Domain{{Domain: "files.acme-partner.example", Category: CategoryFileSharing}})
	tests := []struct {
		name     string
		want     Domain
		wantSeen bool
	}{
		{"content.dropboxapi.com", Domain{Domain: "dropboxapi.com", Category: CategoryCloudStorage, Provider: "dropbox"}, true},
		{"Drive.Google.com.", Domain{Domain: "drive.google.com", Category: CategoryCloudStorage, Provider: "google-drive"}, true},
		{"mail.google.com", Domain{Domain: "mail.google.com", Category: CategoryWebmail}, true},
		{"pastebin.com", Domain{Domain: "pastebin.com", Category: CategoryPaste}, true},
		{"eu.wetransfer.com", Domain{Domain: "wetransfer.com", Category: CategoryFileSharing}, true},
		{"x.files.acme-partner.example", Domain{Domain: "files.acme-partner.example", Category: CategoryFileSharing}, true},
		{"google.com", Domain{}, false},
		{"com", Domain{}, false},
		{"", Domain{}, false},
	}
	for _, tt := range tests {
		got, ok := c.Classify(tt.name)
		require.Equal(t, tt.wantSeen, ok, tt.name)
		require.Equal(t, tt.want, got, tt.name)
	}
	_, err := ParseDomainList("cloud-storage a.example b c\n")
	require.ErrorContains(t, err, "line 1")
	_, err = ParseDomainList("storage a.example\n")
	require.ErrorContains(t, err, "category")
	_, err = ParseDomainList("paste *.a.example\n")
	require.ErrorContains(t, err, "not a domain")
}

func TestParseHosts(t *testing.T) {
	got := ParseHosts("127.0.0.1 localhost\n::ffff:10.0.0.2 Files.Example files # c\n# 1.2.3.4 x\nbad line\n127.0.0.1 other\n")
	require.Equal(t, map[netip.Addr]string{
		netip.MustParseAddr("127.0.0.1"): "localhost",
		netip.MustParseAddr("10.0.0.2"):  "files.example",
	}, got)
}

func TestConfig(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	tests := []struct{ name, yaml, wantErr string }{
		{"unknown key", "connection: all", "field connection not found"},
		{"connections", "connections: some", "connections"},
		{"fallback", "dns_fallback: reverse", "dns_fallback"},
		{"port", "web_ports: [0]", "web_ports[0]"},
		{"hosts address", "hosts: {x: a.example}", "hosts"},
		{"hosts name", "hosts: {'127.0.0.1': ''}", "hosts[127.0.0.1]"},
		{"domain", "domains: [{domain: a.example, category: video}]", "domains[0]"},
		{"poll", "poll_interval: 1ms", "poll_interval"},
		{"upload bytes", "upload_min_bytes: 0", "upload_min_bytes"},
		{"fallback interval", "dns_fallback_interval: 1s", "dns_fallback_interval"},
		{"max names", "max_names: 1", "max_names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(sensortest.YAML(t, tt.yaml))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
