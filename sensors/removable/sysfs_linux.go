package removable

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sysfs reads device identity from a sysfs tree; root is "/sys" except in
// tests.
type sysfs struct {
	root string
}

// byDevno describes the block device with the given device number.
func (s sysfs) byDevno(major, minor uint32) (*blockInfo, error) {
	link := filepath.Join(s.root, "dev", "block", strconv.FormatUint(uint64(major), 10)+":"+strconv.FormatUint(uint64(minor), 10))
	dir, err := filepath.EvalSymlinks(link)
	if err != nil {
		return nil, fmt.Errorf("sysfs: resolve block device %d:%d: %w", major, minor, err)
	}
	return s.fromDir(dir)
}

// byName describes the block device with the given kernel name ("sdb1").
func (s sysfs) byName(name string) (*blockInfo, error) {
	if name == "" || strings.ContainsAny(name, "/") || name == "." || name == ".." {
		return nil, fmt.Errorf("sysfs: bad block device name %q", name)
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(s.root, "class", "block", name))
	if err != nil {
		return nil, fmt.Errorf("sysfs: resolve block device %q: %w", name, err)
	}
	return s.fromDir(dir)
}

// byDevPath describes the block device at a uevent DEVPATH.
func (s sysfs) byDevPath(devpath string) (*blockInfo, error) {
	return s.fromDir(filepath.Join(s.root, filepath.Clean("/"+devpath)))
}

// fromDir reads a block device's directory under /sys/devices.
func (s sysfs) fromDir(dir string) (*blockInfo, error) {
	if _, err := os.Stat(filepath.Join(dir, "dev")); err != nil {
		return nil, fmt.Errorf("sysfs: %s is not a block device: %w", dir, err)
	}
	b := &blockInfo{Name: filepath.Base(dir), SysPath: dir}
	disk := dir
	if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
		disk = filepath.Dir(dir)
	}
	b.Disk = filepath.Base(disk)
	devname := ueventValue(filepath.Join(dir, "uevent"), "DEVNAME")
	if devname == "" || strings.Contains(devname, "..") {
		devname = b.Name
	}
	b.DevNode = "/dev/" + devname
	b.Size = readInt(filepath.Join(dir, "size")) * 512
	b.DiskSize = readInt(filepath.Join(disk, "size")) * 512
	b.Removable = readAttr(filepath.Join(disk, "removable")) == "1"
	rel := strings.TrimPrefix(disk, s.root)
	b.Bus = busOf(rel)

	dev := filepath.Join(disk, "device")
	b.Vendor = readAttr(filepath.Join(dev, "vendor"))
	b.Model = readAttr(filepath.Join(dev, "model"))
	if b.Model == "" {
		b.Model = readAttr(filepath.Join(dev, "name")) // MMC/SD cards
	}
	b.Serial = readAttr(filepath.Join(dev, "serial"))

	if b.Bus == "usb" {
		// Climb to the USB device (the directory with idVendor): its
		// strings are what the user sees on the box.
		for d := filepath.Dir(disk); len(d) > len(s.root) && d != "/"; d = filepath.Dir(d) {
			vid := readAttr(filepath.Join(d, "idVendor"))
			if vid == "" {
				continue
			}
			b.VendorID = vid
			b.ProductID = readAttr(filepath.Join(d, "idProduct"))
			if v := readAttr(filepath.Join(d, "manufacturer")); v != "" {
				b.Vendor = v
			}
			if v := readAttr(filepath.Join(d, "product")); v != "" {
				b.Model = v
			}
			if v := readAttr(filepath.Join(d, "serial")); v != "" {
				b.Serial = v
			}
			break
		}
	}
	return b, nil
}

// busOf names the bus from a device's path under /sys.
func busOf(rel string) string {
	parts := strings.Split(rel, "/")
	has := func(pred func(string) bool) bool {
		for _, p := range parts {
			if pred(p) {
				return true
			}
		}
		return false
	}
	switch {
	case has(func(p string) bool { return strings.HasPrefix(p, "usb") }):
		return "usb"
	case has(func(p string) bool { return p == "virtual" }):
		return "virtual"
	case has(func(p string) bool { return strings.HasPrefix(p, "nvme") }):
		return "nvme"
	case has(func(p string) bool { return strings.HasPrefix(p, "mmc") }):
		return "mmc"
	case has(func(p string) bool { return strings.HasPrefix(p, "fw") || p == "firewire" }):
		return "firewire"
	case has(func(p string) bool { return strings.HasPrefix(p, "ata") }):
		return "ata"
	case has(func(p string) bool { return strings.HasPrefix(p, "virtio") }):
		return "virtio"
	case has(func(p string) bool { return strings.HasPrefix(p, "host") }):
		return "scsi"
	}
	return ""
}

// readAttr reads a small sysfs attribute, trimmed, made printable and
// capped; "" when it is missing.
func readAttr(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	var buf [256]byte
	n, _ := f.Read(buf[:])
	_ = f.Close()
	return printable(string(bytes.TrimSpace(buf[:n])))
}

func readInt(p string) int64 {
	n, err := strconv.ParseInt(readAttr(p), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// ueventValue returns KEY's value from a sysfs uevent file.
func ueventValue(p, key string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v
		}
	}
	return ""
}

// listBlockDisks returns the sysfs directories of every whole disk.
func (s sysfs) listBlockDisks() []string {
	ents, err := os.ReadDir(filepath.Join(s.root, "block"))
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		dir, err := filepath.EvalSymlinks(filepath.Join(s.root, "block", e.Name()))
		if err == nil {
			out = append(out, dir)
		}
	}
	return out
}

// usbDevice reads a USB device's identity from its sysfs directory.
func usbDevice(dir string) (vid, pid, manufacturer, product, serial string) {
	return readAttr(filepath.Join(dir, "idVendor")), readAttr(filepath.Join(dir, "idProduct")),
		readAttr(filepath.Join(dir, "manufacturer")), readAttr(filepath.Join(dir, "product")),
		readAttr(filepath.Join(dir, "serial"))
}
