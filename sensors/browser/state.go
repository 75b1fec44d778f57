package browser

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Cursor is how far one database has been read. Times are in the
// database's own units (Chromium: microseconds since 1601; Firefox:
// microseconds since 1970).
type Cursor struct {
	// VisitID is the highest visit id read.
	VisitID int64 `json:"visit_id"`
	// VisitTime is the latest visit time read. A visit with an id at or
	// below VisitID but a later time is new too: the browser reused the
	// id of a deleted visit.
	VisitTime int64 `json:"visit_time"`
	// DownloadKey is the latest time key of the downloads read (Chromium:
	// end time, else start time; Firefox: the metadata annotation's last
	// modification).
	DownloadKey int64 `json:"download_key"`
	// DownloadID breaks ties between downloads with the same key.
	DownloadID int64 `json:"download_id"`
}

// savedState is what the sensor keeps in its data directory.
type savedState struct {
	// Cursors maps a database path to its cursor.
	Cursors map[string]Cursor `json:"cursors"`
}

func statePath(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, Name+".state.json")
}

// loadState reads the saved cursors; a missing file is an empty state.
func loadState(path string) (savedState, error) {
	st := savedState{Cursors: map[string]Cursor{}}
	if path == "" {
		return st, nil
	}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read state %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return savedState{Cursors: map[string]Cursor{}}, fmt.Errorf("decode state %s: %w", path, err)
	}
	if st.Cursors == nil {
		st.Cursors = map[string]Cursor{}
	}
	return st, nil
}

// saveState writes the cursors atomically (write, then rename).
func saveState(path string, st savedState) error {
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
