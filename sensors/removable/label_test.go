package removable

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/internal/xvfb"
)

// mkfsImage formats a sparse image file with a real mkfs and returns its
// bytes.
func mkfsImage(t *testing.T, sizeMiB int64, cmd string, args ...string) []byte {
	t.Helper()
	xvfb.NeedCommand(t, cmd, map[string]string{"mkfs.vfat": "dosfstools", "mkfs.ext4": "e2fsprogs"}[cmd])
	img := filepath.Join(t.TempDir(), "fs.img")
	f, err := os.Create(img)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(sizeMiB<<20))
	require.NoError(t, f.Close())
	out, err := exec.Command(cmd, append(args, img)...).CombinedOutput()
	require.NoError(t, err, "%s: %s", cmd, out)
	data, err := os.ReadFile(img)
	require.NoError(t, err)
	return data
}

func TestLabelFromMkfs(t *testing.T) {
	cases := []struct {
		name   string
		fsType string
		size   int64
		cmd    string
		args   []string
		want   string
	}{
		{"fat12", "vfat", 4, "mkfs.vfat", []string{"-F", "12", "-n", "VIGILTEST"}, "VIGILTEST"},
		{"fat16", "vfat", 32, "mkfs.vfat", []string{"-F", "16", "-n", "VIGILTEST"}, "VIGILTEST"},
		{"fat32", "vfat", 40, "mkfs.vfat", []string{"-F", "32", "-n", "VIGIL 32"}, "VIGIL 32"},
		{"fat without a label", "vfat", 4, "mkfs.vfat", nil, ""},
		{"ext4", "ext4", 8, "mkfs.ext4", []string{"-q", "-L", "vigil-ext4"}, "vigil-ext4"},
		{"ext4 as ext2", "ext2", 8, "mkfs.ext4", []string{"-q", "-L", "Backups"}, "Backups"},
		{"ext4 without a label", "ext4", 8, "mkfs.ext4", []string{"-q"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := mkfsImage(t, tc.size, tc.cmd, tc.args...)
			got, err := readLabel(bytes.NewReader(img), tc.fsType)
			if tc.want == "" {
				require.ErrorIs(t, err, errNoLabel)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestFATRootEntryWins checks that the root directory's label entry, which
// Windows updates, wins over the boot sector's copy, and that the boot
// sector's copy is used when there is no entry.
func TestFATRootEntryWins(t *testing.T) {
	img := mkfsImage(t, 32, "mkfs.vfat", "-F", "16", "-n", "VIGILTEST")
	name := []byte("VIGILTEST  ")
	boot := bytes.Index(img, name)
	require.Equal(t, 0x2B, boot, "boot sector label offset")
	root := bytes.Index(img[512:], name) + 512
	require.Greater(t, root, 512, "root directory label entry")

	copy(img[boot:], "FROMBOOT   ")
	got, err := readLabel(bytes.NewReader(img), "vfat")
	require.NoError(t, err)
	require.Equal(t, "VIGILTEST", got)

	img[root] = 0xE5 // delete the entry
	got, err = readLabel(bytes.NewReader(img), "vfat")
	require.NoError(t, err)
	require.Equal(t, "FROMBOOT", got)
}

// exfatImage builds the start of an exFAT volume as the exFAT
// specification lays it out (no mkfs.exfat on this machine): a boot sector
// and a root directory whose first entries are the allocation bitmap, the
// up-case table and the volume label.
func exfatImage(label string) []byte {
	const bpsShift, spcShift, heap, rootClus = 9, 3, 64, 4
	img := make([]byte, heap<<bpsShift+(rootClus-1)<<(bpsShift+spcShift))
	copy(img[3:], "EXFAT   ")
	le := binary.LittleEndian
	le.PutUint32(img[88:], heap)
	le.PutUint32(img[96:], rootClus)
	img[108], img[109] = bpsShift, spcShift
	img[510], img[511] = 0x55, 0xAA
	dir := img[heap<<bpsShift+(rootClus-2)<<(bpsShift+spcShift):]
	dir[0] = 0x81
	dir[32] = 0x82
	u := utf16.Encode([]rune(label))
	dir[64] = 0x83
	dir[65] = byte(len(u))
	for i, c := range u {
		le.PutUint16(dir[66+2*i:], c)
	}
	return img
}

func isoImage(volumeID string) []byte {
	img := make([]byte, 17*2048)
	pvd := img[16*2048:]
	pvd[0] = 1
	copy(pvd[1:], "CD001")
	pvd[6] = 1
	copy(pvd[40:72], bytes.Repeat([]byte{' '}, 32))
	copy(pvd[40:], volumeID)
	return img
}

func TestLabelSynthetic(t *testing.T) {
	cases := []struct {
		name    string
		img     []byte
		fsType  string
		want    string
		wantErr error
	}{
		{"exfat", exfatImage("USB-Stick Ü"), "exfat", "USB-Stick Ü", nil},
		{"exfat label capped at 11 characters", exfatImage("ABCDEFGHIJKLMNO"), "exfat", "ABCDEFGHIJK", nil},
		{"exfat without a label", exfatImage(""), "exfat", "", errNoLabel},
		{"iso9660", isoImage("VIGIL_ISO"), "iso9660", "VIGIL_ISO", nil},
		{"exfat signature missing", make([]byte, 4096), "exfat", "", errNoLabel},
		{"fat signature missing", make([]byte, 4096), "vfat", "", errNoLabel},
		{"ext magic missing", make([]byte, 4096), "ext4", "", errNoLabel},
		{"iso descriptor missing", make([]byte, 40000), "iso9660", "", errNoLabel},
		{"unsupported type", make([]byte, 4096), "ntfs", "", errNoLabel},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readLabel(bytes.NewReader(tc.img), tc.fsType)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	// A truncated device is an error, not a panic.
	_, err := readLabel(bytes.NewReader(make([]byte, 100)), "vfat")
	require.Error(t, err)
}

func TestPrintable(t *testing.T) {
	require.Equal(t, "a\uFFFDb", printable("a\x01b"))
	require.Equal(t, "\uFFFD", printable("\xff"))
	require.Equal(t, "Ünïcode", printable(" Ünïcode "))
	require.Empty(t, cleanFATName([]byte("NO NAME    ")))
}

func FuzzReadLabel(f *testing.F) {
	f.Add(exfatImage("USB"), uint8(1))
	f.Add(isoImage("CD"), uint8(3))
	fat := make([]byte, 1024)
	copy(fat[0x2B:], "VIGILTEST  ")
	fat[0x26], fat[510], fat[511] = 0x29, 0x55, 0xAA
	binary.LittleEndian.PutUint16(fat[11:], 512)
	fat[13], fat[14], fat[16] = 1, 1, 2
	binary.LittleEndian.PutUint16(fat[17:], 16)
	binary.LittleEndian.PutUint16(fat[22:], 1)
	f.Add(fat, uint8(0))
	ext := make([]byte, 2048)
	binary.LittleEndian.PutUint16(ext[1024+0x38:], 0xEF53)
	copy(ext[1024+0x78:], "label")
	f.Add(ext, uint8(2))
	types := []string{"vfat", "exfat", "ext4", "iso9660"}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		l, err := readLabel(bytes.NewReader(data), types[int(kind)%len(types)])
		if err != nil {
			require.Empty(t, l)
			return
		}
		require.NotEmpty(t, l)
		require.True(t, utf8.ValidString(l))
		for _, r := range l {
			require.False(t, unicode.IsControl(r), "control character in %q", l)
		}
	})
}
