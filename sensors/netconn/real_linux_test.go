package netconn

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if xvfb.Required() {
			t.Fatal("this test needs root (AF_PACKET capture, port 53)")
		}
		t.Skip("needs root")
	}
}

// randomLoopback returns an address in 127.0.0.0/8 unlikely to be used by
// anything else on the machine.
func randomLoopback() netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(rand.IntN(200) + 20), byte(rand.IntN(250) + 1), byte(rand.IntN(250) + 2)})
}

// startDNS runs a tiny authoritative DNS responder on addr:53 that answers
// A queries from names, until the test ends.
func startDNS(t *testing.T, addr netip.Addr, names map[string]netip.Addr) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 53)))
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = pc.Close()
		wg.Wait()
	})
	wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			if a, ok := names[strings.TrimSuffix(q.Name.String(), ".")]; ok && q.Type == dnsmessage.TypeA {
				_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: a.As4()})
			}
			msg, err := b.Finish()
			if err == nil {
				_, _ = pc.WriteToUDPAddrPort(msg, from)
			}
		}
	})
	return netip.AddrPortFrom(addr, 53)
}

// query asks server for name's A record, as a stub resolver does.
func query(t *testing.T, server netip.AddrPort, name string) netip.Addr {
	t.Helper()
	c, err := net.Dial("udp", server.String())
	require.NoError(t, err)
	defer c.Close()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 4242, RecursionDesired: true})
	require.NoError(t, b.StartQuestions())
	require.NoError(t, b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name + "."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}))
	msg, err := b.Finish()
	require.NoError(t, err)
	_, err = c.Write(msg)
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	require.NoError(t, err)
	answers := DNSAnswers(buf[:n])
	require.Len(t, answers, 1)
	return answers[0].Addr
}

// find returns the events of action whose destination is dst.
func find(evs *sensortest.Events, action string, dst netip.AddrPort) []event.Event {
	return evs.Find(func(e *event.Event) bool {
		return e.Event.Action == action && e.Destination.IP == dst.Addr().String() && e.Destination.Port == int64(dst.Port())
	})
}

// runSensor runs s until the test ends and waits until it has started.
func runSensor(t *testing.T, s *Sensor) *sensortest.Events {
	t.Helper()
	col, _ := sensortest.Start(t, s)
	sensortest.WaitState(t, s, sensors.StateOK, sensors.StateDegraded, sensors.StateFailed, sensors.StateUnsupported)
	return col
}

// sink accepts connections on ln and reads them to the end.
func sink(t *testing.T, ln net.Listener) {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c)
			})
		}
	})
}

func TestUploadNamedByCapturedDNS(t *testing.T) {
	needRoot(t)
	target := randomLoopback()
	ln, err := net.Listen("tcp4", netip.AddrPortFrom(target, 0).String())
	require.NoError(t, err)
	dst := netip.MustParseAddrPort(ln.Addr().String())
	sink(t, ln)
	dns := startDNS(t, randomLoopback(), map[string]netip.Addr{"upload.dropbox.com": target})

	cfg := DefaultConfig()
	cfg.PollInterval, cfg.UploadIdle, cfg.IncludeLoopback = 20*time.Millisecond, 100*time.Millisecond, true
	cfg.WebPorts, cfg.DNSFallback, cfg.HostsFile = []int{int(dst.Port())}, FallbackNone, ""
	s := New(cfg, sensors.Env{})
	col := runSensor(t, s)
	h := s.Health()
	require.Equal(t, sensors.StateOK, h.State, h.Message)
	require.Equal(t, "sock_diag+af_packet", h.Mode)

	// The answer is seen on the wire, whoever asked.
	require.Equal(t, target, query(t, dns, "upload.dropbox.com"))
	require.Eventually(t, func() bool {
		n, _ := s.Names().Lookup(target)
		return n == "upload.dropbox.com"
	}, 10*time.Second, 5*time.Millisecond)

	// A child process uploads 2 MiB and keeps the connection open.
	const size = 2 << 20
	exe, err := os.Executable()
	require.NoError(t, err)
	child := exec.Command(exe)
	child.Env = append(os.Environ(), childEnv+"="+dst.String(), childBytesEnv+"="+strconv.Itoa(size))
	stdin, err := child.StdinPipe()
	require.NoError(t, err)
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	child.Stderr = os.Stderr
	require.NoError(t, child.Start())
	defer func() {
		_ = stdin.Close()
		require.NoError(t, child.Wait())
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "sent\n", line)

	require.Eventually(t, func() bool {
		return len(find(col, event.ActionConnectionOpened, dst)) == 1 && len(find(col, event.ActionWebUpload, dst)) == 1
	}, 20*time.Second, 10*time.Millisecond)
	opened := find(col, event.ActionConnectionOpened, dst)[0]
	require.NoError(t, opened.Validate())
	realExe, err := filepath.EvalSymlinks(exe)
	require.NoError(t, err)
	require.Equal(t, int64(child.Process.Pid), opened.Process.PID)
	require.Equal(t, realExe, opened.Process.Executable)
	require.Equal(t, &event.Destination{IP: target.String(), Port: int64(dst.Port()), Domain: "upload.dropbox.com",
		CloudProvider: "dropbox", Category: CategoryCloudStorage}, opened.Destination)
	require.Equal(t, &event.User{ID: "0", Name: "root"}, opened.User)
	require.Equal(t, "egress", opened.Network.Direction)

	up := find(col, event.ActionWebUpload, dst)[0]
	require.NoError(t, up.Validate())
	require.Equal(t, int64(size), up.Destination.Bytes, "tcp_info.bytes_acked less the SYN")
	require.Equal(t, "upload.dropbox.com", up.Destination.Domain)
	require.Equal(t, int64(child.Process.Pid), up.Process.PID)
}

func TestCurlUploadNamedByHostsMap(t *testing.T) {
	needRoot(t) // sockets of other users' processes are read through /proc
	xvfb.NeedCommand(t, "curl", "curl")
	target := randomLoopback()
	ln, err := net.Listen("tcp4", netip.AddrPortFrom(target, 0).String())
	require.NoError(t, err)
	dst := netip.MustParseAddrPort(ln.Addr().String())
	release := make(chan struct{})
	var got atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		got.Store(n)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprintln(w, "ok")
	}))
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	cfg := DefaultConfig()
	cfg.PollInterval, cfg.UploadIdle, cfg.IncludeLoopback = 20*time.Millisecond, 100*time.Millisecond, true
	cfg.WebPorts, cfg.DNSCapture, cfg.DNSFallback = []int{int(dst.Port())}, false, FallbackNone
	cfg.HostsFile = ""
	cfg.Hosts = map[string]string{target.String(): "paste.ee"}
	s := New(cfg, sensors.Env{})
	col := runSensor(t, s)
	require.Equal(t, "sock_diag", s.Health().Mode)

	body := filepath.Join(t.TempDir(), "dump.sql")
	const size = 1536 << 10
	require.NoError(t, os.WriteFile(body, make([]byte, size), 0o600))
	curl := exec.Command("curl", "-sS", "--data-binary", "@"+body, "http://"+dst.String()+"/upload")
	var out strings.Builder
	curl.Stdout, curl.Stderr = &out, &out
	require.NoError(t, curl.Start())
	require.Eventually(t, func() bool {
		return len(find(col, event.ActionConnectionOpened, dst)) == 1 && len(find(col, event.ActionWebUpload, dst)) == 1
	}, 20*time.Second, 10*time.Millisecond)
	close(release)
	require.NoError(t, curl.Wait(), out.String())
	require.Equal(t, int64(size), got.Load())

	opened := find(col, event.ActionConnectionOpened, dst)[0]
	require.Equal(t, "curl", opened.Process.Name)
	require.Equal(t, "/usr/bin/curl", opened.Process.Executable)
	require.Equal(t, int64(curl.Process.Pid), opened.Process.PID)
	require.Equal(t, CategoryPaste, opened.Destination.Category)
	require.Equal(t, "paste.ee", opened.Destination.Domain)
	up := find(col, event.ActionWebUpload, dst)[0]
	// The request line and headers travel with the body.
	require.Greater(t, up.Destination.Bytes, int64(size))
	require.Less(t, up.Destination.Bytes, int64(size+1024))
}
