package x11

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNoDisplay is returned when no X display is configured: neither the
// sensor's display setting nor the DISPLAY environment variable is set.
var ErrNoDisplay = errors.New("no X display (DISPLAY is empty)")

// Display is a parsed X display name such as ":0", "unix:1.0" or
// "tcp/host:2".
type Display struct {
	// Network is "unix" or "tcp".
	Network string
	// Address is the socket path (or abstract name starting with "@") for
	// unix, host:port for tcp.
	Address string
	// Host is the host part of the name; empty for the local machine.
	Host string
	// Number is the display number as written, such as "0".
	Number string
	// Screen is the screen number after the dot, 0 when absent.
	Screen int
}

// Key identifies the display for sharing state between sensors: ":0" and
// ":0.0" (and "unix:0") are the same display.
func (d Display) Key() string { return d.Host + ":" + d.Number }

// ParseDisplay parses an X display name. An empty name takes $DISPLAY.
func ParseDisplay(name string) (Display, error) {
	if name == "" {
		name = os.Getenv("DISPLAY")
	}
	if name == "" {
		return Display{}, ErrNoDisplay
	}
	colon := strings.LastIndexByte(name, ':')
	if colon < 0 || colon == len(name)-1 {
		return Display{}, fmt.Errorf("parse display %q: want [host]:number[.screen]", name)
	}
	d := Display{}
	rest := name[colon+1:]
	if dot := strings.IndexByte(rest, '.'); dot >= 0 {
		s, err := strconv.Atoi(rest[dot+1:])
		if err != nil || s < 0 {
			return Display{}, fmt.Errorf("parse display %q: bad screen number", name)
		}
		d.Screen = s
		rest = rest[:dot]
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || n > 65535-6000 {
		return Display{}, fmt.Errorf("parse display %q: bad display number", name)
	}
	d.Number = rest
	head := name[:colon]
	proto := ""
	if strings.HasPrefix(head, "/") {
		// A socket path such as launchd's /private/tmp/.../org.xquartz:0.
		d.Network, d.Address = "unix", name[:colon]+":"+rest
		return d, nil
	}
	if slash := strings.LastIndexByte(head, '/'); slash >= 0 {
		proto, head = head[:slash], head[slash+1:]
	}
	switch {
	case proto == "unix" || (proto == "" && (head == "" || head == "unix")):
		d.Network, d.Address = "unix", "/tmp/.X11-unix/X"+rest
	case proto == "" || proto == "tcp" || proto == "inet" || proto == "inet6":
		if head == "" {
			head = "localhost"
		}
		d.Network, d.Host = "tcp", head
		d.Address = net.JoinHostPort(head, strconv.Itoa(6000+n))
	default:
		return Display{}, fmt.Errorf("parse display %q: unknown protocol %q", name, proto)
	}
	return d, nil
}

// String returns the display in the usual form.
func (d Display) String() string {
	s := d.Host + ":" + d.Number
	if d.Screen != 0 {
		s += "." + strconv.Itoa(d.Screen)
	}
	return s
}

// Xauthority families.
const (
	familyLocal = 256
	familyWild  = 65535
)

// AuthEntry is one entry of an Xauthority file.
type AuthEntry struct {
	Family  uint16
	Address string
	Number  string
	Name    string
	Data    []byte
}

// ParseXauthority reads every entry of an Xauthority file.
func ParseXauthority(r io.Reader) ([]AuthEntry, error) {
	br := bufio.NewReader(r)
	var out []AuthEntry
	readField := func() ([]byte, error) {
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return nil, err
		}
		b := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	for {
		var fam [2]byte
		if _, err := io.ReadFull(br, fam[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("read xauthority entry %d: %w", len(out), err)
		}
		e := AuthEntry{Family: binary.BigEndian.Uint16(fam[:])}
		var fields [4][]byte
		for i := range fields {
			b, err := readField()
			if err != nil {
				return out, fmt.Errorf("read xauthority entry %d: %w", len(out), err)
			}
			fields[i] = b
		}
		e.Address, e.Number, e.Name, e.Data = string(fields[0]), string(fields[1]), string(fields[2]), fields[3]
		out = append(out, e)
	}
}

// XauthorityPath returns the file X clients read cookies from: $XAUTHORITY,
// else ~/.Xauthority.
func XauthorityPath() string {
	if p := os.Getenv("XAUTHORITY"); p != "" {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".Xauthority")
	}
	return ""
}

// FindCookie picks the MIT-MAGIC-COOKIE-1 entry for display d from entries,
// the way libXau does: a local entry for this host name (or a wildcard)
// with the display's number. It returns nil when there is none, meaning
// connect without authorisation.
func FindCookie(entries []AuthEntry, d Display, hostname string) *AuthEntry {
	host := d.Host
	if host == "" || host == "localhost" || d.Network == "unix" {
		host = hostname
	}
	for i := range entries {
		e := &entries[i]
		if e.Name != "MIT-MAGIC-COOKIE-1" || len(e.Data) != 16 {
			continue
		}
		if e.Number != "" && e.Number != d.Number {
			continue
		}
		if e.Family == familyWild || (e.Family == familyLocal && e.Address == host) {
			return e
		}
	}
	return nil
}

// setupRequest builds the connection setup request (little-endian byte
// order, protocol 11.0) carrying authorisation name and data.
func setupRequest(authName string, authData []byte) []byte {
	buf := make([]byte, 12+pad4(len(authName))+pad4(len(authData)))
	buf[0] = 'l'
	binary.LittleEndian.PutUint16(buf[2:], 11)
	binary.LittleEndian.PutUint16(buf[6:], uint16(len(authName)))
	binary.LittleEndian.PutUint16(buf[8:], uint16(len(authData)))
	copy(buf[12:], authName)
	copy(buf[12+pad4(len(authName)):], authData)
	return buf
}

func pad4(n int) int { return (n + 3) &^ 3 }

// readSetupReply reads the server's answer to the setup request and returns
// an error carrying the server's reason when the connection was refused.
func readSetupReply(r io.Reader) error {
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return fmt.Errorf("read setup reply: %w", err)
	}
	n := int(binary.LittleEndian.Uint16(head[6:])) * 4
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return fmt.Errorf("read setup reply body (%d bytes): %w", n, err)
	}
	switch head[0] {
	case 1:
		return nil
	case 0:
		reason := body[:min(int(head[1]), len(body))]
		return fmt.Errorf("the X server refused the connection: %s", strings.TrimSpace(string(reason)))
	default:
		return fmt.Errorf("the X server asks for further authentication: %s", strings.TrimRight(string(body), "\x00 "))
	}
}

// DialRaw opens a plain connection to display d and performs the setup
// handshake, authorising with the display's MIT-MAGIC-COOKIE-1 from the
// Xauthority file when there is one. The connection is then ready for
// requests in little-endian byte order, starting at sequence number 1.
func DialRaw(d Display, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	var err error
	if d.Network == "unix" {
		c, err = net.DialTimeout("unix", d.Address, timeout)
		if err != nil && strings.HasPrefix(d.Address, "/tmp/.X11-unix/") {
			// Linux servers also listen on the abstract socket of the same name.
			c, err = net.DialTimeout("unix", "@"+d.Address, timeout)
		}
	} else {
		c, err = net.DialTimeout(d.Network, d.Address, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to X display %s: %w", d, err)
	}
	var name string
	var data []byte
	if path := XauthorityPath(); path != "" {
		if f, ferr := os.Open(path); ferr == nil {
			entries, _ := ParseXauthority(f) // a damaged tail still leaves the entries before it
			_ = f.Close()
			hostname, _ := os.Hostname()
			if e := FindCookie(entries, d, hostname); e != nil {
				name, data = e.Name, e.Data
			}
		}
	}
	if timeout > 0 {
		_ = c.SetDeadline(time.Now().Add(timeout))
	}
	if _, err := c.Write(setupRequest(name, data)); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("send X setup to %s: %w", d, err)
	}
	if err := readSetupReply(c); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("set up the X connection to %s: %w", d, err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}
