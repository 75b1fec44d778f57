package removable

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMountinfoLine(t *testing.T) {
	cases := []struct {
		name    string
		line    string
		want    mount
		wantErr string
	}{
		{
			name: "proc(5) example",
			line: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
			want: mount{ID: 36, ParentID: 35, Major: 98, Minor: 0, Root: "/mnt1", MountPoint: "/mnt2",
				Options: "rw,noatime", FSType: "ext3", Source: "/dev/root", SuperOptions: "rw,errors=continue"},
		},
		{
			name: "usb stick mounted by udisks with a space in the label",
			line: `412 29 8:17 / /media/jdoe/MY\040STICK rw,nosuid,nodev,relatime shared:221 - vfat /dev/sdb1 rw,fmask=0022,dmask=0022,codepage=437,iocharset=ascii,shortname=mixed,showexec,utf8,flush,errors=remount-ro`,
			want: mount{ID: 412, ParentID: 29, Major: 8, Minor: 17, Root: "/", MountPoint: "/media/jdoe/MY STICK",
				Options: "rw,nosuid,nodev,relatime", FSType: "vfat", Source: "/dev/sdb1",
				SuperOptions: "rw,fmask=0022,dmask=0022,codepage=437,iocharset=ascii,shortname=mixed,showexec,utf8,flush,errors=remount-ro"},
		},
		{
			name: "no optional fields",
			line: "22 1 0:21 / /proc rw,nosuid - proc proc rw",
			want: mount{ID: 22, ParentID: 1, Major: 0, Minor: 21, Root: "/", MountPoint: "/proc", Options: "rw,nosuid", FSType: "proc", Source: "proc", SuperOptions: "rw"},
		},
		{
			name: "several optional fields and escapes for tab, newline and backslash",
			line: `50 22 0:45 / /mnt/a\011b\012c\134d rw shared:3 master:7 propagate_from:2 - fuse.sshfs me@host:/x\040y rw,user_id=0`,
			want: mount{ID: 50, ParentID: 22, Major: 0, Minor: 45, Root: "/", MountPoint: "/mnt/a\tb\nc\\d", Options: "rw",
				FSType: "fuse.sshfs", Source: "me@host:/x y", SuperOptions: "rw,user_id=0"},
		},
		{
			name: "empty super options",
			line: "60 1 7:3 / /mnt/x rw - ext4 /dev/loop3 ",
			want: mount{ID: 60, ParentID: 1, Major: 7, Minor: 3, Root: "/", MountPoint: "/mnt/x", Options: "rw", FSType: "ext4", Source: "/dev/loop3"},
		},
		{name: "too few fields", line: "36 35 98:0 /mnt1", wantErr: "fields before the separator"},
		{name: "no separator", line: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw", wantErr: "separator"},
		{name: "nothing after the separator", line: "36 35 98:0 / /m rw - ext3", wantErr: "after the separator"},
		{name: "bad id", line: "x 35 98:0 / /m rw - ext3 /dev/root rw", wantErr: "mount id"},
		{name: "negative parent", line: "1 -5 98:0 / /m rw - ext3 /dev/root rw", wantErr: "parent id"},
		{name: "bad device", line: "1 2 98 / /m rw - ext3 /dev/root rw", wantErr: "major:minor"},
		{name: "bad minor", line: "1 2 98:z / /m rw - ext3 /dev/root rw", wantErr: "minor"},
		{name: "relative mount point", line: "1 2 8:1 / m rw - ext3 /dev/root rw", wantErr: "not absolute"},
		{name: "empty fs type", line: "1 2 8:1 / /m rw -  /dev/root rw", wantErr: "empty filesystem type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMountinfoLine([]byte(tc.line))
			if tc.wantErr != "" {
				require.ErrorIs(t, err, errMountinfo)
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseMountinfoFile(t *testing.T) {
	ms, err := parseMountinfo([]byte("22 1 0:21 / /proc rw - proc proc rw\n\n23 1 0:22 / /sys rw - sysfs sysfs rw\n"))
	require.NoError(t, err)
	require.Len(t, ms, 2)
	require.Equal(t, "/sys", ms[1].MountPoint)

	_, err = parseMountinfo([]byte("22 1 0:21 / /proc rw - proc proc rw\nbroken\n"))
	require.ErrorContains(t, err, "line 2")

	// The running system's own table parses, and has a root mount.
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skip("no /proc/self/mountinfo on this system")
	}
	ms, err = parseMountinfo(data)
	require.NoError(t, err)
	found := false
	for _, m := range ms {
		found = found || m.MountPoint == "/"
	}
	require.True(t, found, "no / in %d mounts", len(ms))
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:        "plain",
		`a\040b`:       "a b",
		`\134`:         `\`,
		`trail\04`:     `trail\04`,
		`bad\089`:      `bad\089`,
		`high\477`:     `high\477`,
		`\040\040`:     "  ",
		`end\`:         `end\`,
		`x\0401\011y`:  "x 1\ty",
		`\101\102\103`: "ABC",
	} {
		require.Equal(t, want, unescapeMountinfo([]byte(in)), in)
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"))
	f.Add([]byte(`412 29 8:17 / /media/jdoe/MY\040STICK rw shared:221 - vfat /dev/sdb1 rw` + "\n22 1 0:21 / /proc rw - proc proc rw"))
	f.Add([]byte("1 2 3:4 / / - - - - -\n"))
	f.Add([]byte("\\\\\\ - \\0 - -"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := parseMountinfo(data)
		if err != nil {
			require.ErrorIs(t, err, errMountinfo)
			return
		}
		for _, m := range ms {
			require.True(t, strings.HasPrefix(m.MountPoint, "/"), "mount point %q", m.MountPoint)
			require.NotEmpty(t, m.FSType)
			require.GreaterOrEqual(t, m.ID, 0)
		}
	})
}

// syntheticMountinfo is a table the size of a busy desktop's.
func syntheticMountinfo(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d 1 0:%d / /run/user/1000/mnt%d rw,nosuid,nodev,relatime shared:%d - tmpfs tmpfs rw,size=812345k,mode=700,uid=1000,gid=1000\n", i+30, i+40, i, i)
	}
	b.WriteString(`412 29 8:17 / /media/jdoe/MY\040STICK rw,nosuid,nodev,relatime shared:221 - vfat /dev/sdb1 rw,fmask=0022,dmask=0022` + "\n")
	return []byte(b.String())
}

func BenchmarkParseMountinfo(b *testing.B) {
	for _, n := range []int{30, 300} {
		data := syntheticMountinfo(n)
		b.Run(fmt.Sprintf("mounts=%d", n+1), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := parseMountinfo(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
