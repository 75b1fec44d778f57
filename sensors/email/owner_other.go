//go:build !unix

package email

import "os"

// ownerID returns "": file owners are not read on this OS.
func ownerID(os.FileInfo) string { return "" }

// fileID returns 0: the file's identity is not persisted on this OS.
func fileID(os.FileInfo) uint64 { return 0 }
