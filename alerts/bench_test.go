package alerts

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-itm/vigil/event"
)

func BenchmarkRender(b *testing.B) {
	a := trickyAlert()
	for _, f := range []Format{FormatCEF, FormatLEEF, FormatJSON, FormatOCSF} {
		b.Run("format="+string(f), func(b *testing.B) {
			r, err := NewRenderer(f, RenderOptions{Version: "1.0.0"})
			if err != nil {
				b.Fatal(err)
			}
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				buf, err = r.Append(buf[:0], a)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

// BenchmarkDispatch measures alerts dispatched and delivered per second to
// file sinks, with the queue in memory or on disk.
func BenchmarkDispatch(b *testing.B) {
	for _, sinks := range []int{1, 4} {
		for _, persist := range []bool{false, true} {
			b.Run(fmt.Sprintf("sinks=%d/persist=%t", sinks, persist), func(b *testing.B) {
				dir := b.TempDir()
				cfg := Config{Hostname: "bench"}
				if persist {
					cfg.StateDir = filepath.Join(dir, "state")
				}
				for i := range sinks {
					cfg.Outputs = append(cfg.Outputs, SinkConfig{Name: fmt.Sprint("s", i), Type: TypeFile, Format: FormatCEF,
						Queue: QueueConfig{Size: 1 << 20}, File: &FileConfig{Path: filepath.Join(dir, fmt.Sprint(i, ".log")), MaxBytes: 1 << 40}})
				}
				d, err := New(cfg, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- d.Run(ctx) }()
				a := trickyAlert()
				n := 0
				start := time.Now()
				b.ReportAllocs()
				for b.Loop() {
					d.Enqueue(a)
					n++
				}
				for {
					left := 0
					for _, s := range d.Sinks() {
						left += s.Queued
					}
					if left == 0 {
						break
					}
					time.Sleep(time.Millisecond)
				}
				took := time.Since(start)
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				// ns/op is the cost of Enqueue alone; deliveries/s counts
				// until every sink has written every alert.
				b.ReportMetric(float64(n*sinks)/took.Seconds(), "deliveries/s")
			})
		}
	}
}

// BenchmarkExportEvents measures events exported per second through the
// event stream to a file sink, batches of 100 events (an agent upload) as
// the server hands them over: ns/op is the cost of one ExportEvents call
// (rendering and queueing), events/s counts until the file holds every
// event.
func BenchmarkExportEvents(b *testing.B) {
	actions := []string{event.ActionFileCopiedToRemovable, event.ActionProcessStarted, event.ActionConnectionOpened, event.ActionEmailSent, event.ActionClipboardCopy}
	batch := make([]*event.Event, 100)
	for i := range batch {
		batch[i] = streamEvent(i, actions[i%len(actions)])
	}
	for _, format := range []Format{FormatOCSF, FormatJSON} {
		for _, persist := range []bool{false, true} {
			b.Run(fmt.Sprintf("format=%s/persist=%t", format, persist), func(b *testing.B) {
				dir := b.TempDir()
				cfg := Config{Hostname: "bench", Version: "bench"}
				if persist {
					cfg.StateDir = filepath.Join(dir, "state")
				}
				cfg.Outputs = []SinkConfig{{Name: "lake", Type: TypeFile, Stream: StreamEvents, Format: format,
					Events: &EventStreamConfig{QueueSize: 10000000}, File: &FileConfig{Path: filepath.Join(dir, "events.jsonl"), MaxBytes: 1 << 40}}}
				d, err := New(cfg, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- d.Run(ctx) }()
				n := 0
				start := time.Now()
				b.ReportAllocs()
				for b.Loop() {
					d.ExportEvents(batch)
					n += len(batch)
				}
				for d.Sinks()[0].EventsQueued > 0 {
					time.Sleep(time.Millisecond)
				}
				took := time.Since(start)
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				if dropped := d.Sinks()[0].EventsDropped; dropped > 0 {
					b.Fatalf("%d events dropped", dropped)
				}
				b.ReportMetric(float64(n)/took.Seconds(), "events/s")
			})
		}
	}
}
