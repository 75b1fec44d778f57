package removable

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
)

// usbSysfs lays out, under a temporary root, the sysfs entries the kernel
// makes for a Kingston USB stick with one partition (this machine has no
// USB, so the tree is written by hand, following a real one).
func usbSysfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	usbDev := root + "/devices/pci0000:00/0000:00:14.0/usb2/2-1"
	scsi := usbDev + "/2-1:1.0/host6/target6:0:0/6:0:0:0"
	disk := scsi + "/block/sdb"
	part := disk + "/sdb1"
	files := map[string]string{
		usbDev + "/idVendor":     "0951\n",
		usbDev + "/idProduct":    "1666\n",
		usbDev + "/manufacturer": "Kingston\n",
		usbDev + "/product":      "DataTraveler 3.0\n",
		usbDev + "/serial":       "E0D55EA574B1F4A0C8A3017D\n",
		scsi + "/vendor":         "Kingston\n",
		scsi + "/model":          "DataTraveler 3.0\n",
		disk + "/dev":            "8:16\n",
		disk + "/size":           "60604416\n",
		disk + "/removable":      "1\n",
		disk + "/uevent":         "MAJOR=8\nMINOR=16\nDEVNAME=sdb\nDEVTYPE=disk\n",
		part + "/dev":            "8:17\n",
		part + "/size":           "60602368\n",
		part + "/partition":      "1\n",
		part + "/uevent":         "MAJOR=8\nMINOR=17\nDEVNAME=sdb1\nDEVTYPE=partition\nPARTN=1\n",
	}
	for p, v := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(v), 0o644))
	}
	require.NoError(t, os.Symlink(scsi, disk+"/device"))
	for _, d := range []string{"dev/block", "class/block", "block"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	require.NoError(t, os.Symlink(part, root+"/dev/block/8:17"))
	require.NoError(t, os.Symlink(disk, root+"/dev/block/8:16"))
	require.NoError(t, os.Symlink(part, root+"/class/block/sdb1"))
	require.NoError(t, os.Symlink(disk, root+"/block/sdb"))
	return root
}

func TestSysfsUSBStick(t *testing.T) {
	root := usbSysfs(t)
	s := sysfs{root: root}
	want := &blockInfo{
		Name: "sdb1", Disk: "sdb", DevNode: "/dev/sdb1", Removable: true, Bus: "usb",
		Vendor: "Kingston", Model: "DataTraveler 3.0", Serial: "E0D55EA574B1F4A0C8A3017D",
		VendorID: "0951", ProductID: "1666", Size: 60602368 * 512, DiskSize: 60604416 * 512,
	}
	for name, get := range map[string]func() (*blockInfo, error){
		"by device number": func() (*blockInfo, error) { return s.byDevno(8, 17) },
		"by name":          func() (*blockInfo, error) { return s.byName("sdb1") },
	} {
		t.Run(name, func(t *testing.T) {
			b, err := get()
			require.NoError(t, err)
			require.True(t, strings.HasSuffix(b.SysPath, "/block/sdb/sdb1"), b.SysPath)
			b.SysPath = ""
			require.Equal(t, want, b)
		})
	}
	_, err := s.byName("../etc")
	require.Error(t, err)
	_, err = s.byDevno(9, 9)
	require.Error(t, err)

	disks := s.listBlockDisks()
	require.Len(t, disks, 1)
	b, err := s.fromDir(disks[0])
	require.NoError(t, err)
	require.Equal(t, "sdb", b.Name)
	require.Equal(t, int64(60604416*512), b.Size)
}

// TestUeventUSBStick feeds the uevents of plugging and pulling the stick
// through the sensor's handler, against the hand-made sysfs tree.
func TestUeventUSBStick(t *testing.T) {
	root := usbSysfs(t)
	s, err := New(DefaultConfig(), sensors.Env{})
	require.NoError(t, err)
	s.sys = sysfs{root: root}
	var got []event.Event
	emit := func(e event.Event) { got = append(got, e) }
	devs := s.presentDevices()
	require.Len(t, devs, 1, "the stick is present at start")

	usbPath := "/devices/pci0000:00/0000:00:14.0/usb2/2-1"
	diskPath := usbPath + "/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb"
	for _, m := range [][]byte{
		msg("add@"+usbPath, "ACTION=add", "DEVPATH="+usbPath, "SUBSYSTEM=usb", "DEVTYPE=usb_device", "PRODUCT=951/1666/110"),
		msg("add@"+usbPath+"/2-1:1.0", "ACTION=add", "DEVPATH="+usbPath+"/2-1:1.0", "SUBSYSTEM=usb", "DEVTYPE=usb_interface", "INTERFACE=8/6/80"),
		msg("add@"+diskPath, "ACTION=add", "DEVPATH="+diskPath, "SUBSYSTEM=block", "DEVTYPE=disk", "DEVNAME=sdb"),
		msg("add@"+diskPath+"/sdb1", "ACTION=add", "DEVPATH="+diskPath+"/sdb1", "SUBSYSTEM=block", "DEVTYPE=partition", "DEVNAME=sdb1"),
		msg("remove@"+diskPath, "ACTION=remove", "DEVPATH="+diskPath, "SUBSYSTEM=block", "DEVTYPE=disk", "DEVNAME=sdb"),
		msg("remove@"+usbPath, "ACTION=remove", "DEVPATH="+usbPath, "SUBSYSTEM=usb", "DEVTYPE=usb_device", "PRODUCT=951/1666/110"),
		msg("remove@/devices/pci0000:00/usb1/1-9", "ACTION=remove", "DEVPATH=/devices/pci0000:00/usb1/1-9", "SUBSYSTEM=usb", "DEVTYPE=usb_device", "PRODUCT=46d/c52b/1211"),
	} {
		u, err := parseUevent(m)
		require.NoError(t, err)
		s.handleUevent(&u, devs, emit)
	}
	stick := event.Device{ID: "sdb", BusType: "usb", Class: "disk", VendorID: "0951", ProductID: "1666",
		VendorName: "Kingston", ProductName: "DataTraveler 3.0", SerialNumber: "E0D55EA574B1F4A0C8A3017D",
		Removable: true, Size: 60604416 * 512}
	usb := event.Device{ID: "2-1", BusType: "usb", Class: "usb", VendorID: "0951", ProductID: "1666",
		VendorName: "Kingston", ProductName: "DataTraveler 3.0", SerialNumber: "E0D55EA574B1F4A0C8A3017D"}
	want := []struct {
		action string
		dev    event.Device
	}{
		{event.ActionDeviceConnected, usb},
		{event.ActionDeviceConnected, stick},
		{event.ActionDeviceDisconnected, stick},
		{event.ActionDeviceDisconnected, usb},
		{event.ActionDeviceDisconnected, event.Device{ID: "1-9", BusType: "usb", Class: "usb", VendorID: "046d", ProductID: "c52b"}},
	}
	require.Len(t, got, len(want))
	for i, w := range want {
		require.Equal(t, w.action, got[i].Event.Action, i)
		require.Equal(t, w.dev, *got[i].Device, i)
		require.NoError(t, got[i].Validate())
		require.Equal(t, []string{"host"}, got[i].Event.Category)
	}
}

// TestLabelFromLoopDevice reads labels from real block devices: images made
// by mkfs.vfat and mkfs.ext4, attached to loop devices. It runs even where
// the kernel cannot mount vfat.
func TestLabelFromLoopDevice(t *testing.T) {
	needRoot(t)
	for _, fs := range []string{"vfat", "ext4"} {
		t.Run(fs, func(t *testing.T) {
			dev := loopImage(t, fs, "VIGILTEST", 16)
			s, err := New(DefaultConfig(), sensors.Env{})
			require.NoError(t, err)
			require.Equal(t, "VIGILTEST", s.label(dev, fs))
			b, err := s.sys.byName(filepath.Base(dev))
			require.NoError(t, err)
			require.Equal(t, dev, b.DevNode)
			require.Equal(t, "virtual", b.Bus)
			require.False(t, b.Removable, "sysfs does not call a loop device removable")
			require.Equal(t, int64(16<<20), b.Size)
		})
	}
}

// BenchmarkFileReport measures the per-file cost of a write on a removable
// volume once it reaches a hash worker: fstat, de-duplication, SHA-256 and
// building the event.
func BenchmarkFileReport(b *testing.B) {
	s, err := New(DefaultConfig(), sensors.Env{})
	if err != nil {
		b.Fatal(err)
	}
	vol := &volume{ev: event.Volume{Removable: true, MountPoint: "/media/u/STICK", FileSystemType: "vfat"}}
	proc := &procInfo{PID: 42, Name: "cp", Executable: "/usr/bin/cp", Args: []string{"cp", "a", "/media/u/STICK/"}, UID: "0"}
	for _, size := range []int{4 << 10, 1 << 20} {
		path := filepath.Join(b.TempDir(), "f.bin")
		if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("size=%s", ByteSize(size)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			for b.Loop() {
				if _, err := f.Seek(0, 0); err != nil {
					b.Fatal(err)
				}
				delete(s.dedupe.m, path) // the same file again is not a duplicate here
				j := hashJob{fd: -1, path: path, vol: vol, proc: proc}
				if _, ok := s.describeFile(f, &j); !ok {
					b.Fatal("no event")
				}
			}
		})
	}
}
