//go:build !unix

package agent

import "os"

// lockDataDir is a no-op where flock does not exist; run one agent per data
// directory.
func lockDataDir(string) (*os.File, error) { return nil, nil }
