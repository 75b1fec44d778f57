package evidence

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrUnsafeZip is returned (wrapped) for a zip archive that could write
// outside its target, hide a link, or exceed the size limits.
var ErrUnsafeZip = errors.New("unsafe zip archive")

// ZipLimits bound what a zip archive may hold when it is read.
type ZipLimits struct {
	// MaxFiles is the largest number of entries.
	MaxFiles int
	// MaxFileBytes is the largest uncompressed size of one entry.
	MaxFileBytes int64
	// MaxTotalBytes is the largest uncompressed size of all entries.
	MaxTotalBytes int64
}

// DefaultZipLimits are the limits used when none are given.
var DefaultZipLimits = ZipLimits{MaxFiles: maxPackageEntries, MaxFileBytes: 2 << 30, MaxTotalBytes: 8 << 30}

func (l ZipLimits) orDefault() ZipLimits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultZipLimits.MaxFiles
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultZipLimits.MaxFileBytes
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = DefaultZipLimits.MaxTotalBytes
	}
	return l
}

// Zip writes the package in dir to w as a zip archive whose entries sit
// under one folder named after dir (the alert id). Entries are written in
// path order with the manifest's creation time, so the same package always
// gives the same archive; JPEG and PNG files are stored, others deflated.
func Zip(dir string, w io.Writer) error {
	files, err := listDir(dir)
	if err != nil {
		return fmt.Errorf("zip evidence package %s: %w", dir, err)
	}
	mod := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if data, err := os.ReadFile(filepath.Join(dir, ManifestFile)); err == nil {
		if m, err := ParseManifest(data); err == nil {
			mod = m.CreatedAt
		}
	}
	top := filepath.Base(filepath.Clean(dir))
	zw := zip.NewWriter(w)
	for _, name := range files {
		method := zip.Deflate
		if strings.HasSuffix(name, ".jpg") || strings.HasSuffix(name, ".png") || strings.HasSuffix(name, ".mp4") {
			method = zip.Store
		}
		hdr := &zip.FileHeader{Name: top + "/" + name, Method: method, Modified: mod}
		hdr.SetMode(0o644)
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return fmt.Errorf("zip evidence package %s: %s: %w", dir, name, err)
		}
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return fmt.Errorf("zip evidence package %s: %w", dir, err)
		}
		_, err = io.Copy(fw, f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("zip evidence package %s: %s: %w", dir, name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip evidence package %s: %w", dir, err)
	}
	return nil
}

// listDir returns every regular file under dir as slash paths, sorted. A
// symbolic link or any other special file is an error.
func listDir(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s is not a regular file (%s)", rel, d.Type())
		}
		out = append(out, rel)
		if len(out) > maxPackageEntries {
			return fmt.Errorf("more than %d files", maxPackageEntries)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// zipPackage is a zip archive checked by openZip.
type zipPackage struct {
	files  map[string]*zip.File
	prefix string
}

// openZip checks every entry of a zip archive against the limits and the
// path rules (no absolute paths, no "..", no backslashes, no links, no
// duplicates) and finds the package in it: at the root, or in the one
// folder that holds manifest.json.
func openZip(r io.ReaderAt, size int64, lim ZipLimits) (*zipPackage, error) {
	lim = lim.orDefault()
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("read zip: %w", err)
	}
	if len(zr.File) > lim.MaxFiles {
		return nil, fmt.Errorf("%w: %d entries, more than %d", ErrUnsafeZip, len(zr.File), lim.MaxFiles)
	}
	files := make(map[string]*zip.File, len(zr.File))
	var total uint64
	for _, f := range zr.File {
		name := f.Name
		if f.FileInfo().IsDir() && strings.HasSuffix(name, "/") {
			if err := checkMemberPath(strings.TrimSuffix(name, "/")); err != nil {
				return nil, fmt.Errorf("%w: entry %q: %w", ErrUnsafeZip, name, err)
			}
			continue
		}
		if err := checkMemberPath(name); err != nil {
			return nil, fmt.Errorf("%w: entry %q: %w", ErrUnsafeZip, name, err)
		}
		if !f.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: entry %q is not a regular file (%s)", ErrUnsafeZip, name, f.Mode().Type())
		}
		if f.UncompressedSize64 > uint64(lim.MaxFileBytes) {
			return nil, fmt.Errorf("%w: entry %q is %d bytes, more than %d", ErrUnsafeZip, name, f.UncompressedSize64, lim.MaxFileBytes)
		}
		total += f.UncompressedSize64
		if total > uint64(lim.MaxTotalBytes) {
			return nil, fmt.Errorf("%w: more than %d bytes uncompressed", ErrUnsafeZip, lim.MaxTotalBytes)
		}
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("%w: entry %q appears twice", ErrUnsafeZip, name)
		}
		files[name] = f
	}
	zp := &zipPackage{files: files}
	if _, ok := files[ManifestFile]; ok {
		return zp, nil
	}
	var tops []string
	for name := range files {
		if path.Base(name) == ManifestFile && strings.Count(name, "/") == 1 {
			tops = append(tops, path.Dir(name))
		}
	}
	if len(tops) != 1 {
		return nil, fmt.Errorf("read zip: want manifest.json at the root or in exactly one top folder, found %d", len(tops))
	}
	zp.prefix = tops[0] + "/"
	for name := range files {
		if !strings.HasPrefix(name, zp.prefix) {
			return nil, fmt.Errorf("%w: entry %q is outside the package folder %s", ErrUnsafeZip, name, tops[0])
		}
	}
	return zp, nil
}

// names returns the package's file names, relative to the package root.
func (z *zipPackage) names() []string {
	out := make([]string, 0, len(z.files))
	for name := range z.files {
		out = append(out, strings.TrimPrefix(name, z.prefix))
	}
	sort.Strings(out)
	return out
}

// open opens one file of the package; reading past its declared size is
// an error.
func (z *zipPackage) open(name string) (io.ReadCloser, error) {
	f, ok := z.files[z.prefix+name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	return &limitedReadCloser{r: io.LimitReader(rc, int64(f.UncompressedSize64)+1), c: rc, max: int64(f.UncompressedSize64), name: name}, nil
}

// limitedReadCloser fails when an entry holds more than it declares, which
// is how a zip bomb lies about its size.
type limitedReadCloser struct {
	r    io.Reader
	c    io.Closer
	n    int64
	max  int64
	name string
}

func (l *limitedReadCloser) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, fmt.Errorf("%w: entry %q holds more than its declared %d bytes", ErrUnsafeZip, l.name, l.max)
	}
	return n, err
}

func (l *limitedReadCloser) Close() error { return l.c.Close() }

// Unzip extracts a package archive into dst, which must not exist yet.
// Every entry is checked first (see ZipLimits and the path rules), and
// nothing is written when one fails. It returns the package directory.
func Unzip(zipPath, dst string, lim ZipLimits) (string, error) {
	f, err := os.Open(zipPath)
	if err != nil {
		return "", fmt.Errorf("unzip %s: %w", zipPath, err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("unzip %s: %w", zipPath, err)
	}
	zp, err := openZip(f, st.Size(), lim)
	if err != nil {
		return "", fmt.Errorf("unzip %s: %w", zipPath, err)
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return "", fmt.Errorf("unzip %s: %w", zipPath, err)
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return "", fmt.Errorf("unzip %s: %w", zipPath, err)
	}
	defer func() { _ = root.Close() }()
	for _, name := range zp.names() {
		if err := extractOne(root, zp, name); err != nil {
			return "", fmt.Errorf("unzip %s: %s: %w", zipPath, name, err)
		}
	}
	return dst, nil
}

func extractOne(root *os.Root, zp *zipPackage, name string) error {
	if d := path.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	rc, err := zp.open(name)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }()
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
