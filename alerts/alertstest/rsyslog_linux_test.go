package alertstest_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/alerts/alertstest"
)

// TestRsyslog sends one message over each input with a plain client and
// reads both back as rsyslog parsed them.
func TestRsyslog(t *testing.T) {
	rs := alertstest.StartRsyslog(t)
	msg := `CEF:0|V|P|1|s|"quoted" \| 機密|3|msg=a\\b`

	pem, err := os.ReadFile(rs.Certs.CAFile)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pem))
	tc, err := tls.Dial("tcp", rs.TLSAddr, &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12})
	require.NoError(t, err, "the server certificate verifies for localhost")
	frame := "<163>1 2026-11-24T14:00:00.123Z ws-042 vigil 4242 CEF - " + msg
	_, err = fmt.Fprintf(tc, "%d %s", len(frame), frame)
	require.NoError(t, err)
	require.NoError(t, tc.Close())

	c, err := net.Dial("tcp", rs.TCPAddr)
	require.NoError(t, err)
	_, err = fmt.Fprintf(c, "<14>1 2026-11-24T14:00:01Z ws-043 other - LEEF [x@32473 a=\"b\"] LEEF:2.0|V|P|1|e|^|a=1\n")
	require.NoError(t, err)
	require.NoError(t, c.Close())

	require.Eventually(t, func() bool { return len(rs.Messages(t, "")) == 2 }, 20*time.Second, 10*time.Millisecond)
	cef := rs.Messages(t, "CEF")
	require.Len(t, cef, 1)
	require.Equal(t, alertstest.Message{Input: "tls", Priority: "163", Timestamp: cef[0].Timestamp, Hostname: "ws-042",
		AppName: "vigil", ProcID: "4242", MsgID: "CEF", StructuredData: "-", Msg: msg}, cef[0])
	ts, err := time.Parse(time.RFC3339Nano, cef[0].Timestamp)
	require.NoError(t, err, "timestamp %q", cef[0].Timestamp)
	require.True(t, ts.Equal(time.Date(2026, 11, 24, 14, 0, 0, 123e6, time.UTC)), "timestamp %s", ts)

	leef := rs.Messages(t, "LEEF")
	require.Len(t, leef, 1)
	require.Equal(t, alertstest.Message{Input: "tcp", Priority: "14", Timestamp: leef[0].Timestamp, Hostname: "ws-043",
		AppName: "other", ProcID: "-", MsgID: "LEEF", StructuredData: `[x@32473 a="b"]`, Msg: "LEEF:2.0|V|P|1|e|^|a=1"}, leef[0])

	rs.Stop()
	rs.Stop()
	_, err = net.DialTimeout("tcp", rs.TCPAddr, time.Second)
	require.Error(t, err, "stopped")
}
