//go:build !unix

package printing

import "os"

// fileID returns 0: the file's identity is not persisted on this OS.
func fileID(os.FileInfo) uint64 { return 0 }
