package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/netconn"
)

// readOnce builds a sensor for cfg and reads every database it finds once,
// in the test's goroutine.
func readOnce(t testing.TB, s *Sensor, c *collector) {
	t.Helper()
	if len(s.dbs) == 0 {
		s.rescan(nil)
	}
	for _, tr := range s.dbs {
		schedule(tr, s.now())
	}
	s.readDue(context.Background(), c.emit)
}

func newTestSensor(t testing.TB, cfg Config, dataDir string) *Sensor {
	t.Helper()
	require.NoError(t, cfg.Validate())
	require.NoError(t, os.MkdirAll(cfg.TempDir, 0o700))
	return New(cfg, sensors.Env{DataDir: dataDir})
}

func urls(evs []event.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Event.Action+" "+e.URL.Full)
	}
	return out
}

func TestReadOptions(t *testing.T) {
	tests := []struct {
		name   string
		config func(*Config)
		want   []string
		check  func(*testing.T, []event.Event)
	}{
		{
			name: "defaults: classified visits, every download, no queries",
			want: []string{
				"web-visit https://drive.google.com/drive/my-drive",
				"web-download https://example.org/tool.tar.gz",
			},
			check: func(t *testing.T, evs []event.Event) {
				require.Equal(t, "Meine Ablage - Google Drive", evs[0].Labels["title"])
				require.Equal(t, "google-drive", evs[0].Destination.CloudProvider)
				require.Empty(t, evs[1].Destination.Category)
				require.Equal(t, "example.org", evs[1].Destination.Domain)
			},
		},
		{
			name: "all visits, queries kept, no titles",
			config: func(c *Config) {
				c.IncludeCategories = []string{IncludeAll}
				c.IncludeQuery = true
				c.IncludeTitles = false
			},
			want: []string{
				"web-visit https://www.example.com/search?q=salaries+2026",
				"web-visit https://drive.google.com/drive/my-drive?usp=sharing",
				"web-download https://example.org/tool.tar.gz?v=2",
			},
			check: func(t *testing.T, evs []event.Event) {
				require.Equal(t, "q=salaries+2026", evs[0].URL.Query)
				for _, e := range evs {
					require.NotContains(t, e.Labels, "title")
				}
			},
		},
		{
			name:   "one category, no downloads",
			config: func(c *Config) { c.IncludeCategories = []string{"webmail"}; c.Downloads = false },
		},
		{
			name: "organisation's own domains added to the list",
			config: func(c *Config) {
				c.IncludeCategories = []string{"file-sharing"}
				c.Downloads = false
				c.Domains = []netconn.Domain{{Domain: "example.com", Category: "file-sharing", Provider: "acme-share"}}
			},
			want: []string{"web-visit https://www.example.com/search"},
			check: func(t *testing.T, evs []event.Event) {
				require.Equal(t, "acme-share", evs[0].Destination.CloudProvider)
			},
		},
		{
			name:   "nothing before the backfill window",
			config: func(c *Config) { c.Backfill = time.Minute },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			h := newChromiumHistory(t, filepath.Join(root, "home", "dana", ".config", "chromium", "Profile 1", "History"))
			at := time.Now().Add(-30 * time.Minute)
			h.chromiumVisit("https://www.example.com/search?q=salaries+2026", "salaries 2026 - Search", at, 1)
			h.chromiumVisit("https://drive.google.com/drive/my-drive?usp=sharing", "Meine Ablage - Google Drive", at.Add(time.Second), 0)
			h.chromiumDownload(chromiumDownload{ID: 7, Target: "/home/dana/Downloads/tool.tar.gz", URL: "https://example.org/tool.tar.gz?v=2",
				Start: at, End: at.Add(2 * time.Second), Received: 10, Total: 10, State: 1, Mime: "application/gzip"})
			cfg := testConfig(root)
			if tt.config != nil {
				tt.config(&cfg)
			}
			s := newTestSensor(t, cfg, t.TempDir())
			c := &collector{}
			readOnce(t, s, c)
			evs := c.events()
			want := tt.want
			if want == nil {
				want = []string{}
			}
			require.Equal(t, want, urls(evs))
			for _, e := range evs {
				require.NoError(t, e.Validate())
				require.Equal(t, "Profile 1", e.Labels["profile"])
			}
			if tt.check != nil {
				tt.check(t, evs)
			}
		})
	}
}

func TestReadPagesThroughLargeHistories(t *testing.T) {
	root := t.TempDir()
	h := newChromiumHistory(t, filepath.Join(root, "home", "erin", ".config", "chromium", "Default", "History"))
	start := time.Now().Add(-10 * time.Minute)
	for i := range 25 {
		h.chromiumVisit(fmt.Sprintf("https://www.dropbox.com/s/%02d", i), "", start.Add(time.Duration(i)*time.Second), 0)
	}
	cfg := testConfig(root)
	cfg.MaxRowsPerPoll = 10
	s := newTestSensor(t, cfg, t.TempDir())
	c := &collector{}
	readOnce(t, s, c)
	require.Len(t, c.events(), 10)
	for _, tr := range s.dbs {
		require.True(t, tr.more, "a full page leaves the database due again")
		require.False(t, tr.due.IsZero())
	}
	readOnce(t, s, c)
	readOnce(t, s, c)
	evs := c.events()
	require.Len(t, evs, 25)
	for i, e := range evs {
		require.Equal(t, fmt.Sprintf("https://www.dropbox.com/s/%02d", i), e.URL.Full)
	}
	readOnce(t, s, c) // unchanged: not even copied
	require.Len(t, c.events(), 25)
}

// A visit deleted by the user ("clear the last hour") frees the highest ids;
// Firefox's next visits reuse them. Their later times make them new.
func TestFirefoxReusedVisitIDs(t *testing.T) {
	root := t.TempDir()
	h := newFirefoxPlaces(t, filepath.Join(root, "home", "finn", ".mozilla", "firefox", "a.default", "places.sqlite"))
	cfg := testConfig(root)
	cfg.IncludeCategories = []string{IncludeAll}
	s := newTestSensor(t, cfg, t.TempDir())
	c := &collector{}
	h.firefoxVisit("https://one.example/", "", time.Now().Add(-3*time.Minute), 1)
	id := h.firefoxVisit("https://two.example/", "", time.Now().Add(-2*time.Minute), 1)
	readOnce(t, s, c)
	require.Equal(t, []string{"web-visit https://one.example/", "web-visit https://two.example/"}, urls(c.events()))

	h.exec(`DELETE FROM moz_historyvisits WHERE id = ?`, id)
	again := h.firefoxVisit("https://three.example/", "", time.Now(), 2)
	require.Equal(t, id, again, "SQLite reuses the highest rowid")
	readOnce(t, s, c)
	require.Equal(t, []string{"web-visit https://one.example/", "web-visit https://two.example/", "web-visit https://three.example/"}, urls(c.events()))
	require.Equal(t, "typed", c.events()[2].Labels["transition"])
}

// A copy taken in the middle of a write transaction has a hot rollback
// journal: the sensor opens its copy for writing so SQLite rolls the
// unfinished transaction back there, and reads the last committed state.
func TestHotJournalIsRolledBackInTheCopy(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "home", "gus", ".config", "chromium", "Default", "History")
	h := newChromiumHistory(t, path)
	h.chromiumVisit("https://www.dropbox.com/committed", "", time.Now(), 0)
	h.exec(`PRAGMA cache_size = 1`) // spill to the database file before commit

	ctx := context.Background()
	conn, err := h.db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `BEGIN`)
	require.NoError(t, err)
	for i := range 200 {
		_, err = conn.ExecContext(ctx, `INSERT INTO urls (url, title, last_visit_time) VALUES (?, ?, 1)`,
			fmt.Sprintf("https://www.dropbox.com/uncommitted/%d", i), string(make([]byte, 500)))
		require.NoError(t, err)
	}
	_, err = conn.ExecContext(ctx, `INSERT INTO visits (url, visit_time) SELECT id, ? FROM urls WHERE url LIKE '%uncommitted%'`, ToChromeTime(time.Now()))
	require.NoError(t, err)

	snap, err := takeSnapshot(path, t.TempDir())
	require.NoError(t, err)
	require.NoError(t, snap.Remove())
	require.True(t, snap.HotJournal, "the transaction spilled into the journal")

	s := newTestSensor(t, testConfig(root), t.TempDir())
	c := &collector{}
	readOnce(t, s, c)
	require.Equal(t, []string{"web-visit https://www.dropbox.com/committed"}, urls(c.events()))

	_, err = conn.ExecContext(ctx, `COMMIT`)
	require.NoError(t, err)
	readOnce(t, s, c)
	require.Len(t, c.events(), 201)
}

func TestDatabaseGoneAndBack(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "home", "hal", ".config", "BraveSoftware", "Brave-Browser", "Default")
	path := filepath.Join(dir, "History")
	h := newChromiumHistory(t, path)
	h.chromiumVisit("https://mega.nz/file/x", "", time.Now(), 0)
	s := newTestSensor(t, testConfig(root), t.TempDir())
	c := &collector{}
	readOnce(t, s, c)
	require.Equal(t, []string{"web-visit https://mega.nz/file/x"}, urls(c.events()))
	require.Equal(t, "brave", c.events()[0].Process.Name)

	require.NoError(t, h.db.Close())
	require.NoError(t, os.RemoveAll(dir))
	s.rescan(nil)
	require.Empty(t, s.dbs)
	readOnce(t, s, c)
	require.Equal(t, sensors.StateOK, s.Health().State)

	// A new profile at the same place: its visits are read from the saved
	// cursor's time on (the ids restarted).
	h2 := newChromiumHistory(t, path)
	h2.chromiumVisit("https://mega.nz/file/y", "", time.Now(), 0)
	readOnce(t, s, c)
	require.Equal(t, []string{"web-visit https://mega.nz/file/x", "web-visit https://mega.nz/file/y"}, urls(c.events()))
}

func TestUnreadableDatabaseDegradesHealth(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "home", "ida", ".mozilla", "firefox", "p.default", "places.sqlite")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte("not a database, just text that is long enough to look like a header"), 0o600))
	s := newTestSensor(t, testConfig(root), t.TempDir())
	c := &collector{}
	readOnce(t, s, c)
	h := s.Health()
	require.Equal(t, sensors.StateDegraded, h.State)
	require.Contains(t, h.Message, "1 failed")
	require.Equal(t, uint64(1), h.Errors)
	require.Empty(t, c.events())
	entries, err := os.ReadDir(filepath.Join(root, "tmp"))
	require.NoError(t, err)
	require.Empty(t, entries, "the copy of a failed read is removed")
}

// The poll fallback reads a database again only when its signature says it
// changed, or when it was written too close to the copy to tell.
func TestPollFallbackDetectsChanges(t *testing.T) {
	root := t.TempDir()
	h := newChromiumHistory(t, filepath.Join(root, "home", "jan", ".config", "chromium", "Default", "History"))
	s := newTestSensor(t, testConfig(root), t.TempDir())
	c := &collector{}
	readOnce(t, s, c)
	require.Len(t, s.dbs, 1)
	var tr *tracked
	for _, v := range s.dbs {
		tr = v
	}
	require.True(t, tr.read)
	require.True(t, tr.due.IsZero())

	tr.readAt = time.Now().Add(time.Hour) // long after the last write
	s.checkChanged()
	require.True(t, tr.due.IsZero(), "an unchanged database is not read again")

	tr.readAt = time.Unix(0, tr.sig.Main.MTime) // copied in the same tick as a write
	s.checkChanged()
	require.False(t, tr.due.IsZero(), "a write in the copy's tick may be hidden")
	tr.due = time.Time{}

	tr.readAt = time.Now().Add(time.Hour)
	h.chromiumVisit("https://www.box.com/s/x", "", time.Now(), 0)
	s.checkChanged()
	require.False(t, tr.due.IsZero(), "a written database is read again")
	s.readDue(context.Background(), c.emit)
	require.Equal(t, []string{"web-visit https://www.box.com/s/x"}, urls(c.events()))
}
