package browser

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
)

func TestFirefoxPlacesInWALMode(t *testing.T) {
	root := t.TempDir()
	dataDir := t.TempDir()
	profile := filepath.Join(root, "home", "bob", ".mozilla", "firefox", "k2x8.default-release")
	path := filepath.Join(profile, "places.sqlite")
	h := newFirefoxPlaces(t, path)
	mainSize := fileSize(t, path)

	// No polling: only the file notifications make the sensor read.
	cfg := testConfig(root)
	cfg.PollInterval = time.Hour
	_, c, stop := runSensor(t, cfg, dataDir)
	require.Eventually(t, func() bool {
		st, err := loadState(statePath(dataDir))
		return err == nil && len(st.Cursors) == 1
	}, 20*time.Second, 10*time.Millisecond, "the empty database was never read")

	h.firefoxVisit("https://pastebin.com/raw/Xy12?secret=1", "Pastebin", time.Now(), 1)
	h.firefoxVisit("https://www.example.com/", "Example", time.Now(), 1)
	dest := filepath.Join(root, "home", "bob", "Downloads", "report final.pdf")
	h.firefoxDownload("https://wetransfer.com/downloads/abc/report.pdf", "file://"+escapePath(dest), time.Now(), "")
	// Started, not finished: no metadata yet. Then it finishes.
	paste := c.waitFor(t, event.ActionWebVisit, "https://pastebin.com/raw/Xy12")
	require.Equal(t, "paste", paste.Destination.Category)
	require.Equal(t, "firefox", paste.Process.Name)
	require.Equal(t, "k2x8.default-release", paste.Labels["profile"])
	require.Equal(t, "link", paste.Labels["transition"])
	_, early := c.find(event.ActionWebDownload, "https://wetransfer.com/downloads/abc/report.pdf")
	require.False(t, early, "a download without its metadata is still running")

	end := time.Now().Truncate(time.Millisecond)
	h.firefoxDownload("https://wetransfer.com/downloads/abc/report.pdf", "file://"+escapePath(dest), time.Now(),
		`{"state":1,"deleted":false,"endTime":`+itoa(end.UnixMilli())+`,"fileSize":6900}`)
	dl := c.waitFor(t, event.ActionWebDownload, "https://wetransfer.com/downloads/abc/report.pdf")
	require.Equal(t, "success", dl.Event.Outcome)
	require.Equal(t, dest, dl.File.Path)
	require.Equal(t, "pdf", dl.File.Extension)
	require.Equal(t, int64(6900), dl.File.Size)
	require.Equal(t, "file-sharing", dl.Destination.Category)
	require.True(t, end.Equal(dl.Timestamp), "timestamp %v, want the metadata's end time %v", dl.Timestamp, end)

	// The new rows live only in the write-ahead log: nothing was
	// checkpointed into the database file, and the sensor read them from its
	// copy of the log. It never opened the original (which would have left
	// a -shm file: the browser's exclusive lock keeps its index in memory).
	require.Equal(t, mainSize, fileSize(t, path))
	require.Positive(t, fileSize(t, path+"-wal"))
	_, err := os.Stat(path + "-shm")
	require.ErrorIs(t, err, os.ErrNotExist)

	// A visit of the download URL is reported as a visit only when its
	// domain is classified; example.com is not.
	for _, e := range c.events() {
		require.NotEqual(t, "https://www.example.com/", e.URL.Full)
	}
	stop()
	entries, err := os.ReadDir(filepath.Join(root, "tmp"))
	require.NoError(t, err)
	require.Empty(t, entries, "copies left behind")
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return fi.Size()
}
