package removable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// errNoLabel says that the filesystem has no label, or that the superblock
// is not one the reader understands.
var errNoLabel = errors.New("no filesystem label")

// maxLabelScan bounds how much of a root directory is read to find a label.
const maxLabelScan = 64 << 10

// readLabel reads the volume label from the superblock of a filesystem of
// type fsType ("vfat", "exfat", "ext4", ...) on r, which is the block device
// (or image) holding it. Only the first sectors (and, for FAT and exFAT, the
// first cluster of the root directory) are read. The contents are untrusted:
// a device can hold anything.
func readLabel(r io.ReaderAt, fsType string) (string, error) {
	switch fsType {
	case "vfat", "msdos", "fat", "umsdos":
		return fatLabel(r)
	case "exfat":
		return exfatLabel(r)
	case "ext2", "ext3", "ext4", "ext4dev":
		return extLabel(r)
	case "iso9660":
		return isoLabel(r)
	}
	return "", fmt.Errorf("%w: filesystem type %q not supported", errNoLabel, fsType)
}

// fatLabel reads a FAT12/16/32 label. The label entry of the root directory
// (what Windows and mlabel change) wins over the copy in the boot sector
// (what mkfs.vfat -n writes too).
func fatLabel(r io.ReaderAt) (string, error) {
	var bs [512]byte
	if _, err := r.ReadAt(bs[:], 0); err != nil {
		return "", fmt.Errorf("read FAT boot sector: %w", err)
	}
	if bs[510] != 0x55 || bs[511] != 0xAA {
		return "", fmt.Errorf("%w: no FAT boot signature", errNoLabel)
	}
	le := binary.LittleEndian
	bytesPerSec := int64(le.Uint16(bs[11:]))
	secPerClus := int64(bs[13])
	reserved := int64(le.Uint16(bs[14:]))
	nFATs := int64(bs[16])
	rootEntries := int64(le.Uint16(bs[17:]))
	fatSz := int64(le.Uint16(bs[22:]))
	fat32 := fatSz == 0
	if fat32 {
		fatSz = int64(le.Uint32(bs[36:]))
	}
	if !validSectorSize(bytesPerSec) || secPerClus == 0 || secPerClus&(secPerClus-1) != 0 || nFATs == 0 || reserved == 0 {
		return "", fmt.Errorf("%w: implausible FAT parameters", errNoLabel)
	}

	var bootLabel string
	sigOff, labelOff := 0x26, 0x2B
	if fat32 {
		sigOff, labelOff = 0x42, 0x47
	}
	if bs[sigOff] == 0x29 {
		bootLabel = cleanFATName(bs[labelOff : labelOff+11])
	}

	// Locate the root directory.
	var off, size int64
	if fat32 {
		rootClus := int64(le.Uint32(bs[44:]))
		if rootClus < 2 {
			return labelOrNone(bootLabel)
		}
		data := (reserved + nFATs*fatSz) * bytesPerSec
		off = data + (rootClus-2)*secPerClus*bytesPerSec
		size = secPerClus * bytesPerSec
	} else {
		off = (reserved + nFATs*fatSz) * bytesPerSec
		size = rootEntries * 32
	}
	size = min(size, maxLabelScan)
	if off <= 0 || size <= 0 {
		return labelOrNone(bootLabel)
	}
	dir := make([]byte, size)
	n, err := r.ReadAt(dir, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return labelOrNone(bootLabel)
	}
	dir = dir[:n-n%32]
	for i := 0; i < len(dir); i += 32 {
		e := dir[i : i+32]
		if e[0] == 0x00 {
			break
		}
		attr := e[11]
		if e[0] == 0xE5 || attr&0x0F == 0x0F {
			continue // deleted entry or long-name fragment
		}
		if attr&0x08 != 0 && attr&0x10 == 0 {
			if l := cleanFATName(e[:11]); l != "" {
				return l, nil
			}
		}
	}
	return labelOrNone(bootLabel)
}

func validSectorSize(n int64) bool {
	return n >= 512 && n <= 4096 && n&(n-1) == 0
}

func labelOrNone(l string) (string, error) {
	if l == "" {
		return "", errNoLabel
	}
	return l, nil
}

// cleanFATName turns an 11-byte, space-padded FAT name into a label. The
// bytes are in the OEM code page; anything outside printable ASCII becomes
// U+FFFD. "NO NAME" is FAT's way of saying there is no label.
func cleanFATName(b []byte) string {
	if b[0] == 0x05 {
		// 0x05 stands for a leading 0xE5 byte.
		b = append([]byte{0xE5}, b[1:]...)
	}
	s := printable(string(bytes.TrimRight(b, " \x00")))
	if s == "NO NAME" {
		return ""
	}
	return s
}

// printable replaces control characters and invalid UTF-8 with U+FFFD and
// trims spaces, so a label can go into an event and a log line.
func printable(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || r > unicode.MaxASCII && !unicode.IsPrint(r) || r < 0x20 || r == 0x7F {
			r = utf8.RuneError
		}
		sb.WriteRune(r)
	}
	return strings.TrimSpace(sb.String())
}

// extLabel reads the volume name of an ext2/3/4 superblock.
func extLabel(r io.ReaderAt) (string, error) {
	var sb [0x88]byte
	if _, err := r.ReadAt(sb[:], 1024); err != nil {
		return "", fmt.Errorf("read ext superblock: %w", err)
	}
	if binary.LittleEndian.Uint16(sb[0x38:]) != 0xEF53 {
		return "", fmt.Errorf("%w: no ext superblock magic", errNoLabel)
	}
	name := sb[0x78:0x88]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return labelOrNone(printable(string(name)))
}

// exfatLabel reads the volume label directory entry (type 0x83) from the
// first cluster of an exFAT root directory.
func exfatLabel(r io.ReaderAt) (string, error) {
	var bs [512]byte
	if _, err := r.ReadAt(bs[:], 0); err != nil {
		return "", fmt.Errorf("read exFAT boot sector: %w", err)
	}
	if string(bs[3:11]) != "EXFAT   " {
		return "", fmt.Errorf("%w: no exFAT signature", errNoLabel)
	}
	le := binary.LittleEndian
	heap := uint64(le.Uint32(bs[88:]))
	rootClus := uint64(le.Uint32(bs[96:]))
	bpsShift, spcShift := uint(bs[108]), uint(bs[109])
	if bpsShift < 9 || bpsShift > 12 || spcShift > 25-bpsShift || rootClus < 2 || heap == 0 {
		return "", fmt.Errorf("%w: implausible exFAT parameters", errNoLabel)
	}
	off := heap<<bpsShift + (rootClus-2)<<(bpsShift+spcShift)
	if off > 1<<62 {
		return "", fmt.Errorf("%w: exFAT root directory out of range", errNoLabel)
	}
	size := min(uint64(1)<<(bpsShift+spcShift), maxLabelScan)
	dir := make([]byte, size)
	n, err := r.ReadAt(dir, int64(off))
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read exFAT root directory: %w", err)
	}
	dir = dir[:n-n%32]
	for i := 0; i < len(dir); i += 32 {
		e := dir[i : i+32]
		switch e[0] {
		case 0x00:
			return "", errNoLabel
		case 0x83:
			count := min(int(e[1]), 11)
			u := make([]uint16, count)
			for j := range count {
				u[j] = le.Uint16(e[2+2*j:])
			}
			return labelOrNone(printable(string(utf16.Decode(u))))
		}
	}
	return "", errNoLabel
}

// isoLabel reads the volume identifier of an ISO 9660 primary volume
// descriptor (CDs, DVDs and their images).
func isoLabel(r io.ReaderAt) (string, error) {
	var pvd [72]byte
	if _, err := r.ReadAt(pvd[:], 16*2048); err != nil {
		return "", fmt.Errorf("read ISO 9660 volume descriptor: %w", err)
	}
	if pvd[0] != 1 || string(pvd[1:6]) != "CD001" {
		return "", fmt.Errorf("%w: no ISO 9660 primary volume descriptor", errNoLabel)
	}
	return labelOrNone(printable(string(bytes.TrimRight(pvd[40:72], " \x00"))))
}
