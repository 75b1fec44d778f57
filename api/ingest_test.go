package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func TestIngestIdempotent(t *testing.T) {
	env := newTestEnv(t)
	agent := env.tokens[store.RoleAgent].ID
	events := []string{benign("e1", t0), benign("e2", t0.Add(time.Second)), benign("e3", t0.Add(2*time.Second))}

	post := func(seq int64, evs ...string) ingestResponse {
		t.Helper()
		r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch("", seq, evs...))
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var out ingestResponse
		r.json(t, &out)
		return out
	}

	first := post(1, events...)
	require.Equal(t, ingestResponse{Stored: 3, LastSeq: 1, Rejected: []rejectedEvent{}}, first)

	// The same batch again: a replay, nothing stored.
	again := post(1, events...)
	require.Equal(t, ingestResponse{Duplicates: 3, DuplicateBatch: true, LastSeq: 1, Rejected: []rejectedEvent{}}, again)
	require.Equal(t, 3, env.countEvents())

	// The same events under a new seq: deduplicated by event id.
	byID := post(2, events...)
	require.Equal(t, ingestResponse{Duplicates: 3, LastSeq: 2, Rejected: []rejectedEvent{}}, byID)

	// A seq going backwards with new events is a replay too: nothing stored.
	regress := post(1, benign("e4", t0.Add(3*time.Second)))
	require.True(t, regress.DuplicateBatch)
	require.Equal(t, 0, regress.Stored)
	require.Equal(t, int64(2), regress.LastSeq)
	require.Equal(t, 3, env.countEvents())

	// The agent's seq moves on; repeats within a batch count once.
	next := post(3, benign("e4", t0.Add(3*time.Second)), benign("e4", t0.Add(3*time.Second)))
	require.Equal(t, ingestResponse{Stored: 1, Duplicates: 1, LastSeq: 3, Rejected: []rejectedEvent{}}, next)
	require.Equal(t, 4, env.countEvents())

	last, err := env.db.Events().LastSeq(context.Background(), agent)
	require.NoError(t, err)
	require.Equal(t, int64(3), last)
}

func TestIngestUnsequencedImport(t *testing.T) {
	env := newTestEnv(t)
	body := batch("import-2026-11", 0, benign("i1", t0), benign("i2", t0))
	for i, want := range []ingestResponse{
		{Stored: 2, Rejected: []rejectedEvent{}},
		{Duplicates: 2, Rejected: []rejectedEvent{}},
	} {
		r := env.do(store.RoleAdmin, http.MethodPost, "/api/v1/events", body)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var got ingestResponse
		r.json(t, &got)
		require.Equal(t, want, got, "post %d", i)
	}
}

func TestIngestMalformed(t *testing.T) {
	env := newTestEnv(t)
	tests := []struct {
		name     string
		body     string
		code     Code
		status   int
		rejected []int  // indexes
		contains string // in the message or the first rejection
		stored   int
	}{
		{name: "not JSON", body: `{"seq": 1, "events": [`, code: CodeInvalidJSON, status: 400, contains: "unexpected end"},
		{name: "syntax error", body: `{"seq": 1 "events": []}`, code: CodeInvalidJSON, status: 400, contains: "offset"},
		{name: "empty body", body: ``, code: CodeInvalidJSON, status: 400, contains: "empty"},
		{name: "trailing data", body: batch("", 1, benign("a", t0)) + `{}`, code: CodeInvalidJSON, status: 400, contains: "after the JSON value"},
		{name: "unknown envelope field", body: `{"seq": 1, "evnts": []}`, code: CodeInvalidBody, status: 400, contains: `unknown field "evnts"`},
		{name: "seq of the wrong type", body: `{"seq": "1", "events": []}`, code: CodeInvalidBody, status: 400, contains: "seq: want integer"},
		{name: "negative seq", body: batch("", -1, benign("a", t0)), code: CodeInvalidBody, status: 400, contains: "seq"},
		{name: "no events", body: `{"seq": 1}`, code: CodeInvalidBody, status: 400, contains: "events: required"},
		{name: "empty batch", body: `{"seq": 1, "events": []}`, code: CodeInvalidBody, status: 400, contains: "empty"},
		{
			name: "unknown event field", body: batch("", 1, benign("a", t0), ev("b", "file-created", t0, `"file": {"sizee": 3}`)),
			code: CodeInvalidEvent, status: 400, rejected: []int{1}, contains: `file.sizee: unknown field`, stored: 1,
		},
		{
			name: "unknown action", body: batch("", 2, ev("c", "file-copy", t0, "")),
			code: CodeInvalidEvent, status: 400, rejected: []int{0}, contains: `event.action: unknown value "file-copy"`,
		},
		{
			name: "missing id and a negative size", body: batch("", 3, `{"@timestamp": "2026-11-02T10:00:00Z", "event": {"action": "file-created"}, "file": {"size": -1}}`),
			code: CodeInvalidEvent, status: 400, rejected: []int{0}, contains: "event.id: required",
		},
		{
			name: "an event that is not an object", body: batch("", 4, `42`, benign("d", t0)),
			code: CodeInvalidEvent, status: 400, rejected: []int{0}, contains: "want an event object", stored: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", tt.body)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			var got ingestResponse
			r.json(t, &got)
			require.NotNil(t, got.Error, "%s", r.body)
			require.Equal(t, tt.code, got.Error.Code)
			require.NotEmpty(t, got.Error.RequestID)
			require.Equal(t, tt.stored, got.Stored)
			var idx []int
			for _, rj := range got.Rejected {
				idx = append(idx, rj.Index)
			}
			require.Equal(t, tt.rejected, idx)
			msg := got.Error.Message
			if len(got.Rejected) > 0 {
				msg = got.Rejected[0].Error
				require.Contains(t, got.Error.Message, fmt.Sprintf("index %d", tt.rejected[0]))
			}
			require.Contains(t, msg, tt.contains)
		})
	}
}

func TestIngestLimits(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.MaxIngestBytes = 4 << 10; c.MaxBatchEvents = 3 })
	big := make([]string, 0, 40)
	for i := range 40 {
		big = append(big, benign(fmt.Sprintf("big-%d", i), t0))
	}
	body := batch("", 1, big...)
	require.Greater(t, len(body), 4<<10)

	t.Run("oversize body with Content-Length", func(t *testing.T) {
		r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", body)
		require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
		require.Equal(t, CodeBodyTooLarge, r.errorCode(t))
	})
	t.Run("oversize body without Content-Length", func(t *testing.T) {
		r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", strings.NewReader(body))
		require.Equal(t, http.StatusRequestEntityTooLarge, r.status, "%s", r.body)
		require.Equal(t, CodeBodyTooLarge, r.errorCode(t))
	})
	t.Run("oversize once decompressed", func(t *testing.T) {
		var zbuf bytes.Buffer
		zw := gzip.NewWriter(&zbuf)
		_, err := zw.Write([]byte(body))
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		require.Less(t, zbuf.Len(), 4<<10)
		r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", zbuf.Bytes(), "Content-Encoding", "gzip")
		require.Equal(t, http.StatusRequestEntityTooLarge, r.status, "%s", r.body)
		require.Equal(t, CodeBodyTooLarge, r.errorCode(t))
	})
	t.Run("too many events", func(t *testing.T) {
		r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch("", 1, big[:4]...))
		require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
		require.Equal(t, CodeBatchTooLarge, r.errorCode(t))
	})
	require.Equal(t, 0, env.countEvents())

	t.Run("gzip body within the limits", func(t *testing.T) {
		var zbuf bytes.Buffer
		zw := gzip.NewWriter(&zbuf)
		_, err := zw.Write([]byte(batch("", 1, big[:3]...)))
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", zbuf.Bytes(), "Content-Encoding", "gzip")
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.Equal(t, 3, env.countEvents())
	})
	t.Run("unknown content encoding", func(t *testing.T) {
		r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch("", 2, big[3]), "Content-Encoding", "br")
		require.Equal(t, http.StatusUnsupportedMediaType, r.status)
		require.Equal(t, CodeUnsupportedMediaType, r.errorCode(t))
	})
	t.Run("wrong content type", func(t *testing.T) {
		r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch("", 2, big[3]), "Content-Type", "text/plain")
		require.Equal(t, http.StatusUnsupportedMediaType, r.status)
		require.Equal(t, CodeUnsupportedMediaType, r.errorCode(t))
	})
}

func TestIngestAgentIdentity(t *testing.T) {
	env := newTestEnv(t)
	// An agent token sends only for itself.
	r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch("someone-else", 1, benign("x", t0)))
	require.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
	require.Equal(t, CodeForbidden, r.errorCode(t))
	r = env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch(env.tokens[store.RoleAgent].ID, 1, benign("x", t0)))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	// An admin may import for any agent id.
	r = env.do(store.RoleAdmin, http.MethodPost, "/api/v1/events", batch("replayed-agent", 7, benign("y", t0)))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	last, err := env.db.Events().LastSeq(context.Background(), "replayed-agent")
	require.NoError(t, err)
	require.Equal(t, int64(7), last)
}

// exportRecorder records the ids of the events the server exports.
type exportRecorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *exportRecorder) ExportEvents(evs []*event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range evs {
		r.ids = append(r.ids, e.Event.ID)
	}
}

func TestIngestRaisesAlert(t *testing.T) {
	env := newTestEnv(t)
	exported := &exportRecorder{}
	env.srv.deps.EventExport = exported
	r := env.do(store.RoleAgent, http.MethodPost, "/api/v1/events",
		batch("", 1, benign("b1", t0), payrollToUSB("usb-1", t0.Add(time.Minute))))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var got ingestResponse
	r.json(t, &got)
	require.Equal(t, 2, got.Stored)
	require.Equal(t, 1, got.Decisions)
	require.Equal(t, 1, got.Alerts)

	// The alert is listed, and found by rule, user and severity.
	for _, q := range []string{"", "?rule=usb-sensitive-file", "?user=jdoe&host=ws-042", "?severity=high&status=open",
		"?from=2026-11-02T10:00:00Z&to=2026-11-02T11:00:00Z"} {
		r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/alerts"+q, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var list alertList
		r.json(t, &list)
		require.Len(t, list.Alerts, 1, "query %q", q)
		a := list.Alerts[0]
		require.Equal(t, "usb-1", a.EventID)
		require.Equal(t, []string{"usb-sensitive-file"}, a.RuleIDs)
		require.Equal(t, store.StatusOpen, a.Status)
		require.Equal(t, "vigil-library", a.BundleName)
	}
	for _, q := range []string{"?rule=usb-mass-copy", "?user=nobody", "?status=resolved", "?from=2026-11-03T00:00:00Z"} {
		r = env.do(store.RoleAnalyst, http.MethodGet, "/api/v1/alerts"+q, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var list alertList
		r.json(t, &list)
		require.Empty(t, list.Alerts, "query %q", q)
	}

	// The decision is recorded and explains itself.
	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/decisions?alert=true", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var decs decisionList
	r.json(t, &decs)
	require.Len(t, decs.Decisions, 1)
	require.Equal(t, "usb-1", decs.Decisions[0].EventID)
	require.Contains(t, string(decs.Decisions[0].Decision), `"rule":"usb-sensitive-file"`)

	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/decisions/"+decs.Decisions[0].ID, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = env.do(store.RoleAuditor, http.MethodGet, "/api/v1/decisions/nope", nil)
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, CodeNotFound, r.errorCode(t))

	// A replay of the batch raises nothing more.
	r = env.do(store.RoleAgent, http.MethodPost, "/api/v1/events",
		batch("", 1, benign("b1", t0), payrollToUSB("usb-1", t0.Add(time.Minute))))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r.json(t, &got)
	require.Equal(t, ingestResponse{Duplicates: 2, DuplicateBatch: true, LastSeq: 1, Rejected: []rejectedEvent{}}, got)
	alerts, _, err := env.db.Alerts().List(context.Background(), store.AlertFilter{})
	require.NoError(t, err)
	require.Len(t, alerts, 1)

	// A later batch that repeats the alerting event beside a new one:
	// only the new event is evaluated (the old one is not counted again in
	// rule windows).
	r = env.do(store.RoleAgent, http.MethodPost, "/api/v1/events",
		batch("", 2, payrollToUSB("usb-1", t0.Add(time.Minute)), payrollToUSB("usb-2", t0.Add(3*time.Hour))))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	got = ingestResponse{}
	r.json(t, &got)
	require.Equal(t, ingestResponse{Stored: 1, Duplicates: 1, LastSeq: 2, Decisions: 1, Alerts: 1, Rejected: []rejectedEvent{}}, got)
	alerts, _, err = env.db.Alerts().List(context.Background(), store.AlertFilter{})
	require.NoError(t, err)
	require.Len(t, alerts, 2)
	// Each event was exported once, when it was first stored.
	require.Equal(t, []string{"b1", "usb-1", "usb-2"}, exported.ids)
}

func TestDecideStoresNothing(t *testing.T) {
	env := newTestEnv(t)
	// A hypothetical event: no id, no time.
	hypo := `{"event": {"action": "file-copied-to-removable"}, "user": {"name": "jdoe"}, "host": {"name": "ws-042"},
		"file": {"path": "/media/jdoe/K/payroll.xlsx", "name": "payroll.xlsx", "extension": "xlsx", "source_path": "/srv/hr/payroll/payroll.xlsx"},
		"volume": {"removable": true, "serial_number": "E0D55EA573DCF450"}}`
	r := env.do(store.RoleAnalyst, http.MethodPost, "/api/v1/decide", hypo)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var d struct {
		DecisionID string `json:"decision_id"`
		Alert      bool   `json:"alert"`
		Findings   []struct {
			Rule string `json:"rule"`
		} `json:"findings"`
		Bundle struct{ Name, Revision string } `json:"bundle"`
	}
	r.json(t, &d)
	require.True(t, d.Alert)
	require.NotEmpty(t, d.DecisionID)
	require.Equal(t, "usb-sensitive-file", d.Findings[0].Rule)
	require.Equal(t, "vigil-library", d.Bundle.Name)

	// A real event, too.
	r = env.do(store.RoleAuditor, http.MethodPost, "/api/v1/decide", payrollToUSB("real-1", t0))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	ctx := context.Background()
	require.Equal(t, 0, env.countEvents())
	decs, _, err := env.db.Decisions().List(ctx, store.DecisionFilter{})
	require.NoError(t, err)
	require.Empty(t, decs)
	alerts, _, err := env.db.Alerts().List(ctx, store.AlertFilter{})
	require.NoError(t, err)
	require.Empty(t, alerts)

	// Bad events are named by field.
	r = env.do(store.RoleAnalyst, http.MethodPost, "/api/v1/decide", `{"event": {"action": "file-copy"}}`)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, CodeInvalidEvent, r.errorCode(t))
	require.Contains(t, string(r.body), "event.action")
	r = env.do(store.RoleAnalyst, http.MethodPost, "/api/v1/decide", `{"event": `)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, CodeInvalidEvent, r.errorCode(t))
	r = env.do(store.RoleAnalyst, http.MethodPost, "/api/v1/decide", ``)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, CodeInvalidJSON, r.errorCode(t))
	// Agents do not query decisions.
	r = env.do(store.RoleAgent, http.MethodPost, "/api/v1/decide", hypo)
	require.Equal(t, http.StatusForbidden, r.status)
}

func TestIngestConcurrent(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	const agents, batches, size = 4, 5, 40
	errs := make(chan error, agents*batches)
	done := make(chan struct{})
	for a := range agents {
		go func() {
			defer func() { done <- struct{}{} }()
			w := newBatchWriter(benchEvents["mixed"])
			for s := range batches {
				body := w.body(fmt.Sprintf("agent-%d", a), int64(s+1), fmt.Sprintf("a%d-b%d", a, s), size)
				r := env.do(store.RoleAdmin, http.MethodPost, "/api/v1/events", string(body))
				if r.status != http.StatusOK {
					errs <- fmt.Errorf("agent %d batch %d: %d %s", a, s, r.status, r.body)
				}
			}
		}()
	}
	for range agents {
		<-done
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.Equal(t, agents*batches*size, env.countEvents())
	for a := range agents {
		last, err := env.db.Events().LastSeq(ctx, fmt.Sprintf("agent-%d", a))
		require.NoError(t, err)
		require.Equal(t, int64(batches), last)
	}
}

func TestDecodeSlotsLeaveTheWriterACore(t *testing.T) {
	for procs, want := range map[int]int{1: 1, 2: 1, 3: 2, 8: 7} {
		require.Equal(t, want, decodeSlotsFor(procs), "%d Ps", procs)
	}
}

// TestIngestWaitsForADecodeSlot holds every decode slot: a batch waits,
// stored only once a slot frees, and a request whose client went away
// while it waited fails as canceled without taking a slot.
func TestIngestWaitsForADecodeSlot(t *testing.T) {
	env := newTestEnv(t)
	slots := cap(env.srv.decodeSlots)
	require.Positive(t, slots)
	for range slots {
		env.srv.decodeSlots <- struct{}{}
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := env.srv.decodeBatchSlot(ctx, []byte(batch("", 1, benign("e0", t0))))
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, env.srv.decodeSlots, slots, "a canceled wait takes no slot")

	done := make(chan response, 1)
	go func() {
		done <- env.do(store.RoleAgent, http.MethodPost, "/api/v1/events", batch("", 1, benign("e1", t0)))
	}()
	select {
	case r := <-done:
		t.Fatalf("a batch was handled while every decode slot was taken: %d %s", r.status, r.body)
	case <-time.After(100 * time.Millisecond):
	}
	require.Equal(t, 0, env.countEvents())

	for range slots {
		<-env.srv.decodeSlots
	}
	r := <-done
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, 1, env.countEvents())
	require.Empty(t, env.srv.decodeSlots, "the slot is given back")
}
