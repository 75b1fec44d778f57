package alertstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/internal/syncbuf"
	"github.com/vigil-itm/vigil/internal/xvfb"
)

// Rsyslog is a private rsyslogd: it listens on loopback for syslog over
// TLS (RFC 5425, octet-counted) and over plain TCP (RFC 6587,
// octet-counted or one message per line), parses each message as RFC 5424
// and appends it, as one JSON object per line, to a file that Messages
// reads.
type Rsyslog struct {
	// TLSAddr and TCPAddr are the listening addresses (127.0.0.1:port).
	TLSAddr, TCPAddr string
	// Certs are the server's certificate and its CA; clients verify the
	// server with Certs.CAFile and the name localhost or 127.0.0.1.
	Certs Certs

	dir, out string
	cmd      *exec.Cmd
	exited   chan struct{}
	stderr   *syncbuf.Buffer
}

// Message is one syslog message as rsyslog parsed it.
type Message struct {
	// Input is the input that received it: "tls" or "tcp".
	Input string `json:"input"`
	// Priority is the PRI value (facility × 8 + severity), in decimal.
	Priority       string `json:"pri"`
	Timestamp      string `json:"timestamp"`
	Hostname       string `json:"hostname"`
	AppName        string `json:"app_name"`
	ProcID         string `json:"procid"`
	MsgID          string `json:"msgid"`
	StructuredData string `json:"structured_data"`
	// Msg is the MSG part, byte for byte as received.
	Msg string `json:"msg"`
}

// rsyslogConf is the private configuration: both inputs pick a free port
// themselves and write it to a file, so there is no race for ports.
const rsyslogConf = `
global(workDirectory=%[1]q maxMessageSize="64k"
       defaultNetstreamDriverCAFile=%[2]q
       defaultNetstreamDriverCertFile=%[3]q
       defaultNetstreamDriverKeyFile=%[4]q)
module(load="imtcp" maxSessions="64")
input(type="imtcp" name="tls" address="127.0.0.1" port="0" listenPortFileName=%[5]q
      streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" name="tcp" address="127.0.0.1" port="0" listenPortFileName=%[6]q)
template(name="alertstest" type="list" option.jsonf="on") {
  property(outname="input" name="inputname" format="jsonf")
  property(outname="pri" name="pri" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app_name" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="structured_data" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}
action(type="omfile" file=%[7]q template="alertstest")
`

// StartRsyslog starts rsyslogd in the foreground with a private
// configuration in a temporary directory and waits until both inputs
// accept connections. It is stopped when the test ends. Without rsyslogd
// or its GnuTLS driver (Debian packages rsyslog and rsyslog-gnutls) the
// test is skipped, or fails when real components are required
// (VIGIL_TEST_REAL=1).
func StartRsyslog(t testing.TB) *Rsyslog {
	t.Helper()
	xvfb.NeedCommand(t, "rsyslogd", "rsyslog")
	if drivers, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(drivers) == 0 {
		if xvfb.Required() {
			t.Fatal("rsyslog's GnuTLS driver is missing: install the Debian package rsyslog-gnutls")
		}
		t.Skip("rsyslog's GnuTLS driver is missing: install the Debian package rsyslog-gnutls")
	}
	dir := t.TempDir()
	r := &Rsyslog{Certs: WriteCerts(t, dir), dir: dir, out: filepath.Join(dir, "messages.jsonl"),
		exited: make(chan struct{}), stderr: &syncbuf.Buffer{}}
	tlsPort, tcpPort := filepath.Join(dir, "tls.port"), filepath.Join(dir, "tcp.port")
	conf := filepath.Join(dir, "rsyslog.conf")
	require.NoError(t, os.WriteFile(conf, fmt.Appendf(nil, rsyslogConf,
		dir, r.Certs.CAFile, r.Certs.CertFile, r.Certs.KeyFile, tlsPort, tcpPort, r.out), 0o600))

	r.cmd = exec.Command("rsyslogd", "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = r.stderr, r.stderr
	// rsyslogd must not outlive a test binary that is killed.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, r.cmd.Start(), "start rsyslogd")
	go func() {
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(r.Stop)

	r.TLSAddr = r.waitPort(t, tlsPort)
	r.TCPAddr = r.waitPort(t, tcpPort)
	return r
}

// waitPort waits for an input's port file and for the port to accept a
// connection, and returns the input's address.
func (r *Rsyslog) waitPort(t testing.TB, file string) string {
	t.Helper()
	var addr string
	require.Eventually(t, func() bool {
		select {
		case <-r.exited:
			require.FailNow(t, "rsyslogd exited", "%s", r.stderr.String())
		default:
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return false
		}
		p, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || p <= 0 {
			return false
		}
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}, 30*time.Second, 10*time.Millisecond, "rsyslogd input %s: %s", filepath.Base(file), r.stderr.String())
	return addr
}

// Stop stops rsyslogd (SIGTERM, then SIGKILL after 10 seconds) and waits
// for it to exit. It may be called more than once.
func (r *Rsyslog) Stop() {
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

// Messages returns the messages received so far, in order, whose MSGID is
// msgID ("" returns every message).
func (r *Rsyslog) Messages(t testing.TB, msgID string) []Message {
	t.Helper()
	msgs, err := r.read(msgID)
	require.NoError(t, err)
	return msgs
}

func (r *Rsyslog) read(msgID string) ([]Message, error) {
	data, err := os.ReadFile(r.out)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read rsyslog output: %w", err)
	}
	// omfile may be half-way through the last line: read whole lines only.
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	var out []Message
	for line := range bytes.Lines(data) {
		var m Message
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("rsyslog output line %q: %w", line, err)
		}
		if msgID == "" || m.MsgID == msgID {
			out = append(out, m)
		}
	}
	return out, nil
}
