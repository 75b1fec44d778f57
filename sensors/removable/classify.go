package removable

import (
	"path"
	"strings"
)

// blockInfo is what sysfs says about a block device and the disk it is on.
type blockInfo struct {
	// Name is the kernel name of the device, such as "sdb1" or "loop3".
	Name string
	// Disk is the kernel name of the whole disk, such as "sdb"; equal to
	// Name for a whole-disk device.
	Disk string
	// DevNode is the device node, such as "/dev/sdb1".
	DevNode string
	// SysPath is the device's directory under /sys/devices.
	SysPath string
	// Removable is the disk's sysfs "removable" attribute.
	Removable bool
	// Bus is the bus the disk hangs off: usb, ata, nvme, mmc, scsi,
	// virtio, virtual, ...
	Bus string
	// Vendor, Model and Serial identify the disk (for USB: the USB
	// device's manufacturer, product and serial strings when present).
	Vendor, Model, Serial string
	// VendorID and ProductID are the USB ids, four hex digits each.
	VendorID, ProductID string
	// Size is the size of the device in bytes.
	Size int64
	// DiskSize is the size of the whole disk in bytes.
	DiskSize int64
}

// classifier decides what counts as removable. It is built from Config.
type classifier struct {
	includeDevices []string
	excludeDevices []string
	includeMounts  []string
	mountPrefixes  []string
}

func newClassifier(c *Config) classifier {
	prefixes := make([]string, 0, len(c.MountPrefixes))
	for _, p := range c.MountPrefixes {
		prefixes = append(prefixes, strings.TrimRight(p, "/"))
	}
	return classifier{
		includeDevices: c.IncludeDevices,
		excludeDevices: c.ExcludeDevices,
		includeMounts:  c.IncludeMounts,
		mountPrefixes:  prefixes,
	}
}

// excluded reports whether exclude_devices names the device or its disk.
func (c classifier) excluded(b *blockInfo) bool {
	return b != nil && (matchAny(c.excludeDevices, b.Name) || matchAny(c.excludeDevices, b.Disk))
}

// device reports whether a block device counts as removable: not excluded,
// and marked removable by the kernel, on the USB bus, or named by
// include_devices.
func (c classifier) device(b *blockInfo) bool {
	if b == nil || c.excluded(b) {
		return false
	}
	return b.Removable || b.Bus == "usb" ||
		matchAny(c.includeDevices, b.Name) || matchAny(c.includeDevices, b.Disk)
}

// mount reports whether a mount counts as removable. b is the block
// device behind it, nil when there is none (virtual and network
// filesystems). include_mounts takes any mount; mount_prefixes take only
// mounts of block devices.
func (c classifier) mount(m *mount, b *blockInfo) bool {
	if c.excluded(b) {
		return false
	}
	if matchAny(c.includeMounts, m.MountPoint) {
		return true
	}
	if b == nil {
		return false
	}
	if c.device(b) {
		return true
	}
	for _, p := range c.mountPrefixes {
		if p == "" {
			continue
		}
		if strings.HasPrefix(m.MountPoint, p+"/") {
			return true
		}
	}
	return false
}

func matchAny(globs []string, name string) bool {
	if name == "" {
		return false
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// mountUser guesses who a volume was mounted for from a desktop mount point:
// udisks mounts media at /media/<user>/<label> (Debian, Ubuntu) or
// /run/media/<user>/<label> (Fedora, Arch). It returns "" otherwise.
func mountUser(mountPoint string) string {
	for _, p := range []string{"/media/", "/run/media/"} {
		rest, ok := strings.CutPrefix(mountPoint, p)
		if !ok {
			continue
		}
		user, label, ok := strings.Cut(rest, "/")
		if ok && user != "" && label != "" {
			return user
		}
	}
	return ""
}

// underMount reports whether p is the mount point mp or inside it.
func underMount(p, mp string) bool {
	if mp == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == mp || strings.HasPrefix(p, mp) && len(p) > len(mp) && p[len(mp)] == '/'
}
