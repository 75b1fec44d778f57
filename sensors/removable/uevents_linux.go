package removable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-itm/vigil/event"
)

// ueventGroupKernel is the multicast group the kernel sends uevents to
// (udev re-sends them, enriched, to group 2).
const ueventGroupKernel = 1

// openUevents opens a netlink socket subscribed to kernel uevents.
func (s *Sensor) openUevents() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return -1, fmt.Errorf("open uevent socket: %w", err)
	}
	// A burst (a USB hub with several devices) must not overflow the
	// default buffer; FORCE needs CAP_NET_ADMIN, the plain one does not.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 1<<20) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: ueventGroupKernel}); err != nil {
		_ = unix.Close(fd)
		return -1, fmt.Errorf("bind uevent socket: %w", err)
	}
	return fd, nil
}

// watchUevents reads uevents until the stopper fires, then closes fd.
func (s *Sensor) watchUevents(fd int, st *stopper, emit func(event.Event)) error {
	defer func() { _ = unix.Close(fd) }()
	devs := s.presentDevices()
	buf := make([]byte, maxUevent+1)
	for {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		switch {
		case errors.Is(err, unix.EAGAIN):
			_, stopped, werr := st.wait(fd, unix.POLLIN, -1)
			if werr != nil {
				return fmt.Errorf("wait for uevents: %w", werr)
			}
			if stopped {
				return nil
			}
			continue
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOBUFS):
			s.tracker.Failed(errors.New("uevent socket overflow: device events were missed"))
			devs = s.presentDevices()
			continue
		case err != nil:
			return fmt.Errorf("read uevent: %w", err)
		}
		// Only the kernel (port id 0) speaks for devices.
		if nl, ok := from.(*unix.SockaddrNetlink); !ok || nl.Pid != 0 {
			continue
		}
		u, err := parseUevent(buf[:n])
		if err != nil {
			s.tracker.Failed(err)
			continue
		}
		s.handleUevent(&u, devs, emit)
	}
}

// presentDevices describes the removable disks and USB devices present
// now, so that their removal can be reported with their identity.
func (s *Sensor) presentDevices() map[string]*event.Device {
	devs := map[string]*event.Device{}
	for _, dir := range s.sys.listBlockDisks() {
		b, err := s.sys.fromDir(dir)
		if err != nil || !s.cls.device(b) {
			continue
		}
		devs[strings.TrimPrefix(dir, s.sys.root)] = diskDevice(b)
	}
	if !s.cfg.USBDevices {
		return devs
	}
	ents, _ := os.ReadDir(filepath.Join(s.sys.root, "bus", "usb", "devices"))
	for _, e := range ents {
		dir, err := filepath.EvalSymlinks(filepath.Join(s.sys.root, "bus", "usb", "devices", e.Name()))
		if err != nil {
			continue
		}
		rel := strings.TrimPrefix(dir, s.sys.root)
		if d := s.usbDevice(&uevent{DevPath: rel}); d.VendorID != "" {
			devs[rel] = d
		}
	}
	return devs
}

// handleUevent turns a disk or USB device coming or going into an event.
func (s *Sensor) handleUevent(u *uevent, devs map[string]*event.Device, emit func(event.Event)) {
	var d *event.Device
	switch {
	case u.Subsystem == "block" && u.DevType == "disk":
		switch u.Action {
		case "add":
			b, err := s.sys.byDevPath(u.DevPath)
			if err != nil || !s.cls.device(b) {
				return
			}
			d = diskDevice(b)
		case "remove":
			d = devs[u.DevPath]
		default:
			return
		}
	case u.Subsystem == "usb" && u.DevType == "usb_device" && s.cfg.USBDevices:
		switch u.Action {
		case "add":
			d = s.usbDevice(u)
		case "remove":
			if d = devs[u.DevPath]; d == nil {
				d = s.usbDevice(u) // from the uevent's PRODUCT alone
			}
		default:
			return
		}
	default:
		return
	}
	if d == nil {
		return
	}
	action := event.ActionDeviceConnected
	if u.Action == "remove" {
		action = event.ActionDeviceDisconnected
		delete(devs, u.DevPath)
	} else {
		if len(devs) > 4096 {
			clear(devs)
		}
		devs[u.DevPath] = d
	}
	dev := *d
	s.emitEvent(emit, &event.Event{Timestamp: time.Now(), Event: event.Meta{Action: action}, Device: &dev})
}

func diskDevice(b *blockInfo) *event.Device {
	return &event.Device{
		ID:           b.Disk,
		BusType:      b.Bus,
		Class:        "disk",
		VendorID:     b.VendorID,
		ProductID:    b.ProductID,
		VendorName:   b.Vendor,
		ProductName:  b.Model,
		SerialNumber: b.Serial,
		Removable:    true,
		Size:         b.DiskSize,
	}
}

// usbDevice describes a USB device from sysfs, or from the uevent's
// PRODUCT=vid/pid/bcd when sysfs no longer has it.
func (s *Sensor) usbDevice(u *uevent) *event.Device {
	d := &event.Device{ID: filepath.Base(u.DevPath), BusType: "usb", Class: "usb"}
	vid, pid, mfr, prod, serial := usbDevice(filepath.Join(s.sys.root, filepath.Clean("/"+u.DevPath)))
	if vid == "" {
		parts := strings.Split(u.Env["PRODUCT"], "/")
		if len(parts) < 2 {
			return d
		}
		vid, pid = pad4(parts[0]), pad4(parts[1])
	}
	d.VendorID, d.ProductID, d.VendorName, d.ProductName, d.SerialNumber = vid, pid, mfr, prod, serial
	return d
}

// pad4 left-pads a hex id to four digits, as sysfs writes them.
func pad4(s string) string {
	s = printable(s)
	if len(s) >= 4 {
		return s
	}
	return strings.Repeat("0", 4-len(s)) + s
}
