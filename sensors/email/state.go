package email

import (
	"time"

	"github.com/vigil-itm/vigil/sensors/internal/logtail"
)

// savedState is what the sensor keeps in its data directory so that a
// restarted agent neither reports a message twice nor misses one sent while
// it was down.
type savedState struct {
	Postfix *logtail.Position `json:"postfix,omitempty"`
	// Mbox maps an mbox path to its identity and read offset.
	Mbox map[string]mboxMark `json:"mbox,omitempty"`
	// Maildir maps a Maildir path to when it was last read: files newer
	// than that are new messages.
	Maildir map[string]time.Time `json:"maildir,omitempty"`
	// Recent are the Message-IDs most recently reported.
	Recent []string `json:"recent,omitempty"`
}

type mboxMark struct {
	FileID uint64 `json:"file_id"`
	Offset int64  `json:"offset"`
}
