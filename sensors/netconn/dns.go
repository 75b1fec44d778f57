package netconn

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Answer is one address a DNS response gave for a name.
type Answer struct {
	// Name is the name the client asked for (the question), lower case
	// without the final dot; CNAME chains are followed to it.
	Name string
	// Addr is the A or AAAA record's address.
	Addr netip.Addr
	// TTL is the record's time to live.
	TTL time.Duration
}

// maxAnswers bounds the answers taken from one packet.
const maxAnswers = 64

// DNSAnswersFromIP reads an IPv4 or IPv6 packet (no link-layer header)
// carrying a UDP datagram from port 53, and returns the address records of
// the DNS response in it. Anything else yields nil.
func DNSAnswersFromIP(pkt []byte) []Answer {
	payload, ok := udpFromPort53(pkt)
	if !ok {
		return nil
	}
	return DNSAnswers(payload)
}

// udpFromPort53 returns the UDP payload of pkt if it is an unfragmented
// UDP datagram from source port 53.
func udpFromPort53(pkt []byte) ([]byte, bool) {
	if len(pkt) < 1 {
		return nil, false
	}
	var udp []byte
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return nil, false
		}
		ihl := int(pkt[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(pkt[2:4]))
		if ihl < 20 || pkt[9] != 17 || binary.BigEndian.Uint16(pkt[6:8])&0x3fff != 0 || total < ihl || total > len(pkt) {
			return nil, false
		}
		udp = pkt[ihl:total]
	case 6:
		if len(pkt) < 40 || pkt[6] != 17 {
			return nil, false
		}
		end := 40 + int(binary.BigEndian.Uint16(pkt[4:6]))
		if end > len(pkt) {
			return nil, false
		}
		udp = pkt[40:end]
	default:
		return nil, false
	}
	if len(udp) < 8 || binary.BigEndian.Uint16(udp[0:2]) != 53 {
		return nil, false
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:6]))
	if ulen < 8 || ulen > len(udp) {
		return nil, false
	}
	return udp[8:ulen], true
}

// DNSAnswers parses a DNS response message and returns its address
// records, each under the name the question asked for.
func DNSAnswers(msg []byte) []Answer {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || !h.Response || h.RCode != dnsmessage.RCodeSuccess {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	asked := normName(q.Name.String())
	_ = p.SkipAllQuestions()
	// Names that lead to the question through CNAMEs.
	chain := map[string]bool{asked: true}
	var out []Answer
	for len(out) < maxAnswers {
		rh, err := p.AnswerHeader()
		if err != nil {
			break
		}
		owner := normName(rh.Name.String())
		ttl := time.Duration(rh.TTL) * time.Second
		switch rh.Type {
		case dnsmessage.TypeCNAME:
			r, err := p.CNAMEResource()
			if err != nil {
				return out
			}
			if chain[owner] {
				chain[normName(r.CNAME.String())] = true
			}
		case dnsmessage.TypeA:
			r, err := p.AResource()
			if err != nil {
				return out
			}
			if chain[owner] {
				out = append(out, Answer{Name: asked, Addr: netip.AddrFrom4(r.A), TTL: ttl})
			}
		case dnsmessage.TypeAAAA:
			r, err := p.AAAAResource()
			if err != nil {
				return out
			}
			if chain[owner] {
				out = append(out, Answer{Name: asked, Addr: netip.AddrFrom16(r.AAAA).Unmap(), TTL: ttl})
			}
		default:
			if p.SkipAnswer() != nil {
				return out
			}
		}
	}
	return out
}

func normName(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }

// NameCache maps addresses to the names DNS gave them. It is safe for
// concurrent use: the DNS observer writes while the poller reads.
type NameCache struct {
	mu      sync.Mutex
	names   map[netip.Addr]cachedName
	max     int
	minTTL  time.Duration
	dropped uint64
}

type cachedName struct {
	name    string
	expires time.Time
}

// NewNameCache returns a cache of at most size addresses that keeps each
// name at least minTTL, however short the record's TTL: connections often
// open long after the answer (browsers and resolvers cache too).
func NewNameCache(size int, minTTL time.Duration) *NameCache {
	return &NameCache{names: map[netip.Addr]cachedName{}, max: size, minTTL: minTTL}
}

// Add records answers seen at now.
func (c *NameCache) Add(now time.Time, answers ...Answer) {
	if len(answers) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range answers {
		addr := a.Addr.Unmap()
		if !addr.IsValid() || a.Name == "" {
			continue
		}
		if _, ok := c.names[addr]; !ok && len(c.names) >= c.max {
			c.evict(now)
		}
		c.names[addr] = cachedName{name: a.Name, expires: now.Add(max(a.TTL, c.minTTL))}
	}
}

// evict drops expired names, and when none had expired, an arbitrary
// eighth of the cache.
func (c *NameCache) evict(now time.Time) {
	for a, n := range c.names {
		if now.After(n.expires) {
			delete(c.names, a)
		}
	}
	for a := range c.names {
		if len(c.names) < c.max-c.max/8 {
			break
		}
		delete(c.names, a)
		c.dropped++
	}
}

// Lookup returns the name last seen for addr.
func (c *NameCache) Lookup(addr netip.Addr) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.names[addr.Unmap()]
	return n.name, ok
}

// Len returns the number of addresses cached.
func (c *NameCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.names)
}
