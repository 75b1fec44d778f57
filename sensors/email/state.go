package email

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// savedState is what the sensor keeps in its data directory so that a
// restarted agent neither reports a message twice nor misses one sent while
// it was down.
type savedState struct {
	Postfix *tailState `json:"postfix,omitempty"`
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

func statePath(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, Name+".state.json")
}

func loadState(path string) *savedState {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var st savedState
	if json.Unmarshal(data, &st) != nil {
		return nil
	}
	return &st
}

func saveState(path string, st *savedState) error {
	if path == "" {
		return nil
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write state %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save state %s: %w", path, err)
	}
	return nil
}
