package alerts

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/internal/xvfb"
)

// rsyslog is a private rsyslogd receiving RFC 5425 (TLS), RFC 6587 (TCP)
// and RFC 5426 (UDP) syslog and writing every message to one file.
type rsyslog struct {
	dir              string
	caFile           string
	tlsAddr, tcpAddr string
	udpAddr          string
	out              string
	conf             string
	cmd              *exec.Cmd
	exited           chan struct{}
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600))
}

// writeCerts makes a CA and a server certificate for 127.0.0.1.
func writeCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	require.NoError(t, err)
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	writePEM(t, ca, "CERTIFICATE", caDER)
	writePEM(t, cert, "CERTIFICATE", srvDER)
	writePEM(t, key, "EC PRIVATE KEY", keyDER)
	return ca, cert, key
}

func freeUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := c.LocalAddr().String()
	require.NoError(t, c.Close())
	return addr
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// startRsyslog starts rsyslogd in the foreground with a private
// configuration; it is stopped when the test ends.
func startRsyslog(t *testing.T) *rsyslog {
	t.Helper()
	xvfb.NeedCommand(t, "rsyslogd", "rsyslog")
	if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
		if xvfb.Required() {
			t.Fatal("rsyslog's GnuTLS driver not found (Debian package rsyslog-gnutls); scripts/test installs it")
		}
		t.Skip("rsyslog's GnuTLS driver not found: install the Debian package rsyslog-gnutls")
	}
	dir := t.TempDir()
	ca, cert, key := writeCerts(t, dir)
	r := &rsyslog{dir: dir, caFile: ca, tlsAddr: freeAddr(t), tcpAddr: freeAddr(t), udpAddr: freeUDPAddr(t), out: filepath.Join(dir, "out.log")}
	conf := fmt.Sprintf(`
global(workDirectory=%[1]q maxMessageSize="64k"
       defaultNetstreamDriverCAFile=%[2]q defaultNetstreamDriverCertFile=%[3]q defaultNetstreamDriverKeyFile=%[4]q)
module(load="imtcp")
module(load="imudp")
input(type="imtcp" port=%[5]q name="tls" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" port=%[6]q name="tcp")
input(type="imudp" address="127.0.0.1" port=%[7]q name="udp")
template(name="fields" type="string" string="%%inputname%% %%pri%% %%hostname%% %%app-name%% %%procid%% %%msgid%% %%msg%%\n")
action(type="omfile" file=%[8]q template="fields")
`, dir, ca, cert, key, port(r.tlsAddr), port(r.tcpAddr), port(r.udpAddr), r.out)
	r.conf = filepath.Join(dir, "rsyslog.conf")
	require.NoError(t, os.WriteFile(r.conf, []byte(conf), 0o600))
	r.run(t)
	// imudp gives no sign that it is bound: send probes until one arrives.
	probe, err := net.Dial("udp", r.udpAddr)
	require.NoError(t, err)
	defer probe.Close()
	require.Eventually(t, func() bool {
		_, _ = probe.Write([]byte("<14>1 2026-01-01T00:00:00Z probe probe - PROBE - ready"))
		return len(r.lines(t, "PROBE")) > 0
	}, 20*time.Second, 50*time.Millisecond)
	return r
}

// run starts rsyslogd and waits until its TCP inputs accept connections.
func (r *rsyslog) run(t *testing.T) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("rsyslogd", "-n", "-f", r.conf, "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	r.cmd, r.exited = cmd, exited
	t.Cleanup(r.stop)
	for _, a := range []string{r.tlsAddr, r.tcpAddr} {
		require.Eventually(t, func() bool {
			select {
			case <-exited:
				t.Fatalf("rsyslogd exited: %s", stderr.String())
			default:
			}
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err != nil {
				return false
			}
			_ = c.Close()
			return true
		}, 20*time.Second, 20*time.Millisecond, "rsyslogd listening on %s", a)
	}
}

// stop stops rsyslogd and waits for it to exit.
func (r *rsyslog) stop() {
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// rsyslogLine is one message as rsyslog parsed it.
type rsyslogLine struct {
	input, pri, hostname, app, procid, msgid, msg string
}

// lines returns the messages received with the given MSGID.
func (r *rsyslog) lines(t *testing.T, msgid string) []rsyslogLine {
	t.Helper()
	data, err := os.ReadFile(r.out)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var out []rsyslogLine
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.SplitN(l, " ", 7)
		if len(f) < 7 || f[5] != msgid {
			continue
		}
		out = append(out, rsyslogLine{f[0], f[1], f[2], f[3], f[4], f[5], f[6]})
	}
	return out
}

// TestRsyslogDelivery sends alerts through every syslog transport to a real
// rsyslogd and checks that each arrives byte for byte, escaped characters
// and multi-byte UTF-8 included.
func TestRsyslogDelivery(t *testing.T) {
	rs := startRsyslog(t)
	sys := func(network, addr, framing string) *SyslogConfig {
		return &SyslogConfig{Network: network, Address: addr, Framing: framing, Facility: "local4", TLS: TLSConfig{CAFile: rs.caFile, ServerName: "localhost"}}
	}
	cfg := Config{Outputs: []SinkConfig{
		{Name: "cef-tls", Type: TypeSyslog, Format: FormatCEF, Queue: fastQueue(20), Syslog: sys("tls", rs.tlsAddr, "")},
		{Name: "leef-tls", Type: TypeSyslog, Format: FormatLEEF, Queue: fastQueue(20), Syslog: sys("tls", rs.tlsAddr, "")},
		{Name: "cef-tcp", Type: TypeSyslog, Format: FormatCEF, Queue: fastQueue(20), Syslog: sys("tcp", rs.tcpAddr, "non-transparent")},
		{Name: "json-udp", Type: TypeSyslog, Format: FormatJSON, Queue: fastQueue(20), Syslog: sys("udp", rs.udpAddr, "")},
	}}
	d := newDispatcher(t, cfg)
	d.start(t)
	const n = 5
	for i := range n {
		a := numberedAlert(i)
		if i == 3 {
			a.Severity = "critical"
		}
		d.Enqueue(a)
	}
	require.Eventually(t, func() bool {
		return len(rs.lines(t, "CEF")) == 2*n && len(rs.lines(t, "LEEF")) == n && len(rs.lines(t, "alert")) == n
	}, 20*time.Second, 20*time.Millisecond)

	cef, _ := NewRenderer(FormatCEF, RenderOptions{Version: "test"})
	leef, _ := NewRenderer(FormatLEEF, RenderOptions{Version: "test"})
	js, _ := NewRenderer(FormatJSON, RenderOptions{})
	byInput := map[string][]rsyslogLine{}
	for _, id := range []string{"CEF", "LEEF", "alert"} {
		for _, l := range rs.lines(t, id) {
			byInput[l.input+"/"+l.msgid] = append(byInput[l.input+"/"+l.msgid], l)
		}
	}
	check := func(key string, r Renderer) {
		got := byInput[key]
		require.Len(t, got, n, key)
		for i, l := range got {
			a := numberedAlert(i)
			if i == 3 {
				a.Severity = "critical"
			}
			want, err := r.Append(nil, a)
			require.NoError(t, err)
			require.Equal(t, string(want), l.msg, "%s message %d", key, i)
			wantPri := "163" // local4 (20) * 8 + err (3)
			if i == 3 {
				wantPri = "162"
			}
			require.Equal(t, wantPri, l.pri)
			require.Equal(t, "vigil-test", l.hostname)
			require.Equal(t, "vigil", l.app)
			require.Equal(t, fmt.Sprint(os.Getpid()), l.procid)
		}
	}
	check("tls/CEF", cef)
	check("tls/LEEF", leef)
	check("tcp/CEF", cef)
	check("udp/alert", js)

	// The escaped characters survive: parse the CEF as a SIEM would.
	h, ext, err := parseCEF(byInput["tls/CEF"][0].msg)
	require.NoError(t, err)
	require.Equal(t, `Copy|paste to USB \ "Données" – 機密 = secret`, h[5])
	require.Equal(t, "52 files in 10m\nabove limit 50; path C:\\Users\\jdoe\\q3=final.xlsx", ext["msg"])
	require.Equal(t, `/media/jdoe/KINGSTON/q3|final=1\機密.xlsx`, ext["filePath"])
	_, attrs, _, err := parseLEEF(byInput["tls/LEEF"][0].msg)
	require.NoError(t, err)
	require.Equal(t, `Copy|paste to USB \ "Données" – 機密 = secret`, attrs["title"])
	require.Equal(t, "jdoe=admin", attrs["usrName"])
}

// TestRsyslogReconnect: rsyslog restarts between two alerts; the TLS sink
// notices the closed connection, reconnects and loses nothing.
func TestRsyslogReconnect(t *testing.T) {
	rs := startRsyslog(t)
	q := fastQueue(2000)
	q.MaxBackoff = 20 * time.Millisecond
	sc := SinkConfig{Name: "cef-tls", Type: TypeSyslog, Queue: q,
		Syslog: &SyslogConfig{Network: "tls", Address: rs.tlsAddr, TLS: TLSConfig{CAFile: rs.caFile}}}
	d := newDispatcher(t, Config{Outputs: []SinkConfig{sc}})
	d.start(t)
	d.Enqueue(numberedAlert(0))
	require.Eventually(t, func() bool { return len(rs.lines(t, "CEF")) == 1 }, 20*time.Second, 20*time.Millisecond)

	// Stop rsyslog: the sink's open connection is closed by the peer.
	rs.stop()
	d.Enqueue(numberedAlert(1))
	require.Eventually(t, func() bool { return d.counter("failed", "cef-tls") >= 1 }, 20*time.Second, 5*time.Millisecond)
	rs.run(t)
	require.Eventually(t, func() bool { return len(rs.lines(t, "CEF")) == 2 }, 30*time.Second, 20*time.Millisecond)
	require.Zero(t, d.counter("dead", "cef-tls"))
}
