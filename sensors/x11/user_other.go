//go:build !linux

package x11

import "github.com/vigil-itm/vigil/event"

// ProcessUser returns nil: process owners are read from /proc on Linux only.
func ProcessUser(int) *event.User { return nil }
