package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
	"github.com/vigil-itm/vigil/store"
)

// benchEvents are event templates; "@ID@" is replaced with a unique id
// and "@TS@" with a time.
var benchEvents = map[string][]string{
	"benign": {
		benign("@ID@", t0),
	},
	// Mixed: what an endpoint sends in a working day, including copies to
	// USB and uploads that the library looks at (but that mostly stay
	// below its thresholds).
	"mixed": {
		benign("@ID@", t0),
		ev("@ID@", "process-started", t0, `"process": {"pid": 4242, "name": "cp", "executable": "/usr/bin/cp", "command_line": "cp a b"}`),
		ev("@ID@", "web-visit", t0, `"url": {"full": "https://intranet.example.com/wiki", "domain": "intranet.example.com"}`),
		ev("@ID@", "window-focused", t0, `"window": {"app": "libreoffice", "title": "q3.ods"}`),
		ev("@ID@", "file-copied-to-removable", t0, `"file": {"path": "/media/jdoe/K/beach.jpg", "name": "beach.jpg", "extension": "jpg", "size": 2048000}, "volume": {"removable": true, "bus_type": "usb"}`),
		ev("@ID@", "clipboard-copy", t0, `"clipboard": {"operation": "copy", "content_length": 120}`),
		ev("@ID@", "email-sent", t0, `"email": {"from": "jdoe@corp.example.com", "to": ["bob@corp.example.com"], "subject": "minutes"}`),
		ev("@ID@", "file-modified", t0, `"file": {"path": "/home/jdoe/q3.ods", "name": "q3.ods", "extension": "ods", "size": 48213}`),
	},
}

// batchWriter writes ingest bodies with fresh event ids from templates.
type batchWriter struct {
	parts [][]string // per template: the text around each @ID@
	buf   bytes.Buffer
}

func newBatchWriter(templates []string) *batchWriter {
	w := &batchWriter{}
	for _, tmpl := range templates {
		w.parts = append(w.parts, strings.Split(tmpl, "@ID@"))
	}
	return w
}

// body returns a batch of n events with ids prefix-0 ... prefix-(n-1).
func (w *batchWriter) body(agent string, seq int64, prefix string, n int) []byte {
	w.buf.Reset()
	fmt.Fprintf(&w.buf, `{"agent_id": %q, "seq": %d, "events": [`, agent, seq)
	for i := range n {
		if i > 0 {
			w.buf.WriteByte(',')
		}
		parts := w.parts[i%len(w.parts)]
		for j, p := range parts {
			if j > 0 {
				w.buf.WriteString(prefix)
				w.buf.WriteByte('-')
				w.buf.WriteString(strconv.Itoa(i))
			}
			w.buf.WriteString(p)
		}
	}
	w.buf.WriteString("]}")
	return w.buf.Bytes()
}

// BenchmarkIngest measures events stored per second through
// POST /api/v1/events over HTTP, in batches, by concurrent clients (each
// an agent with its own sequence), into a SQLite store on disk, with every
// event evaluated by the built-in library.
func BenchmarkIngest(b *testing.B) {
	for _, kind := range []string{"benign", "mixed"} {
		for _, clients := range []int{1, 4} {
			b.Run(fmt.Sprintf("batch=500/clients=%d/events=%s", clients, kind), func(b *testing.B) {
				benchIngest(b, 500, clients, benchEvents[kind])
			})
		}
	}
}

func benchIngest(b *testing.B, batchSize, clients int, templates []string) {
	env := newTestEnv(b)
	ts := httptest.NewServer(env.srv.Handler())
	defer ts.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	secret := env.secrets[store.RoleAdmin]

	var stored, sent atomic.Int64
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	post := func(body []byte) {
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/events", bytes.NewReader(body))
		if err != nil {
			errOnce.Do(func() { firstErr = err })
			return
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			errOnce.Do(func() { firstErr = err })
			return
		}
		data, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			errOnce.Do(func() { firstErr = fmt.Errorf("status %d: %s (%w)", resp.StatusCode, data, err) })
			return
		}
		var r ingestResponse
		if err := json.Unmarshal(data, &r); err != nil {
			errOnce.Do(func() { firstErr = err })
			return
		}
		stored.Add(int64(r.Stored))
	}

	b.ReportAllocs()
	b.SetBytes(int64(len(newBatchWriter(templates).body("agent", 1, "x", batchSize))))
	// Each client is an agent posting its batches one after the other, as
	// a spool uploader does; together they post b.N batches.
	b.ResetTimer()
	start, cpuStart := time.Now(), processCPU()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			agent := fmt.Sprintf("bench-agent-%d", c)
			w := newBatchWriter(templates)
			var seq int64
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				seq++
				post(w.body(agent, seq, "ev"+strconv.FormatInt(n, 36), batchSize))
				sent.Add(int64(batchSize))
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpuStart
	b.StopTimer()
	require.NoError(b, firstErr)
	require.Equal(b, sent.Load(), stored.Load(), "every event sent is stored once")
	b.ReportMetric(float64(stored.Load())/elapsed.Seconds(), "events/s")
	if cpu > 0 {
		// CPU time of the whole process (server, store, engine and the
		// load generator) per event: what the box can do when the cores are
		// not shared with anything else.
		b.ReportMetric(float64(cpu.Microseconds())/float64(stored.Load()), "cpu-µs/event")
	}
}

// BenchmarkScanBatch splits a batch of 500 generated events, as agents
// encode them, into its events (scanBatch, before any event is decoded).
func BenchmarkScanBatch(b *testing.B) {
	body := []byte(`{"agent_id":"agent-1","seq":1,"events":[`)
	for i, e := range eventgen.New(1, eventgen.Options{}).Batch(500) {
		if i > 0 {
			body = append(body, ',')
		}
		var err error
		if body, err = event.AppendJSON(body, e); err != nil {
			b.Fatal(err)
		}
	}
	body = append(body, "]}"...)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if req, ok := scanBatch(body); !ok || len(req.Events) != 500 {
			b.Fatalf("scanBatch: ok %v, %d events", ok, len(req.Events))
		}
	}
}
