package removable

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// msg builds a uevent message: the header then KEY=VALUE pairs, each ended
// by a NUL as the kernel sends them.
func msg(header string, kv ...string) []byte {
	return []byte(header + "\x00" + strings.Join(kv, "\x00") + "\x00")
}

func TestParseUevent(t *testing.T) {
	usbDisk := msg("add@/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb",
		"ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb",
		"SUBSYSTEM=block", "MAJOR=8", "MINOR=16", "DEVNAME=sdb", "DEVTYPE=disk", "DISKSEQ=12", "SEQNUM=4711")
	cases := []struct {
		name    string
		in      []byte
		want    uevent
		wantErr string
	}{
		{
			name: "usb disk added",
			in:   usbDisk,
			want: uevent{Action: "add", DevPath: "/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb",
				Subsystem: "block", DevType: "disk", DevName: "sdb"},
		},
		{
			name: "usb device removed",
			in: msg("remove@/devices/pci0000:00/0000:00:14.0/usb2/2-1", "ACTION=remove", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb2/2-1",
				"SUBSYSTEM=usb", "DEVNAME=bus/usb/002/003", "DEVTYPE=usb_device", "PRODUCT=951/1666/110", "TYPE=0/0/0", "BUSNUM=002", "DEVNUM=003"),
			want: uevent{Action: "remove", DevPath: "/devices/pci0000:00/0000:00:14.0/usb2/2-1", Subsystem: "usb", DevType: "usb_device", DevName: "bus/usb/002/003"},
		},
		{
			name: "synthetic add of a loop device",
			in: msg("add@/devices/virtual/block/loop0", "ACTION=add", "DEVPATH=/devices/virtual/block/loop0", "SUBSYSTEM=block",
				"SYNTH_UUID=0", "MAJOR=7", "MINOR=0", "DEVNAME=loop0", "DEVTYPE=disk", "DISKSEQ=9", "SEQNUM=3"),
			want: uevent{Action: "add", DevPath: "/devices/virtual/block/loop0", Subsystem: "block", DevType: "disk", DevName: "loop0"},
		},
		{name: "udev's forwarded format", in: []byte("libudev\x00\xfe\xed\xca\xfe"), wantErr: "action@devpath"},
		{name: "empty", in: nil, wantErr: "action@devpath"},
		{name: "header only", in: []byte("add@/devices/x"), wantErr: "no ACTION"},
		{name: "action mismatch", in: msg("add@/devices/x", "ACTION=remove", "DEVPATH=/devices/x", "SUBSYSTEM=block"), wantErr: "differs from header"},
		{name: "devpath mismatch", in: msg("add@/devices/x", "ACTION=add", "DEVPATH=/devices/y", "SUBSYSTEM=block"), wantErr: "differs from header"},
		{name: "relative devpath", in: msg("add@devices/x", "ACTION=add", "DEVPATH=devices/x", "SUBSYSTEM=block"), wantErr: "not absolute"},
		{name: "devpath escapes sysfs", in: msg("add@/devices/../../etc", "ACTION=add", "DEVPATH=/devices/../../etc", "SUBSYSTEM=block"), wantErr: "climbs out"},
		{name: "devname escapes /dev", in: msg("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block", "DEVNAME=../etc/shadow"), wantErr: "climbs out"},
		{name: "no subsystem", in: msg("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x"), wantErr: "no SUBSYSTEM"},
		{name: "pair without =", in: msg("add@/devices/x", "ACTION=add", "garbage"), wantErr: "not KEY=VALUE"},
		{name: "too long", in: append(msg("add@/devices/x", "ACTION=add"), make([]byte, maxUevent)...), wantErr: "bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseUevent(tc.in)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, errUevent)
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			env := got.Env
			got.Env = nil
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.want.Action, env["ACTION"])
		})
	}
	u, err := parseUevent(usbDisk)
	require.NoError(t, err)
	require.Equal(t, "4711", u.Env["SEQNUM"])
}

func FuzzParseUevent(f *testing.F) {
	f.Add(msg("add@/devices/virtual/block/loop0", "ACTION=add", "DEVPATH=/devices/virtual/block/loop0", "SUBSYSTEM=block", "DEVNAME=loop0", "DEVTYPE=disk"))
	f.Add(msg("remove@/devices/pci0000:00/usb2/2-1", "ACTION=remove", "DEVPATH=/devices/pci0000:00/usb2/2-1", "SUBSYSTEM=usb", "PRODUCT=951/1666/110"))
	f.Add([]byte("libudev\x00\xfe\xed\xca\xfe"))
	f.Add([]byte("@\x00=\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := parseUevent(data)
		if err != nil {
			require.ErrorIs(t, err, errUevent)
			return
		}
		require.NotEmpty(t, u.Action)
		require.NotEmpty(t, u.Subsystem)
		require.True(t, strings.HasPrefix(u.DevPath, "/"))
		require.False(t, climbs(u.DevPath), u.DevPath)
		require.False(t, climbs(u.DevName), u.DevName)
	})
}
