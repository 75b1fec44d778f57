package alerts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
	"unicode/utf8"
)

// Syslog severities (RFC 5424 section 6.2.1) used for alert severities.
const (
	syslogCrit    = 2
	syslogErr     = 3
	syslogWarning = 4
	syslogNotice  = 5
	syslogInfo    = 6
)

// syslogSeverity maps an alert severity to a syslog severity.
func syslogSeverity(s string) int {
	switch severityRank(s) {
	case 4:
		return syslogCrit
	case 3:
		return syslogErr
	case 2:
		return syslogWarning
	case 1:
		return syslogNotice
	}
	return syslogInfo
}

// syslogHeader holds the fixed parts of the RFC 5424 header.
type syslogHeader struct {
	facility int
	hostname string
	appName  string
	procID   string
}

// appendSyslogMessage appends an RFC 5424 message:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
//
// The header fields are cut to their RFC lengths and cleaned to printable
// US-ASCII; MSG is the payload as is (UTF-8, without BOM, which CEF and
// LEEF receivers do not expect), cut to leave the whole message within max
// bytes at a character boundary.
func appendSyslogMessage(dst []byte, h *syslogHeader, sev int, t time.Time, msgID string, payload []byte, maxLen int) []byte {
	start := len(dst)
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(h.facility*8+sev), 10)
	dst = append(dst, ">1 "...)
	dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, h.hostname, 255)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, h.appName, 48)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, h.procID, 128)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, msgID, 32)
	dst = append(dst, " - "...)
	room := maxLen - (len(dst) - start)
	return append(dst, cutPayload(payload, room)...)
}

// appendHeaderField appends s as an RFC 5424 header field: at most n
// printable US-ASCII characters other than space, "-" when empty. Other
// bytes become '_'.
func appendHeaderField(dst []byte, s string, n int) []byte {
	if s == "" {
		return append(dst, '-')
	}
	for i := 0; i < len(s) && i < n; i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// cutPayload returns p cut to at most n bytes at a UTF-8 character
// boundary, without leaving a dangling escape backslash at the end.
func cutPayload(p []byte, n int) []byte {
	if len(p) <= n {
		return p
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(p[n]) {
		n--
	}
	p = p[:n]
	// An odd run of trailing backslashes would escape nothing.
	k := 0
	for k < len(p) && p[len(p)-1-k] == '\\' {
		k++
	}
	if k%2 == 1 {
		p = p[:len(p)-1]
	}
	return p
}

// appendOctetCounted appends msg framed by octet counting (RFC 5425
// section 4.3, RFC 6587 section 3.4.1): MSG-LEN SP SYSLOG-MSG.
func appendOctetCounted(dst, msg []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(msg)), 10)
	dst = append(dst, ' ')
	return append(dst, msg...)
}

// syslogSender writes alerts to a syslog receiver over TLS, TCP or UDP.
// Stream connections are kept open between batches and reopened after a
// failure.
type syslogSender struct {
	cfg    SyslogConfig
	header syslogHeader
	tls    *tls.Config
	conn   net.Conn
	buf    []byte
}

func newSyslogSender(cfg SyslogConfig, hostname string) (*syslogSender, error) {
	s := &syslogSender{cfg: cfg, header: syslogHeader{
		facility: facilities[cfg.Facility], hostname: hostname, appName: cfg.AppName, procID: strconv.Itoa(os.Getpid()),
	}}
	if cfg.Network == "tls" {
		host, _, _ := net.SplitHostPort(cfg.Address)
		tc, err := clientTLS(cfg.TLS, host)
		if err != nil {
			return nil, fmt.Errorf("syslog.tls: %w", err)
		}
		s.tls = tc
	}
	return s, nil
}

// clientTLS builds a TLS client configuration.
func clientTLS(c TLSConfig, host string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // insecure_skip_verify is an explicit, documented test-only option.
	if c.ServerName != "" {
		tc.ServerName = c.ServerName
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load cert_file and key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (s *syslogSender) limits() (items, bytes int) {
	if s.cfg.Network == "udp" {
		return s.cfg.BatchSize, 1 << 30
	}
	return s.cfg.BatchSize, 1 << 20
}

func (s *syslogSender) msgID(f Format) string {
	switch f {
	case FormatCEF:
		return "CEF"
	case FormatLEEF:
		return "LEEF"
	case FormatOCSF:
		return "OCSF"
	}
	return "alert"
}

func (s *syslogSender) send(ctx context.Context, batch []*DeadLetter) error {
	if err := s.connect(ctx); err != nil {
		return err
	}
	s.buf = s.buf[:0]
	var one []byte
	add := func(sev int, t time.Time, msgID string, payload []byte) error {
		one = appendSyslogMessage(one[:0], &s.header, sev, t, msgID, payload, s.cfg.MaxMessageBytes)
		switch {
		case s.cfg.Network == "udp":
			return s.write(one)
		case s.cfg.Framing == "non-transparent":
			s.buf = append(append(s.buf, one...), '\n')
		default:
			s.buf = appendOctetCounted(s.buf, one)
		}
		return nil
	}
	for _, e := range batch {
		if e.Alert == nil {
			// An event stream entry: one message per event, severity info.
			for _, raw := range e.Events {
				msgID := "event"
				if payloadFormat(raw) == FormatOCSF {
					msgID = "OCSF"
				}
				if err := add(syslogInfo, eventTime(raw), msgID, raw); err != nil {
					return err
				}
			}
			continue
		}
		if err := add(syslogSeverity(e.Alert.Severity), e.Alert.Time, s.msgID(payloadFormat(e.payload)), e.payload); err != nil {
			return err
		}
	}
	if s.cfg.Network == "udp" {
		return nil
	}
	return s.write(s.buf)
}

// payloadFormat recognises a rendered payload's format by its start, for
// the MSGID.
func payloadFormat(p []byte) Format {
	switch {
	case len(p) >= 4 && string(p[:4]) == "CEF:":
		return FormatCEF
	case len(p) >= 5 && string(p[:5]) == "LEEF:":
		return FormatLEEF
	case len(p) >= 13 && string(p[:13]) == `{"class_uid":`:
		return FormatOCSF
	}
	return FormatJSON
}

func (s *syslogSender) write(b []byte) error {
	if err := s.conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil {
		s.drop()
		return fmt.Errorf("syslog %s: %w", s.cfg.Address, err)
	}
	if _, err := s.conn.Write(b); err != nil {
		s.drop()
		return fmt.Errorf("syslog write to %s: %w", s.cfg.Address, err)
	}
	return nil
}

// connect opens the connection when there is none, or when the receiver
// closed it: a write to a stream the peer closed can succeed locally and
// lose the data, so a stream connection is probed with a read that must
// time out before it is reused.
func (s *syslogSender) connect(ctx context.Context) error {
	if s.conn != nil && s.cfg.Network != "udp" && !s.alive() {
		s.drop()
	}
	if s.conn != nil {
		return nil
	}
	d := net.Dialer{Timeout: s.cfg.DialTimeout}
	network := s.cfg.Network
	if network == "tls" {
		network = "tcp"
	}
	c, err := d.DialContext(ctx, network, s.cfg.Address)
	if err != nil {
		return fmt.Errorf("syslog connect to %s: %w", s.cfg.Address, err)
	}
	if s.tls != nil {
		tc := tls.Client(c, s.tls)
		hctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			_ = c.Close()
			return fmt.Errorf("syslog TLS handshake with %s: %w", s.cfg.Address, err)
		}
		c = tc
	}
	s.conn = c
	return nil
}

// alive reports whether the receiver has not closed the connection.
// Receivers never send on a syslog stream, so any read result other than a
// timeout means the connection is gone.
func (s *syslogSender) alive() bool {
	if err := s.conn.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		return false
	}
	var b [1]byte
	_, err := s.conn.Read(b[:])
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (s *syslogSender) drop() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}

func (s *syslogSender) close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
