package alerts

import (
	"bufio"
	"compress/gzip"
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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/internal/testrun"
	"github.com/vigil-itm/vigil/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fastQueue retries quickly so that failure tests run in milliseconds.
func fastQueue(attempts int) QueueConfig {
	return QueueConfig{Size: 1000, MaxAttempts: attempts, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxDeadLetters: 100}
}

type testDispatcher struct {
	*Dispatcher
	reg  *prometheus.Registry
	stop func()
}

// newDispatcher builds a dispatcher; start runs it until the test ends.
func newDispatcher(t *testing.T, cfg Config) *testDispatcher {
	t.Helper()
	cfg.Version = "test"
	cfg.Hostname = "vigil-test"
	reg := prometheus.NewRegistry()
	d, err := New(cfg, slog.New(slog.DiscardHandler), reg)
	require.NoError(t, err)
	return &testDispatcher{Dispatcher: d, reg: reg, stop: func() {}}
}

func (td *testDispatcher) start(t *testing.T) {
	t.Helper()
	td.stop = testrun.Start(t, "dispatcher", time.Minute, td.Run)
}

func (td *testDispatcher) counter(name, sink string) float64 {
	switch name {
	case "sent":
		return metricValue(td.m.sent.WithLabelValues(sink))
	case "failed":
		return metricValue(td.m.failed.WithLabelValues(sink))
	case "queue":
		return metricValue(td.m.queueLength.WithLabelValues(sink))
	case "dead":
		return metricValue(td.m.deadLetters.WithLabelValues(sink))
	case "filtered":
		return metricValue(td.m.filtered.WithLabelValues(sink))
	}
	panic(name)
}

// metricValue reads a counter or gauge.
func metricValue(m prometheus.Metric) float64 {
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		panic(err)
	}
	if c := pb.GetCounter(); c != nil {
		return c.GetValue()
	}
	return pb.GetGauge().GetValue()
}

func numberedAlert(i int) *Alert {
	a := trickyAlert()
	a.ID = fmt.Sprintf("alert-%03d", i)
	return a
}

// webhookReceiver records the alerts a webhook sink posts after checking
// the Standard Webhooks signature.
type webhookReceiver struct {
	t      *testing.T
	key    []byte
	status atomic.Int32
	mu     sync.Mutex
	ids    []string
	hdrs   []http.Header
}

func (w *webhookReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rw.WriteHeader(http.StatusBadRequest)
		return
	}
	if st := int(w.status.Load()); st != 0 {
		rw.Header().Set("Retry-After", "1")
		http.Error(rw, "not now", st)
		return
	}
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	m := hmac.New(sha256.New, w.key)
	fmt.Fprintf(m, "%s.%s.%s", id, ts, body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	if r.Header.Get("webhook-signature") != want || r.Header.Get("Content-Type") != "application/json" {
		http.Error(rw, "bad signature", http.StatusUnauthorized)
		return
	}
	var a Alert
	if err := json.Unmarshal(body, &a); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.ids = append(w.ids, id)
	w.hdrs = append(w.hdrs, r.Header.Clone())
	w.mu.Unlock()
}

func (w *webhookReceiver) received() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.ids...)
}

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	key, err := webhookKey(testSecret)
	require.NoError(t, err)
	return &webhookReceiver{t: t, key: key}
}

func webhookSink(name, url string) SinkConfig {
	return SinkConfig{Name: name, Type: TypeWebhook, Queue: fastQueue(3),
		Webhook: &WebhookConfig{URL: url, Secret: testSecret, Headers: map[string]string{"X-Tenant": "acme"}}}
}

func TestWebhookSignedDelivery(t *testing.T) {
	recv := newWebhookReceiver(t)
	srv := httptest.NewServer(recv)
	defer srv.Close()
	d := newDispatcher(t, Config{Outputs: []SinkConfig{webhookSink("soar", srv.URL)}})
	d.start(t)
	for i := range 3 {
		d.Enqueue(numberedAlert(i))
	}
	require.Eventually(t, func() bool { return len(recv.received()) == 3 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{"msg_alert-000", "msg_alert-001", "msg_alert-002"}, recv.received(), "in order, id stable per alert")
	recv.mu.Lock()
	require.Equal(t, "acme", recv.hdrs[0].Get("X-Tenant"))
	recv.mu.Unlock()
	require.Eventually(t, func() bool { return d.counter("sent", "soar") == 3 }, 10*time.Second, 5*time.Millisecond)
	require.Zero(t, d.counter("failed", "soar"))
}

// hecReceiver is a Splunk HTTP Event Collector stand-in that checks the
// token, decompresses, records each batch and answers acks.
type hecReceiver struct {
	token    string
	busy     atomic.Int32 // answer 503 this many times
	mu       sync.Mutex
	batches  [][]map[string]any
	gzipped  []bool
	polls    int
	channels []string
}

func (h *hecReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Splunk "+h.token {
		rw.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(rw, `{"text":"Invalid token","code":4}`)
		return
	}
	switch r.URL.Path {
	case "/services/collector/ack":
		h.mu.Lock()
		h.polls++
		first := h.polls == 1
		h.mu.Unlock()
		var req struct{ Acks []int64 }
		_ = json.NewDecoder(r.Body).Decode(&req)
		acks := map[string]bool{}
		for _, id := range req.Acks {
			acks[fmt.Sprint(id)] = !first // the first poll finds it not yet indexed
		}
		_ = json.NewEncoder(rw).Encode(map[string]any{"acks": acks})
		return
	case "/services/collector/event":
	default:
		rw.WriteHeader(http.StatusNotFound)
		return
	}
	if h.busy.Load() > 0 {
		h.busy.Add(-1)
		rw.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(rw, `{"text":"Server is busy","code":9}`)
		return
	}
	var body io.Reader = r.Body
	gz := r.Header.Get("Content-Encoding") == "gzip"
	if gz {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			rw.WriteHeader(http.StatusBadRequest)
			return
		}
		body = zr
	}
	dec := json.NewDecoder(body)
	var batch []map[string]any
	for dec.More() {
		var ev map[string]any
		if err := dec.Decode(&ev); err != nil {
			rw.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(rw, `{"text":"Invalid data format","code":6}`)
			return
		}
		batch = append(batch, ev)
	}
	h.mu.Lock()
	h.batches = append(h.batches, batch)
	h.gzipped = append(h.gzipped, gz)
	h.channels = append(h.channels, r.Header.Get("X-Splunk-Request-Channel"))
	n := len(h.batches)
	h.mu.Unlock()
	_, _ = fmt.Fprintf(rw, `{"text":"Success","code":0,"ackId":%d}`, n)
}

func (h *hecReceiver) events() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, b := range h.batches {
		n += len(b)
	}
	return n
}

func TestHECBatchingGzipAck(t *testing.T) {
	recv := &hecReceiver{token: "s3cr3t"}
	recv.busy.Store(1)
	srv := httptest.NewServer(recv)
	defer srv.Close()
	cfg := Config{Outputs: []SinkConfig{{Name: "splunk", Type: TypeHEC, Format: FormatOCSF, Queue: fastQueue(5),
		HEC: &HECConfig{URL: srv.URL, Token: "s3cr3t", Index: "itm", Gzip: true, BatchSize: 3,
			Ack: HECAckConfig{Enabled: true, PollInterval: time.Millisecond, Timeout: 5 * time.Second}}}}}
	d := newDispatcher(t, cfg)
	for i := range 7 {
		d.Enqueue(numberedAlert(i)) // queued before Run, so batches are 3, 3, 1
	}
	d.start(t)
	require.Eventually(t, func() bool { return d.counter("sent", "splunk") == 7 }, 10*time.Second, 5*time.Millisecond)
	recv.mu.Lock()
	defer recv.mu.Unlock()
	require.Len(t, recv.batches, 3)
	require.Equal(t, []int{3, 3, 1}, []int{len(recv.batches[0]), len(recv.batches[1]), len(recv.batches[2])})
	require.Equal(t, []bool{true, true, true}, recv.gzipped)
	require.NotEmpty(t, recv.channels[0])
	require.Equal(t, recv.channels[0], recv.channels[2], "one channel per sender")
	ev := recv.batches[0][0]
	require.Equal(t, "itm", ev["index"])
	require.Equal(t, "ocsf:detection_finding", ev["sourcetype"])
	require.Equal(t, "vigil", ev["source"])
	require.Equal(t, "vigil-test", ev["host"])
	require.InDelta(t, 1795860000.123, ev["time"], 0.0001)
	inner := ev["event"].(map[string]any)
	require.EqualValues(t, 2004, inner["class_uid"])
	require.Equal(t, "alert-000", inner["metadata"].(map[string]any)["uid"])
	require.Equal(t, float64(3), d.counter("failed", "splunk"), "the 503 failed the first batch of 3 once")
	require.GreaterOrEqual(t, recv.polls, 4, "one unacknowledged poll, then one per batch")
}

func TestHECBadTokenIsDeadLetteredAtOnce(t *testing.T) {
	recv := &hecReceiver{token: "right"}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	d := newDispatcher(t, Config{Outputs: []SinkConfig{{Name: "splunk", Type: TypeHEC, Format: FormatCEF, Queue: fastQueue(5),
		HEC: &HECConfig{URL: srv.URL, Token: "wrong"}}}})
	d.start(t)
	d.Enqueue(numberedAlert(1))
	require.Eventually(t, func() bool { return d.counter("dead", "splunk") == 1 }, 10*time.Second, 5*time.Millisecond)
	dl, err := d.DeadLetters("splunk")
	require.NoError(t, err)
	require.Len(t, dl, 1)
	require.Equal(t, ReasonRejected, dl[0].Reason)
	require.Equal(t, 1, dl[0].Attempts, "a permanent refusal is not retried")
	require.Contains(t, dl[0].LastError, "status 403: Invalid token")
	require.Equal(t, 0, recv.events())
}

// freeAddr returns a local TCP address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// TestDeadLetterAndReplay: the receiver is down, delivery is retried up to
// max_attempts, the alert becomes a dead letter; the receiver comes up and
// a replay delivers it.
func TestDeadLetterAndReplay(t *testing.T) {
	addr := freeAddr(t)
	d := newDispatcher(t, Config{Outputs: []SinkConfig{webhookSink("soar", "http://"+addr+"/hook")}})
	d.start(t)
	d.Enqueue(numberedAlert(7))
	require.Eventually(t, func() bool { return d.counter("dead", "soar") == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, float64(3), d.counter("failed", "soar"), "three attempts")
	require.Zero(t, d.counter("queue", "soar"))
	dl, err := d.DeadLetters("soar")
	require.NoError(t, err)
	require.Len(t, dl, 1)
	require.Equal(t, ReasonMaxAttempts, dl[0].Reason)
	require.Equal(t, 3, dl[0].Attempts)
	require.Contains(t, dl[0].LastError, "connection refused")
	require.Equal(t, "alert-007", dl[0].Alert.ID)
	st := d.Sinks()
	require.Equal(t, []SinkStatus{{Name: "soar", Type: TypeWebhook, Format: FormatJSON, DeadLetters: 1}}, st)

	// The receiver comes up on the same address.
	recv := newWebhookReceiver(t)
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: recv, ReadHeaderTimeout: 5 * time.Second}}
	srv.Start()
	defer srv.Close()

	require.ErrorIs(t, d.Retry("soar", "nope"), ErrNotFound)
	require.ErrorIs(t, d.Retry("nosuch", dl[0].ID), ErrUnknownSink)
	require.NoError(t, d.Retry("soar", dl[0].ID))
	require.Eventually(t, func() bool { return len(recv.received()) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{"msg_alert-007"}, recv.received())
	require.Eventually(t, func() bool { return d.counter("sent", "soar") == 1 }, 10*time.Second, 5*time.Millisecond)
	dl, err = d.DeadLetters("soar")
	require.NoError(t, err)
	require.Empty(t, dl)
}

// TestOneSinkDownDoesNotDelayAnother: sink "stuck" hangs on every request
// until released; sink "ok" must still deliver every alert, in order, while
// "stuck" has taken at most its first.
func TestOneSinkDownDoesNotDelayAnother(t *testing.T) {
	release := make(chan struct{})
	var stuckSeen atomic.Int32
	stuck := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		stuckSeen.Add(1)
		<-release
	}))
	defer stuck.Close()
	defer close(release)
	good := newWebhookReceiver(t)
	ok := httptest.NewServer(good)
	defer ok.Close()

	slow := webhookSink("stuck", stuck.URL)
	slow.Webhook.Timeout = time.Hour
	d := newDispatcher(t, Config{Outputs: []SinkConfig{slow, webhookSink("ok", ok.URL)}, DrainTimeout: time.Millisecond})
	d.start(t)
	const n = 50
	for i := range n {
		d.Enqueue(numberedAlert(i))
	}
	require.Eventually(t, func() bool { return len(good.received()) == n }, 10*time.Second, 5*time.Millisecond)
	require.LessOrEqual(t, stuckSeen.Load(), int32(1), "the stuck sink is still on its first request")
	require.Zero(t, d.counter("sent", "stuck"))
	require.Equal(t, float64(n), d.counter("queue", "stuck"), "nothing lost: all queued behind the stuck request")
	got := good.received()
	for i := range n {
		require.Equal(t, fmt.Sprintf("msg_alert-%03d", i), got[i])
	}
	d.stop() // cancels the stuck request
}

func TestQueueFullGoesToDeadLetters(t *testing.T) {
	sc := webhookSink("soar", "http://127.0.0.1:1/")
	sc.Queue.Size = 2
	d := newDispatcher(t, Config{Outputs: []SinkConfig{sc}})
	for i := range 5 {
		d.Enqueue(numberedAlert(i))
	}
	st := d.Sinks()[0]
	require.Equal(t, 2, st.Queued)
	require.Equal(t, 3, st.DeadLetters)
	dl, err := d.DeadLetters("soar")
	require.NoError(t, err)
	for _, e := range dl {
		require.Equal(t, ReasonQueueFull, e.Reason)
	}
	require.Equal(t, float64(3), metricValue(d.m.deadLettered.WithLabelValues("soar", ReasonQueueFull)))
	require.NoError(t, d.Discard("soar", dl[0].ID))
	require.ErrorIs(t, d.Discard("soar", dl[0].ID), ErrNoDeadLetter)
	n, err := d.RetryAll("soar")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, 4, d.Sinks()[0].Queued, "a replay is not refused by the queue bound")
}

func TestFilterPerSink(t *testing.T) {
	dir := t.TempDir()
	high := SinkConfig{Name: "high", Type: TypeFile, Queue: fastQueue(1), Filter: Filter{MinSeverity: "high"}, File: &FileConfig{Path: filepath.Join(dir, "high.jsonl"), MaxBytes: 1 << 20}}
	usb := SinkConfig{Name: "usb", Type: TypeFile, Queue: fastQueue(1), Filter: Filter{Rules: []string{"usb-*"}, ExcludeTags: []string{"test"}}, File: &FileConfig{Path: filepath.Join(dir, "usb.jsonl"), MaxBytes: 1 << 20}}
	d := newDispatcher(t, Config{Outputs: []SinkConfig{high, usb}})
	a := numberedAlert(1) // high, usb-mass-copy
	b := numberedAlert(2)
	b.Severity = "low"
	c := numberedAlert(3)
	c.RuleIDs = []string{"print-many"}
	e := numberedAlert(4)
	e.Tags = append(e.Tags, "test")
	for _, x := range []*Alert{a, b, c, e} {
		d.Enqueue(x)
	}
	require.Equal(t, 3, d.Sinks()[0].Queued)
	require.Equal(t, 2, d.Sinks()[1].Queued)
	require.Equal(t, float64(1), d.counter("filtered", "high"))
	require.Equal(t, float64(2), d.counter("filtered", "usb"))
	d.start(t)
	require.Eventually(t, func() bool { return d.counter("sent", "usb") == 2 && d.counter("sent", "high") == 3 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{"alert-001", "alert-002"}, readJSONLIDs(t, filepath.Join(dir, "usb.jsonl")))
}

func readJSONLIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a Alert
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a))
		ids = append(ids, a.ID)
	}
	require.NoError(t, sc.Err())
	return ids
}

// TestQueuesSurviveRestart: alerts queued for an unreachable receiver and
// dead letters are on disk; a new dispatcher on the same state directory
// delivers the queue and still lists the dead letters.
func TestQueuesSurviveRestart(t *testing.T) {
	state := t.TempDir()
	recv := newWebhookReceiver(t)
	srv := httptest.NewServer(recv)
	defer srv.Close()
	sc := webhookSink("soar", srv.URL)
	sc.Queue.Size = 3

	first := newDispatcher(t, Config{StateDir: state, Sync: true, Outputs: []SinkConfig{sc}})
	for i := range 4 {
		first.Enqueue(numberedAlert(i)) // never run: 3 queued, 1 dead (queue full)
	}
	require.Equal(t, SinkStatus{Name: "soar", Type: TypeWebhook, Format: FormatJSON, Queued: 3, DeadLetters: 1}, first.Sinks()[0])

	second := newDispatcher(t, Config{StateDir: state, Outputs: []SinkConfig{sc}})
	require.Equal(t, SinkStatus{Name: "soar", Type: TypeWebhook, Format: FormatJSON, Queued: 3, DeadLetters: 1}, second.Sinks()[0])
	dl, err := second.DeadLetters("soar")
	require.NoError(t, err)
	require.Equal(t, "alert-003", dl[0].Alert.ID)
	require.Equal(t, trickyAlert().Event, dl[0].Alert.Event, "the whole alert persists")
	second.start(t)
	require.Eventually(t, func() bool { return len(recv.received()) == 3 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{"msg_alert-000", "msg_alert-001", "msg_alert-002"}, recv.received())
	require.NoError(t, second.Retry("soar", dl[0].ID))
	require.Eventually(t, func() bool { return len(recv.received()) == 4 }, 10*time.Second, 5*time.Millisecond)
	second.stop()

	left, err := os.ReadDir(filepath.Join(state, "soar", kindQueue))
	require.NoError(t, err)
	require.Empty(t, left)
	left, err = os.ReadDir(filepath.Join(state, "soar", kindDead))
	require.NoError(t, err)
	require.Empty(t, left)
}

func TestRetryAfterAndRecovery(t *testing.T) {
	recv := newWebhookReceiver(t)
	recv.status.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(recv)
	defer srv.Close()
	sc := webhookSink("soar", srv.URL)
	sc.Queue.MaxAttempts = 1000
	d := newDispatcher(t, Config{Outputs: []SinkConfig{sc}})
	d.start(t)
	d.Enqueue(numberedAlert(1))
	require.Eventually(t, func() bool { return d.counter("failed", "soar") >= 3 }, 10*time.Second, time.Millisecond)
	recv.status.Store(0)
	require.Eventually(t, func() bool { return len(recv.received()) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Zero(t, d.counter("dead", "soar"))
}

func TestDispatchFromStore(t *testing.T) {
	dir := t.TempDir()
	d := newDispatcher(t, Config{Outputs: []SinkConfig{{Name: "f", Type: TypeFile, File: &FileConfig{Path: filepath.Join(dir, "a.jsonl"), MaxBytes: 1 << 20}}}})
	ta := trickyAlert()
	dec, err := json.Marshal(map[string]any{
		"decision_id": ta.DecisionID, "reasons": ta.Reasons, "findings": ta.Findings,
		"input": map[string]any{"event": ta.Event},
	})
	require.NoError(t, err)
	sa := store.Alert{ID: ta.ID, DecisionID: ta.DecisionID, Time: ta.Time, Created: ta.Created, EventID: ta.EventID,
		Action: ta.Action, User: ta.User, Host: ta.Host, Severity: ta.Severity, RiskScore: ta.RiskScore,
		RuleIDs: ta.RuleIDs, BundleName: ta.BundleName, BundleRevision: ta.BundleRevision, Status: store.StatusOpen}
	d.Dispatch(sa, store.DecisionRecord{ID: ta.DecisionID, Decision: dec})
	d.Dispatch(store.Alert{ID: "bare", RuleIDs: []string{"r1"}, Severity: "low"}, store.DecisionRecord{Decision: []byte("{not json")})
	d.start(t)
	require.Eventually(t, func() bool { return d.counter("sent", "f") == 2 }, 10*time.Second, 5*time.Millisecond)
	d.stop()
	data, err := os.ReadFile(filepath.Join(dir, "a.jsonl"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 2)
	want, err := appendJSON(nil, ta)
	require.NoError(t, err)
	require.JSONEq(t, string(want), lines[0], "the alert rebuilt from the store equals the original")
	require.JSONEq(t, `{"id":"bare","time":"0001-01-01T00:00:00Z","created":"0001-01-01T00:00:00Z","severity":"low","risk_score":0,"rule_ids":["r1"],"title":"r1"}`, lines[1])
}

func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	s := newFileSender(FileConfig{Path: path, MaxBytes: 100, MaxFiles: 2})
	defer func() { require.NoError(t, s.close()) }()
	for i := range 5 {
		require.NoError(t, s.send(context.Background(), []*DeadLetter{{payload: []byte(strings.Repeat(fmt.Sprint(i), 60))}}))
	}
	for name, want := range map[string]string{"out.jsonl": "4", "out.jsonl.1": "3", "out.jsonl.2": "2"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, strings.Repeat(want, 60)+"\n", string(b), name)
	}
	_, err := os.Stat(filepath.Join(dir, "out.jsonl.3"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestSendTest(t *testing.T) {
	recv := newWebhookReceiver(t)
	srv := httptest.NewServer(recv)
	defer srv.Close()
	d := newDispatcher(t, Config{Outputs: []SinkConfig{webhookSink("soar", srv.URL), webhookSink("down", "http://"+freeAddr(t))}})
	require.NoError(t, d.SendTest(context.Background(), "soar"))
	require.Len(t, recv.received(), 1)
	err := d.SendTest(context.Background(), "down")
	require.ErrorContains(t, err, `sink "down": send test alert`)
	require.ErrorIs(t, d.SendTest(context.Background(), "nope"), ErrUnknownSink)
	require.Zero(t, d.Sinks()[1].DeadLetters, "a test send never queues")
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := New(Config{Outputs: []SinkConfig{{Name: "x", Type: TypeHEC, HEC: &HECConfig{URL: "ftp://x", Token: "t"}}}}, nil, nil)
	require.ErrorContains(t, err, `sinks configuration: outputs[0] "x": hec.url`)
	_, err = New(Config{Outputs: []SinkConfig{{Name: "x", Type: TypeHEC, HEC: &HECConfig{URL: "http://x", TokenFile: "/nonexistent/token"}}}}, nil, nil)
	require.ErrorContains(t, err, `sink "x": hec.token_file`)
}

func TestBackoff(t *testing.T) {
	for attempt := 1; attempt < 20; attempt++ {
		d := backoff(time.Second, time.Minute, attempt)
		ceil := min(time.Second<<(attempt-1), time.Minute)
		require.GreaterOrEqual(t, d, ceil/2, "attempt %d", attempt)
		require.LessOrEqual(t, d, ceil, "attempt %d", attempt)
	}
}
