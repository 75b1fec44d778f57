//go:build linux || darwin

package printing

import "github.com/vigil-itm/vigil/sensors/internal/logtail"

// savedState is what the sensor keeps in its data directory so that a
// restarted agent continues after the last page_log line it read and never
// reports a job twice. The position's fields sit at the top level of the
// JSON object, beside recent.
type savedState struct {
	logtail.Position
	// Recent are the keys of the jobs most recently reported.
	Recent []string `json:"recent,omitempty"`
}
