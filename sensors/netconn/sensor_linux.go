package netconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/owner"
)

// Sensor follows outbound TCP connections. Build it with New.
type Sensor struct {
	cfg        Config
	log        *slog.Logger
	track      sensors.Tracker
	procRoot   string
	classifier *Classifier
	names      *NameCache
	static     map[netip.Addr]string
	webPorts   map[uint16]bool

	conns  map[uint64]*conn
	users  owner.Users
	primed bool // the first poll ran: later connections are new
}

var (
	_ sensors.Sensor         = (*Sensor)(nil)
	_ sensors.HealthReporter = (*Sensor)(nil)
)

// conn is one tracked outbound connection.
type conn struct {
	sock      Socket
	proc      *event.Process
	name      string
	class     Domain
	known     bool // class is set
	acked     uint64
	reported  uint64
	grew      time.Time
	seenEpoch uint64
}

var newSensor = sensors.NewFactory(ParseConfig, sensors.Infallible(New))

// New returns a sensor for cfg, which must be valid.
func New(cfg Config, env sensors.Env) *Sensor {
	s := &Sensor{
		cfg:        cfg,
		log:        env.ComponentLogger(Name),
		procRoot:   "/proc",
		classifier: NewClassifier(ShippedDomains(), cfg.Domains),
		names:      NewNameCache(cfg.MaxNames, cfg.NameMinTTL),
		static:     map[netip.Addr]string{},
		webPorts:   map[uint16]bool{},
		conns:      map[uint64]*conn{},
	}
	for _, p := range cfg.WebPorts {
		s.webPorts[uint16(p)] = true
	}
	return s
}

// Name returns "netconn".
func (s *Sensor) Name() string { return Name }

// Health reports the sensor's state and counters.
func (s *Sensor) Health() sensors.Health { return s.track.Health() }

// Names returns the cache the DNS observer fills, for inspection.
func (s *Sensor) Names() *NameCache { return s.names }

// Run polls the socket tables until ctx is done.
func (s *Sensor) Run(ctx context.Context, emit func(event.Event)) error {
	s.loadStatic()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	var problems []string
	var mode []string
	d, err := openDiag()
	if err != nil {
		mode = append(mode, "proc")
		problems = append(problems, "bytes sent not measured ("+err.Error()+")")
	} else {
		mode = append(mode, "sock_diag")
		defer d.close()
	}
	capturing := false
	if s.cfg.DNSCapture {
		c, err := openCapture()
		if err != nil {
			problems = append(problems, "no DNS capture ("+err.Error()+"; needs root or CAP_NET_RAW)")
			s.log.Warn("DNS capture unavailable", "err", err)
		} else {
			capturing = true
			mode = append(mode, "af_packet")
			wg.Go(func() {
				if err := c.run(ctx, func(pkt []byte) { s.names.Add(time.Now(), DNSAnswersFromIP(pkt)...) }); err != nil {
					s.track.Failed(err)
					s.log.Warn("DNS capture stopped", "err", err)
				}
			})
		}
	}
	if !capturing && s.cfg.DNSFallback == FallbackResolveList {
		mode = append(mode, "resolve-list")
		wg.Go(func() { s.resolveList(ctx) })
	}
	state, msg := sensors.StateOK, ""
	if len(problems) > 0 {
		state, msg = sensors.StateDegraded, strings.Join(problems, "; ")
	}
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	var epoch uint64
	for {
		epoch++
		if err := s.poll(time.Now(), epoch, d, emit); err != nil {
			s.track.Failed(err)
			s.log.Warn("poll sockets", "err", err)
		}
		if epoch == 1 {
			// Connections open before the first poll are not reported as
			// opened; the health leaves "starting" once they are known.
			s.track.Set(state, strings.Join(mode, "+"), msg)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// loadStatic fills the static names from the hosts file and the config.
func (s *Sensor) loadStatic() {
	if s.cfg.HostsFile != "" {
		if data, err := os.ReadFile(s.cfg.HostsFile); err == nil {
			s.static = ParseHosts(string(data))
		}
	}
	for a, n := range s.cfg.Hosts {
		if addr, err := netip.ParseAddr(a); err == nil {
			s.static[addr.Unmap()] = strings.ToLower(n)
		}
	}
}

// resolveList is the fallback when DNS answers cannot be captured: it
// resolves the listed domains now and then, so that at least connections
// to them are named.
func (s *Sensor) resolveList(ctx context.Context) {
	var r net.Resolver
	for {
		for _, d := range s.classifier.Domains() {
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			addrs, err := r.LookupNetIP(lctx, "ip", d)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				continue
			}
			answers := make([]Answer, 0, len(addrs))
			for _, a := range addrs {
				answers = append(answers, Answer{Name: d, Addr: a.Unmap(), TTL: s.cfg.DNSFallbackInterval * 2})
			}
			s.names.Add(time.Now(), answers...)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.cfg.DNSFallbackInterval):
		}
	}
}

// nameOf names an address: static names first, then DNS.
func (s *Sensor) nameOf(a netip.Addr) string {
	if n, ok := s.static[a]; ok {
		return n
	}
	n, _ := s.names.Lookup(a)
	return n
}

// poll reads the socket tables once: a sock_diag dump (sockets and their
// byte counters), or /proc/net/tcp{,6} when sock_diag is not available.
func (s *Sensor) poll(now time.Time, epoch uint64, d *diag, emit func(event.Event)) error {
	var socks []Socket
	listening := map[uint16]bool{}
	var counters map[uint64]tcpCounters
	add := func(so Socket) {
		switch so.State {
		case StateListen:
			listening[so.Local.Port()] = true
		case StateEstablished:
			if so.Inode != 0 {
				socks = append(socks, so)
			}
		}
	}
	var errs []error
	if d != nil {
		counters = map[uint64]tcpCounters{}
		err := d.dump(func(so Socket, c tcpCounters) {
			add(so)
			if so.State == StateEstablished {
				counters[so.Inode] = c
			}
		})
		if err != nil {
			// Fall back to the text tables for this poll.
			errs = append(errs, err)
			socks, counters = nil, nil
			clear(listening)
			d = nil
		}
	}
	if d == nil {
		for _, f := range []string{"net/tcp", "net/tcp6"} {
			data, err := os.ReadFile(filepath.Join(s.procRoot, f))
			if err != nil {
				errs = append(errs, fmt.Errorf("read %s: %w", f, err))
				continue
			}
			if err := ParseProcNetTCP(data, add); err != nil {
				errs = append(errs, fmt.Errorf("parse %s: %w", f, err))
			}
		}
	}
	fresh := map[uint64]bool{}
	for _, so := range socks {
		if listening[so.Local.Port()] || !s.cfg.IncludeLoopback && so.Remote.Addr().IsLoopback() {
			continue // inbound, or local
		}
		if c, ok := s.conns[so.Inode]; ok {
			c.seenEpoch = epoch
			continue
		}
		fresh[so.Inode] = true
		s.conns[so.Inode] = &conn{sock: so, seenEpoch: epoch, grew: now}
	}
	if len(fresh) > 0 {
		owners := socketOwners(s.procRoot, fresh)
		for inode := range fresh {
			c := s.conns[inode]
			if pid, ok := owners[inode]; ok {
				c.proc = processInfo(s.procRoot, pid)
			}
			s.name(c)
			if s.primed {
				s.opened(now, c, emit)
			}
		}
	}
	s.primed = true
	for inode, c := range s.conns {
		closed := c.seenEpoch != epoch
		if tc, ok := counters[inode]; ok && !closed {
			acked := tc.Acked
			if acked > 0 {
				acked-- // the SYN counts as one acknowledged byte
			}
			if acked > c.acked {
				c.acked, c.grew = acked, now
			}
		}
		if c.acked-c.reported >= uint64(s.cfg.UploadMinBytes) && (closed || now.Sub(c.grew) >= s.cfg.UploadIdle) {
			s.upload(now, c, emit)
		}
		if closed {
			delete(s.conns, inode)
		}
	}
	return errors.Join(errs...)
}

// name looks up and classifies the connection's destination.
func (s *Sensor) name(c *conn) {
	if c.name == "" {
		c.name = s.nameOf(c.sock.Remote.Addr())
	}
	if c.name != "" && !c.known {
		c.class, c.known = s.classifier.Classify(c.name)
	}
}

func (s *Sensor) opened(now time.Time, c *conn, emit func(event.Event)) {
	switch s.cfg.Connections {
	case ConnectionsNone:
		return
	case ConnectionsClassified:
		if !c.known {
			return
		}
	case ConnectionsNamed:
		if c.name == "" {
			return
		}
	}
	s.track.Emitted()
	emit(s.newEvent(now, event.ActionConnectionOpened, c, 0))
}

func (s *Sensor) upload(now time.Time, c *conn, emit func(event.Event)) {
	n := c.acked - c.reported
	c.reported = c.acked
	if len(s.webPorts) > 0 && !s.webPorts[c.sock.Remote.Port()] {
		return
	}
	s.name(c) // the answer may have come after the connection was first seen
	s.track.Emitted()
	emit(s.newEvent(now, event.ActionWebUpload, c, int64(n)))
}

func (s *Sensor) newEvent(now time.Time, action string, c *conn, sent int64) event.Event {
	ev := event.Event{
		Timestamp: now,
		Event: event.Meta{
			ID:      event.NewID(now),
			Action:  action,
			Module:  Name,
			Outcome: "success",
		},
		User:    s.users.User(strconv.FormatUint(uint64(c.sock.UID), 10)),
		Process: c.proc,
		Source:  &event.Endpoint{IP: c.sock.Local.Addr().String(), Port: int64(c.sock.Local.Port())},
		Destination: &event.Destination{
			IP:     c.sock.Remote.Addr().String(),
			Port:   int64(c.sock.Remote.Port()),
			Domain: c.name,
			Bytes:  sent,
		},
		Network: &event.Network{Transport: "tcp", Direction: "egress", Bytes: sent},
	}
	if c.known {
		ev.Destination.Category = c.class.Category
		ev.Destination.CloudProvider = c.class.Provider
	}
	ev.Normalize()
	return ev
}
