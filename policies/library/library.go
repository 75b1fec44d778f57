// Package library embeds Vigil's built-in policy bundle (this directory:
// rules, decision policy, data lists and tests) in the binary, so a fresh
// installation has policies from its first start.
package library

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed .manifest rules policy data tests
var files embed.FS

// FS returns the built-in bundle as a read-only file system rooted at the
// bundle directory.
func FS() fs.FS { return files }

// Extract writes the built-in bundle into dir, which must not exist or be
// empty, so it can be loaded, reviewed and edited like any bundle
// directory.
func Extract(dir string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("extract built-in library: %s is not empty", dir)
	}
	return fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return fmt.Errorf("extract built-in library: %w", err)
		}
		return nil
	})
}
