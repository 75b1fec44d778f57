package removable

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassifier(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IncludeDevices = []string{"loop7", "mmcblk*"}
	cfg.ExcludeDevices = []string{"sdc*"}
	cfg.IncludeMounts = []string{"/srv/usb/*"}
	c := newClassifier(&cfg)

	usb := &blockInfo{Name: "sdb1", Disk: "sdb", Bus: "usb"}
	flagged := &blockInfo{Name: "sdd1", Disk: "sdd", Bus: "scsi", Removable: true}
	internal := &blockInfo{Name: "nvme0n1p2", Disk: "nvme0n1", Bus: "nvme"}
	loop7 := &blockInfo{Name: "loop7", Disk: "loop7", Bus: "virtual"}
	loop3 := &blockInfo{Name: "loop3", Disk: "loop3", Bus: "virtual"}
	sdCard := &blockInfo{Name: "mmcblk0p1", Disk: "mmcblk0", Bus: "mmc"}
	excludedUSB := &blockInfo{Name: "sdc1", Disk: "sdc", Bus: "usb", Removable: true}

	cases := []struct {
		name string
		m    mount
		b    *blockInfo
		want bool
	}{
		{"usb stick anywhere", mount{MountPoint: "/mnt/x"}, usb, true},
		{"kernel removable flag", mount{MountPoint: "/data"}, flagged, true},
		{"internal disk", mount{MountPoint: "/home"}, internal, false},
		{"internal disk under /media", mount{MountPoint: "/media/jdoe/DATA"}, internal, true},
		{"not a prefix match on a sibling", mount{MountPoint: "/mediafiles/x"}, internal, false},
		{"included loop device", mount{MountPoint: "/tmp/t/mnt"}, loop7, true},
		{"other loop device (snap)", mount{MountPoint: "/snap/core/1"}, loop3, false},
		{"included by glob", mount{MountPoint: "/boot/efi"}, sdCard, true},
		{"excluded wins over usb", mount{MountPoint: "/media/jdoe/X"}, excludedUSB, false},
		{"include_mounts without a device", mount{MountPoint: "/srv/usb/phone", FSType: "fuse"}, nil, true},
		{"tmpfs under /media", mount{MountPoint: "/media/tmp", FSType: "tmpfs"}, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, c.mount(&tc.m, tc.b))
		})
	}
	require.True(t, c.device(usb))
	require.False(t, c.device(internal))
	require.False(t, c.device(excludedUSB))
	require.False(t, c.device(nil))
}

func TestMountUser(t *testing.T) {
	for mp, want := range map[string]string{
		"/media/jdoe/KINGSTON":     "jdoe",
		"/run/media/anna/SD CARD":  "anna",
		"/media/cdrom":             "",
		"/mnt/usb":                 "",
		"/media/jdoe/KINGSTON/sub": "jdoe",
	} {
		require.Equal(t, want, mountUser(mp), mp)
	}
}

func TestUnderMount(t *testing.T) {
	require.True(t, underMount("/media/a/f", "/media/a"))
	require.True(t, underMount("/media/a", "/media/a"))
	require.False(t, underMount("/media/ab/f", "/media/a"))
	require.True(t, underMount("/x", "/"))
}
