package browser

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// BenchmarkPoll measures one read of a Chromium History holding 10,000
// visits (a tenth of them to classified domains) and 100 downloads: the
// copy, the open and the queries, and building the events.
func BenchmarkPoll(b *testing.B) {
	root := b.TempDir()
	path := filepath.Join(root, "home", "bench", ".config", "chromium", "Default", "History")
	h := newChromiumHistory(b, path)
	start := time.Now().Add(-24 * time.Hour)
	h.exec(`BEGIN`)
	for i := range 10000 {
		u := fmt.Sprintf("https://www.example.com/page/%d?q=%d", i%2000, i)
		if i%10 == 0 {
			u = fmt.Sprintf("https://www.dropbox.com/s/%d/file.pdf?dl=0", i)
		}
		h.chromiumVisit(u, "Some page title", start.Add(time.Duration(i)*time.Second), 0)
	}
	h.exec(`COMMIT`)
	for i := range 100 {
		h.chromiumDownload(chromiumDownload{ID: int64(i + 1), Target: fmt.Sprintf("/home/bench/Downloads/f%d.zip", i),
			URL: "https://dl.dropboxusercontent.com/x.zip", Start: start, End: start.Add(time.Duration(i) * time.Second),
			Received: 1000, Total: 1000, State: 1, Mime: "application/zip"})
	}
	for _, include := range []string{"all", "classified"} {
		b.Run("rows=10000/include="+include, func(b *testing.B) {
			cfg := testConfig(root)
			cfg.MaxRowsPerPoll = 20000
			cfg.Backfill = 48 * time.Hour
			if include == "all" {
				cfg.IncludeCategories = []string{IncludeAll}
			}
			s := newTestSensor(b, cfg, "")
			s.rescan(nil)
			t := s.dbs[path]
			n := 0
			emit := func(event.Event) { n++ }
			b.ReportAllocs()
			for b.Loop() {
				delete(s.cursors, path)
				t.read = false
				if err := s.readDatabase(context.Background(), t, emit); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/float64(b.N), "events/op")
		})
	}
	b.Run("unchanged", func(b *testing.B) {
		cfg := testConfig(root)
		s := newTestSensor(b, cfg, "")
		s.rescan(nil)
		t := s.dbs[path]
		emit := func(event.Event) {}
		if err := s.readDatabase(context.Background(), t, emit); err != nil {
			b.Fatal(err)
		}
		t.readAt = time.Now().Add(time.Hour) // past the mtime slack
		b.ReportAllocs()
		for b.Loop() {
			if err := s.readDatabase(context.Background(), t, emit); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCleanURL(b *testing.B) {
	raw := "https://user:pw@www.dropbox.com/scl/fi/abc123/Quarterly%20report.xlsx?rlkey=xyz&dl=0#frag"
	b.ReportAllocs()
	for b.Loop() {
		CleanURL(raw, false)
	}
}
