//go:build !unix

package cloudsync

import "os"

// ownerID returns "": file owners are not read on this OS.
func ownerID(os.FileInfo) string { return "" }
