package alerts

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
)

// streamEvent is event number i of action, with the field set its class
// carries.
func streamEvent(i int, action string) *event.Event {
	e := &event.Event{
		Timestamp: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
		Event:     event.Meta{ID: fmt.Sprintf("ev-%05d", i), Kind: "event", Action: action, Module: "test", Outcome: "success"},
		Host:      &event.Host{ID: "h-1", Name: "ws-042", OS: &event.OS{Family: "linux", Name: "Debian", Version: "12"}},
		User:      &event.User{ID: "1000", Name: "jdoe"},
	}
	switch action {
	case event.ActionFileCopiedToRemovable:
		e.File = &event.File{Path: "/media/jdoe/KINGSTON/q3.xlsx", Name: "q3.xlsx", Size: 48213}
	case event.ActionProcessStarted:
		e.Process = &event.Process{PID: 4242, Name: "cp", Executable: "/usr/bin/cp", CommandLine: "cp a b"}
	case event.ActionConnectionOpened:
		e.Destination = &event.Destination{IP: "192.0.2.7", Port: 443, Domain: "drive.example.com"}
	case event.ActionEmailSent:
		e.Email = &event.Email{From: "jdoe@corp.example", To: []string{"me@mail.example"}, Subject: "q3"}
	case event.ActionClipboardCopy:
		e.Clipboard = &event.Clipboard{Operation: "copy", ContentLength: 42, SourceApp: "libreoffice"}
	}
	return e
}

// streamEvents returns events first … first+n-1, all of action.
func streamEvents(first, n int, action string) []*event.Event {
	out := make([]*event.Event, n)
	for i := range out {
		out[i] = streamEvent(first+i, action)
	}
	return out
}

// eventFileSink is a file sink of the event stream.
func eventFileSink(name, path string, ev *EventStreamConfig) SinkConfig {
	return SinkConfig{Name: name, Type: TypeFile, Stream: StreamEvents, Queue: fastQueue(3), Events: ev,
		File: &FileConfig{Path: path, MaxBytes: 1 << 30}}
}

// readLines returns the lines of a file, nil when it does not exist.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	if len(b) == 0 {
		return nil
	}
	require.True(t, bytes.HasSuffix(b, []byte("\n")), "every line ends with a newline")
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// uidsOf returns metadata.uid of OCSF lines, or event.id of Vigil JSON
// lines.
func uidsOf(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	for _, l := range lines {
		var v struct {
			Metadata struct{ UID string } `json:"metadata"`
			Event    struct{ ID string }  `json:"event"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &v), l)
		out = append(out, v.Metadata.UID+v.Event.ID)
	}
	return out
}

func ids(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("ev-%05d", first+i)
	}
	return out
}

// TestEventStreamOCSFGoldenPerClass exports one event per OCSF class of
// the action vocabulary to a file sink and compares every line, byte for
// byte, with the class's golden file.
func TestEventStreamOCSFGoldenPerClass(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	cfg := Config{Version: "1.0.0", Hostname: "vigil-test", Outputs: []SinkConfig{eventFileSink("lake", path, nil)}}
	reg := prometheus.NewRegistry()
	d, err := New(cfg, slog.New(slog.DiscardHandler), reg)
	require.NoError(t, err)
	td := &testDispatcher{Dispatcher: d, reg: reg}
	td.start(t)

	byName := ocsfClassEvents()
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	batch := make([]*event.Event, len(names))
	for i, n := range names {
		batch[i] = byName[n]
	}
	d.ExportEvents(batch)
	require.Eventually(t, func() bool { return len(readLines(t, path)) == len(names) }, 10*time.Second, 5*time.Millisecond)
	lines := readLines(t, path)
	for i, n := range names {
		want, err := os.ReadFile(filepath.Join("testdata", n))
		require.NoError(t, err)
		require.Equal(t, strings.TrimSuffix(string(want), "\n"), lines[i], "line %d is %s", i, n)
	}
	// The sink counts a batch once its write returned: a reader may see the
	// lines a moment before the count.
	require.Eventually(t, func() bool { return metricValue(d.em.sent.WithLabelValues("lake")) == float64(len(names)) },
		10*time.Second, 5*time.Millisecond)
	require.Zero(t, td.counter("sent", "lake"), "no alert was sent")
}

// TestEventStreamFileFields exports events of the classes insider-threat
// work leans on (file, process, network, email, clipboard) to a file
// sink in OCSF and to another in Vigil JSON with an action filter, and
// checks the fields of each line.
func TestEventStreamFileFields(t *testing.T) {
	dir := t.TempDir()
	ocsfPath, jsonPath := filepath.Join(dir, "ocsf.jsonl"), filepath.Join(dir, "json.jsonl")
	jsonSink := eventFileSink("siem", jsonPath, &EventStreamConfig{Actions: []string{event.ActionEmailSent, event.ActionClipboardCopy}})
	jsonSink.Format = FormatJSON
	d := newDispatcher(t, Config{Outputs: []SinkConfig{eventFileSink("lake", ocsfPath, nil), jsonSink}})
	d.start(t)

	actions := []string{event.ActionFileCopiedToRemovable, event.ActionProcessStarted, event.ActionConnectionOpened, event.ActionEmailSent, event.ActionClipboardCopy}
	var batch []*event.Event
	for i, a := range actions {
		batch = append(batch, streamEvent(i, a))
	}
	d.ExportEvents(batch)
	require.Eventually(t, func() bool {
		return len(readLines(t, ocsfPath)) == 5 && len(readLines(t, jsonPath)) == 2
	}, 10*time.Second, 5*time.Millisecond)

	lines := readLines(t, ocsfPath)
	require.Equal(t, ids(0, 5), uidsOf(t, lines), "in order")
	type ocsfLine struct {
		ClassUID   int64  `json:"class_uid"`
		ClassName  string `json:"class_name"`
		ActivityID int64  `json:"activity_id"`
		TypeUID    int64  `json:"type_uid"`
		Time       int64  `json:"time"`
		Metadata   struct {
			Version string
			Product struct{ Name, Version string }
		}
		Actor struct {
			User    struct{ Name, UID string }
			Process *struct {
				PID     int64  `json:"pid"`
				CmdLine string `json:"cmd_line"`
			}
		}
		Device struct {
			Hostname string
			OS       struct {
				TypeID int64 `json:"type_id"`
			}
		}
		File *struct {
			Name, Path string
			Size       int64
		}
		DstEndpoint *struct {
			IP   string
			Port int64
		} `json:"dst_endpoint"`
		Email *struct {
			From string
			To   []string
		}
		Unmapped struct {
			Vigil struct {
				Action    string
				Clipboard *event.Clipboard
			}
		}
	}
	parsed := make([]ocsfLine, len(lines))
	for i, l := range lines {
		require.NoError(t, json.Unmarshal([]byte(l), &parsed[i]))
		p := parsed[i]
		require.Equal(t, event.OCSFVersion, p.Metadata.Version)
		require.Equal(t, "Vigil", p.Metadata.Product.Name)
		require.Equal(t, "test", p.Metadata.Product.Version)
		require.Equal(t, "jdoe", p.Actor.User.Name)
		require.Equal(t, "ws-042", p.Device.Hostname)
		require.EqualValues(t, 200, p.Device.OS.TypeID)
		require.Equal(t, batch[i].Timestamp.UnixMilli(), p.Time)
		require.Equal(t, actions[i], p.Unmapped.Vigil.Action)
		info, ok := event.LookupAction(actions[i])
		require.True(t, ok)
		require.Equal(t, info.OCSF.ClassUID, p.ClassUID, actions[i])
		require.Equal(t, info.OCSF.TypeUID(), p.TypeUID, actions[i])
	}
	file, proc, netw, mail, clip := parsed[0], parsed[1], parsed[2], parsed[3], parsed[4]
	require.EqualValues(t, 1001, file.ClassUID)
	require.Equal(t, "File System Activity", file.ClassName)
	require.Equal(t, "q3.xlsx", file.File.Name)
	require.Equal(t, "/media/jdoe/KINGSTON/q3.xlsx", file.File.Path)
	require.EqualValues(t, 48213, file.File.Size)
	require.EqualValues(t, 1007, proc.ClassUID)
	require.EqualValues(t, 4242, proc.Actor.Process.PID)
	require.Equal(t, "cp a b", proc.Actor.Process.CmdLine)
	require.EqualValues(t, 4001, netw.ClassUID)
	require.Equal(t, "192.0.2.7", netw.DstEndpoint.IP)
	require.EqualValues(t, 443, netw.DstEndpoint.Port)
	require.EqualValues(t, 4009, mail.ClassUID)
	require.Equal(t, "jdoe@corp.example", mail.Email.From)
	require.Equal(t, []string{"me@mail.example"}, mail.Email.To)
	require.EqualValues(t, 0, clip.ClassUID, "clipboard actions are OCSF Base Events")
	require.Equal(t, "Base Event", clip.ClassName)
	require.Equal(t, &event.Clipboard{Operation: "copy", ContentLength: 42, SourceApp: "libreoffice"}, clip.Unmapped.Vigil.Clipboard)

	// The JSON sink keeps only its two actions, as Vigil's own event JSON.
	jl := readLines(t, jsonPath)
	for i, want := range []*event.Event{batch[3], batch[4]} {
		var got event.Event
		require.NoError(t, json.Unmarshal([]byte(jl[i]), &got))
		require.Equal(t, *want, got)
	}
	require.Equal(t, float64(3), metricValue(d.em.filtered.WithLabelValues("siem")))
	require.Zero(t, metricValue(d.em.filtered.WithLabelValues("lake")))
}

// ndjsonReceiver checks Standard Webhooks signatures over JSON Lines
// bodies and records each batch.
type ndjsonReceiver struct {
	key []byte
	// hold, when not nil, blocks every request until it is closed;
	// arrived is signalled as each request arrives.
	hold    chan struct{}
	arrived chan struct{}
	mu      sync.Mutex
	ids     []string
	batches [][]string
	types   []string
}

func (w *ndjsonReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rw.WriteHeader(http.StatusBadRequest)
		return
	}
	if w.arrived != nil {
		w.arrived <- struct{}{}
	}
	if w.hold != nil {
		<-w.hold
	}
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	m := hmac.New(sha256.New, w.key)
	fmt.Fprintf(m, "%s.%s.%s", id, ts, body)
	if r.Header.Get("webhook-signature") != "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		http.Error(rw, "bad signature", http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Content-Type") == "application/json" {
		body = append(body, '\n') // an alert of a sink that streams both
	}
	if !bytes.HasSuffix(body, []byte("\n")) {
		http.Error(rw, "a JSON Lines body ends with a newline", http.StatusBadRequest)
		return
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			http.Error(rw, "not JSON", http.StatusBadRequest)
			return
		}
		lines = append(lines, sc.Text())
	}
	w.mu.Lock()
	w.ids = append(w.ids, id)
	w.batches = append(w.batches, lines)
	w.types = append(w.types, r.Header.Get("Content-Type"))
	w.mu.Unlock()
	rw.WriteHeader(http.StatusNoContent)
}

func (w *ndjsonReceiver) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, b := range w.batches {
		out = append(out, b...)
	}
	return out
}

func newNDJSONReceiver(t *testing.T) *ndjsonReceiver {
	key, err := webhookKey(testSecret)
	require.NoError(t, err)
	return &ndjsonReceiver{key: key}
}

func eventWebhookSink(name, url string, ev *EventStreamConfig) SinkConfig {
	sc := webhookSink(name, url)
	sc.Stream, sc.Events = StreamEvents, ev
	return sc
}

// TestEventStreamWebhookBatchedSigned: events exported in three calls
// arrive in two signed POSTs of JSON Lines, bounded by events.batch_size.
func TestEventStreamWebhookBatchedSigned(t *testing.T) {
	recv := newNDJSONReceiver(t)
	srv := httptest.NewServer(recv)
	defer srv.Close()
	d := newDispatcher(t, Config{Outputs: []SinkConfig{eventWebhookSink("soar", srv.URL, &EventStreamConfig{BatchSize: 250})}})
	for i := range 3 {
		d.ExportEvents(streamEvents(i*100, 100, event.ActionFileCopiedToRemovable)) // queued before Run
	}
	require.Equal(t, 300, d.Sinks()[0].EventsQueued)
	d.start(t)
	require.Eventually(t, func() bool { return len(recv.lines()) == 300 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, ids(0, 300), uidsOf(t, recv.lines()), "every event once, in order")
	recv.mu.Lock()
	require.Equal(t, []int{200, 100}, []int{len(recv.batches[0]), len(recv.batches[1])}, "batches of whole entries up to batch_size")
	require.Equal(t, []string{"application/x-ndjson", "application/x-ndjson"}, recv.types)
	require.Regexp(t, `^msg_[0-9a-f]{24}_[0-9a-f]{24}$`, recv.ids[0], "first and last entry of a batch")
	require.Regexp(t, `^msg_[0-9a-f]{24}$`, recv.ids[1], "a batch of one entry")
	recv.mu.Unlock()
	require.Eventually(t, func() bool { return metricValue(d.em.sent.WithLabelValues("soar")) == 300 }, 10*time.Second, 5*time.Millisecond)
	d.Enqueue(numberedAlert(1))
	require.Zero(t, d.Sinks()[0].Queued, "a sink of events only takes no alerts")
}

// TestEventStreamDeadLetterAndReplay: the receiver is down, the event
// batch becomes a dead letter after max_attempts; it is listed with its
// events and replayed once the receiver is up.
func TestEventStreamDeadLetterAndReplay(t *testing.T) {
	addr := freeAddr(t)
	d := newDispatcher(t, Config{Outputs: []SinkConfig{eventWebhookSink("soar", "http://"+addr+"/hook", nil)}})
	d.start(t)
	d.ExportEvents(streamEvents(0, 7, event.ActionEmailSent))
	require.Eventually(t, func() bool { return d.Sinks()[0].EventDeadLetters == 7 }, 10*time.Second, 5*time.Millisecond)
	st := d.Sinks()[0]
	require.Zero(t, st.EventsQueued)
	require.Equal(t, StreamEvents, st.Stream)
	require.Equal(t, FormatOCSF, st.Format, "the event stream defaults to OCSF")
	require.Equal(t, float64(21), metricValue(d.em.failed.WithLabelValues("soar")), "three attempts of seven events")
	require.Equal(t, float64(7), metricValue(d.em.deadLettered.WithLabelValues("soar", ReasonMaxAttempts)))
	require.Equal(t, float64(7), metricValue(d.em.deadLetters.WithLabelValues("soar")))
	dl, err := d.DeadLetters("soar")
	require.NoError(t, err)
	require.Len(t, dl, 1)
	require.Nil(t, dl[0].Alert)
	require.Len(t, dl[0].Events, 7)
	require.Equal(t, ReasonMaxAttempts, dl[0].Reason)
	require.Contains(t, dl[0].LastError, "connection refused")
	require.Equal(t, ids(0, 7), uidsOf(t, rawLines(dl[0].Events)))

	recv := newNDJSONReceiver(t)
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: recv, ReadHeaderTimeout: 5 * time.Second}}
	srv.Start()
	defer srv.Close()
	require.NoError(t, d.Retry("soar", dl[0].ID))
	require.Eventually(t, func() bool { return len(recv.lines()) == 7 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, ids(0, 7), uidsOf(t, recv.lines()))
	require.Eventually(t, func() bool { return d.Sinks()[0].EventDeadLetters == 0 }, 10*time.Second, 5*time.Millisecond)
	require.Zero(t, metricValue(d.em.deadLetters.WithLabelValues("soar")))
}

func rawLines(raws []json.RawMessage) []string {
	out := make([]string, len(raws))
	for i, r := range raws {
		out[i] = string(r)
	}
	return out
}

// TestEventStreamSurvivesRestart: events queued and event dead letters
// are on disk; a new dispatcher on the same state directory delivers the
// queue and still lists the dead letters.
func TestEventStreamSurvivesRestart(t *testing.T) {
	state := t.TempDir()
	path := filepath.Join(t.TempDir(), "events.jsonl")
	sc := eventFileSink("lake", path, &EventStreamConfig{BatchSize: 4})
	sc.Stream = StreamBoth

	first := newDispatcher(t, Config{StateDir: state, Sync: true, Outputs: []SinkConfig{sc}})
	first.ExportEvents(streamEvents(0, 10, event.ActionClipboardCopy)) // never run: entries of 4, 4, 2
	first.Enqueue(numberedAlert(1))
	st := first.Sinks()[0]
	require.Equal(t, 10, st.EventsQueued)
	require.Equal(t, 1, st.Queued)
	queued, err := os.ReadDir(filepath.Join(state, "lake", "events", kindQueue))
	require.NoError(t, err)
	require.Len(t, queued, 3, "one file per entry, not per event")
	// A dead event batch, as a previous run would have left it.
	dead := first.eventLanes[0]
	dead.toDead([]*DeadLetter{dead.peek(1)[0]}, ReasonMaxAttempts, fmt.Errorf("receiver down"))
	require.Equal(t, 6, first.Sinks()[0].EventsQueued)
	require.Equal(t, 4, first.Sinks()[0].EventDeadLetters)

	second := newDispatcher(t, Config{StateDir: state, Outputs: []SinkConfig{sc}})
	st = second.Sinks()[0]
	require.Equal(t, SinkStatus{Name: "lake", Type: TypeFile, Format: FormatOCSF, Queued: 1, Stream: StreamBoth,
		EventsQueued: 6, EventDeadLetters: 4}, st)
	dl, err := second.DeadLetters("lake")
	require.NoError(t, err)
	require.Len(t, dl, 1)
	require.Equal(t, ids(0, 4), uidsOf(t, rawLines(dl[0].Events)), "the whole batch persists")
	second.start(t)
	require.Eventually(t, func() bool { return len(readLines(t, path)) == 7 }, 10*time.Second, 5*time.Millisecond)
	n, err := second.RetryAll("lake")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Eventually(t, func() bool { return len(readLines(t, path)) == 11 }, 10*time.Second, 5*time.Millisecond)
	second.stop()

	var events, alerts []string
	for _, l := range readLines(t, path) {
		if strings.HasPrefix(l, `{"class_uid":2004,`) {
			alerts = append(alerts, l)
			continue
		}
		events = append(events, l)
	}
	require.Len(t, alerts, 1, "alerts go to the same file, as Detection Findings")
	got := uidsOf(t, events)
	sort.Strings(got)
	require.Equal(t, ids(0, 10), got)
	for _, sub := range []string{kindQueue, kindDead, "events/" + kindQueue, "events/" + kindDead} {
		left, err := os.ReadDir(filepath.Join(state, "lake", sub))
		require.NoError(t, err)
		require.Empty(t, left, sub)
	}
}

// TestEventQueueFullDropsOldestNeverAlerts: with the receiver holding the
// batch in flight, a full event queue drops the oldest queued events (not
// those being sent, and never an alert of the same sink), and counts them.
func TestEventQueueFullDropsOldestNeverAlerts(t *testing.T) {
	recv := newNDJSONReceiver(t)
	recv.hold, recv.arrived = make(chan struct{}), make(chan struct{}, 16)
	srv := httptest.NewServer(recv)
	defer srv.Close()
	sc := eventWebhookSink("soar", srv.URL, &EventStreamConfig{QueueSize: 10, BatchSize: 5})
	sc.Stream = StreamBoth
	sc.Queue.Size = 2 // alerts: beyond 2 they become dead letters, never dropped
	d := newDispatcher(t, Config{Outputs: []SinkConfig{sc}})
	d.start(t)
	released := false
	release := func() {
		if !released {
			close(recv.hold)
			released = true
		}
	}
	defer release()

	d.ExportEvents(streamEvents(0, 5, event.ActionFileCopiedToRemovable))
	<-recv.arrived // events 0-4 are in flight
	for i := range 4 {
		d.ExportEvents(streamEvents(5+i*5, 5, event.ActionFileCopiedToRemovable))
	}
	for i := range 3 {
		d.Enqueue(numberedAlert(i))
	}
	st := d.Sinks()[0]
	require.Equal(t, uint64(15), st.EventsDropped, "events 5-19 dropped; 0-4 are being sent")
	require.Equal(t, 10, st.EventsQueued, "the batch in flight and the newest five")
	require.Equal(t, float64(15), metricValue(d.em.dropped.WithLabelValues("soar")))
	require.Zero(t, st.EventDeadLetters, "dropped events are not dead letters")
	release()
	require.Eventually(t, func() bool { return len(recv.lines()) == 10+2 }, 10*time.Second, 5*time.Millisecond)
	var events []string
	alerts := 0
	for _, l := range recv.lines() {
		if strings.Contains(l, `"class_uid":2004`) {
			alerts++
			continue
		}
		events = append(events, l)
	}
	require.Equal(t, append(ids(0, 5), ids(20, 5)...), uidsOf(t, events))
	require.Equal(t, 2, alerts, "both queued alerts delivered")
	dl, err := d.DeadLetters("soar")
	require.NoError(t, err)
	require.Len(t, dl, 1, "the third alert found its queue full: a dead letter, not dropped")
	require.Equal(t, ReasonQueueFull, dl[0].Reason)
	require.Equal(t, "alert-002", dl[0].Alert.ID)
}

// TestEventStreamHEC: events go to HEC one envelope each, with their own
// time and the event sourcetype.
func TestEventStreamHEC(t *testing.T) {
	recv := &hecReceiver{token: "s3cr3t"}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	sc := SinkConfig{Name: "splunk", Type: TypeHEC, Stream: StreamEvents, Queue: fastQueue(3),
		HEC: &HECConfig{URL: srv.URL, Token: "s3cr3t", Index: "itm", Gzip: true, BatchSize: 3}}
	d := newDispatcher(t, Config{Outputs: []SinkConfig{sc}})
	d.ExportEvents(streamEvents(0, 7, event.ActionProcessStarted))
	d.start(t)
	require.Eventually(t, func() bool { return metricValue(d.em.sent.WithLabelValues("splunk")) == 7 }, 10*time.Second, 5*time.Millisecond)
	recv.mu.Lock()
	defer recv.mu.Unlock()
	require.Len(t, recv.batches, 3, "hec.batch_size bounds the event batches")
	ev := recv.batches[1][0]
	require.Equal(t, "ocsf:event", ev["sourcetype"])
	require.Equal(t, "itm", ev["index"])
	require.InDelta(t, float64(streamEvent(3, "").Timestamp.UnixMilli())/1000, ev["time"], 0.0001)
	inner := ev["event"].(map[string]any)
	require.EqualValues(t, 1007, inner["class_uid"])
	require.Equal(t, "ev-00003", inner["metadata"].(map[string]any)["uid"])
}

// TestEventStreamSyslog: events go over syslog/TCP one message each, at
// severity info, MSGID OCSF.
func TestEventStreamSyslog(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	got := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		sc := bufio.NewScanner(c)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			got <- sc.Text()
		}
	}()
	sc := SinkConfig{Name: "rsys", Type: TypeSyslog, Stream: StreamEvents, Queue: fastQueue(3),
		Syslog: &SyslogConfig{Network: "tcp", Framing: "non-transparent", Address: ln.Addr().String()}}
	d := newDispatcher(t, Config{Outputs: []SinkConfig{sc}})
	d.start(t)
	d.ExportEvents(streamEvents(0, 3, event.ActionConnectionOpened))
	for i := range 3 {
		var line string
		select {
		case line = <-got:
		case <-time.After(10 * time.Second):
			require.FailNow(t, "no syslog message", "message %d", i)
		}
		// local0 (16) × 8 + info (6) = 134.
		prefix := "<134>1 " + streamEvent(i, "").Timestamp.Format("2006-01-02T15:04:05.000000Z07:00") + " vigil-test vigil "
		require.True(t, strings.HasPrefix(line, prefix), "%q", line)
		_, msg, ok := strings.Cut(line, " OCSF - ")
		require.True(t, ok, "%q", line)
		require.Equal(t, []string{fmt.Sprintf("ev-%05d", i)}, uidsOf(t, []string{msg}))
	}
	d.stop()
	<-done
}

// TestEventStreamSendTest: a sink of events only is tested with the
// sample event, the way it sends events.
func TestEventStreamSendTest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	d := newDispatcher(t, Config{Outputs: []SinkConfig{eventFileSink("lake", path, nil)}})
	require.NoError(t, d.SendTest(context.Background(), "lake"))
	lines := readLines(t, path)
	require.Len(t, lines, 1)
	var o OCSFEvent
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &o))
	require.EqualValues(t, 1001, o.ClassUID)
	require.Equal(t, event.ActionFileCopiedToRemovable, o.Unmapped.Vigil.Action)
	require.Zero(t, d.Sinks()[0].EventsQueued, "a test send never queues")
}

// TestExportEventsWithoutEventSinks: a dispatcher with alert sinks only
// ignores the event stream.
func TestExportEventsWithoutEventSinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	d := newDispatcher(t, Config{Outputs: []SinkConfig{{Name: "f", Type: TypeFile, File: &FileConfig{Path: path, MaxBytes: 1 << 20}}}})
	d.ExportEvents(streamEvents(0, 3, event.ActionEmailSent))
	require.Equal(t, SinkStatus{Name: "f", Type: TypeFile, Format: FormatJSON}, d.Sinks()[0])
	require.Empty(t, d.eventLanes)
	require.True(t, slices.ContainsFunc(d.sinks, func(s *sink) bool { return s.events == nil }))
}
