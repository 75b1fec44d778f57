//go:build !unix

package logtail

import "os"

// FileID returns 0: the file's identity is not persisted on this OS, so
// saved positions are never trusted.
func FileID(os.FileInfo) uint64 { return 0 }
