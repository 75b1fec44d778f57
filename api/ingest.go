package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

// ingestRequest is the body of POST /api/v1/events.
type ingestRequest struct {
	// AgentID names the sending agent. An agent token sends for itself:
	// the field may be left out, and must otherwise equal the token's id.
	// Other tokens may name any agent (imports, replays); the default is
	// the token's id.
	AgentID string `json:"agent_id,omitempty"`
	// Seq numbers the agent's batches, increasing; a batch at or below the
	// agent's last acknowledged seq is a replay and is not stored again. 0
	// sends an unsequenced batch, deduplicated by event id only.
	Seq int64 `json:"seq" minimum:"0"`
	// Events are the events, each in the common event schema.
	Events []json.RawMessage `json:"events" api:"required" items:"Event"`
	// Decisions are the alerting decisions the agent's own engine made on
	// events of this batch (engine.Decision objects). The server evaluates
	// the events too; a decision it reaches itself has the same id, so one
	// alert results. A decision only the endpoint reached (its windows saw
	// what the server's did not) raises its alert from here.
	Decisions []json.RawMessage `json:"decisions,omitempty"`
}

// ingestResponse is the answer to POST /api/v1/events.
type ingestResponse struct {
	// Stored counts the events stored by this request.
	Stored int `json:"stored"`
	// Duplicates counts the events already stored (by event id), or every
	// event of a replayed batch.
	Duplicates int `json:"duplicates"`
	// DuplicateBatch reports a replayed batch: its seq was at or below the
	// agent's last acknowledged seq, and nothing was stored.
	DuplicateBatch bool `json:"duplicate_batch,omitempty"`
	// LastSeq is the agent's last acknowledged seq after the request.
	LastSeq int64 `json:"last_seq"`
	// Rejected lists the events that failed decoding or validation, by
	// their index in the batch; they were not stored.
	Rejected []rejectedEvent `json:"rejected"`
	// Decisions counts the decisions recorded for the stored events;
	// Alerts the alerts they raised.
	Decisions int `json:"decisions"`
	Alerts    int `json:"alerts"`
	// AgentDecisions counts the agent's decisions recorded by this
	// request (those the server had not reached itself).
	AgentDecisions int `json:"agent_decisions"`
	// Error is set, with code invalid_event, when events were rejected.
	Error *errorDetail `json:"error,omitempty"`
}

// rejectedEvent is one event of a batch that was not accepted.
type rejectedEvent struct {
	// Index is the event's position in the batch, from 0.
	Index int `json:"index"`
	// EventID is the event's event.id, when it could be read.
	EventID string `json:"event_id,omitempty"`
	// Error names every problem with its field, such as
	// "event.action: unknown value \"file-copy\"".
	Error string `json:"error"`
}

// decodedBatch is a batch after decoding: the events to store, in batch
// order without repeated ids, and the rejected ones.
type decodedBatch struct {
	agentID string
	seq     int64
	events  []*event.Event
	// bodies[i] is events[i] as the request carried it when that is the
	// event's canonical JSON, which the store then keeps as it is; nil
	// otherwise.
	bodies    [][]byte
	decisions []engine.Decision
	repeats   int
	rejected  []rejectedEvent
}

// decodeBatch decodes an ingest body. It fails only when the body is not
// a batch at all; bad events are listed in rejected.
func decodeBatch(data []byte, maxEvents int) (*decodedBatch, error) {
	if req, ok := scanBatch(data); ok {
		b, syntax, err := buildBatch(req, maxEvents)
		// A syntax error inside an event may mean the scan split a
		// malformed body in the wrong places: then let encoding/json judge
		// the whole body.
		if !syntax || json.Valid(data) {
			return b, err
		}
	}
	return decodeBatchStd(data, maxEvents)
}

// decodeSlotsFor is how many ingest requests may decode their batches at
// once with procs Ps: one fewer than the Ps, and at least one. Decoding is
// the bulk of a request's CPU before the store, and the store's one
// writer, which every request waits for, is serial: when all the Ps
// decode, the writer waits for one each time the scheduler takes it off
// (a transaction lasts tens of milliseconds, with system calls), and
// every request waits longer. Leaving it a core raised the ingest rate by
// 10-15 % on two cores (see docs/performance.md).
func decodeSlotsFor(procs int) int { return max(procs-1, 1) }

// decodeBatchSlot decodes an ingest body once a decode slot is free, or
// fails with the context's error if the client goes away first.
func (s *Server) decodeBatchSlot(ctx context.Context, data []byte) (*decodedBatch, error) {
	select {
	case s.decodeSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.decodeSlots }()
	return decodeBatch(data, s.cfg.MaxBatchEvents)
}

// decodeBatchStd decodes an ingest body with encoding/json, which names
// the problem of a malformed body precisely.
func decodeBatchStd(data []byte, maxEvents int) (*decodedBatch, error) {
	var req ingestRequest
	if err := decodeJSON(data, &req, false); err != nil {
		return nil, err
	}
	b, _, err := buildBatch(req, maxEvents)
	return b, err
}

// buildBatch checks the envelope and decodes every event. syntax reports
// that an event was rejected for malformed JSON.
func buildBatch(req ingestRequest, maxEvents int) (b *decodedBatch, syntax bool, err error) {
	if req.Events == nil {
		return nil, false, errorf(CodeInvalidBody, `events: required: want {"seq": N, "events": [...]}`)
	}
	if len(req.Events) == 0 {
		return nil, false, errorf(CodeInvalidBody, "events: the batch is empty")
	}
	if len(req.Events) > maxEvents {
		return nil, false, errorf(CodeBatchTooLarge, "the batch holds %d events; the limit is %d: split it", len(req.Events), maxEvents)
	}
	if req.Seq < 0 {
		return nil, false, errorf(CodeInvalidBody, "seq: must not be negative, got %d", req.Seq)
	}
	b = &decodedBatch{agentID: req.AgentID, seq: req.Seq, events: make([]*event.Event, 0, len(req.Events)),
		bodies: make([][]byte, 0, len(req.Events))}
	if len(req.Decisions) > maxEvents {
		return nil, false, errorf(CodeBatchTooLarge, "the batch holds %d decisions; the limit is %d: split it", len(req.Decisions), maxEvents)
	}
	for i, raw := range req.Decisions {
		var d engine.Decision
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, false, errorf(CodeInvalidBody, "decisions[%d]: %v", i, err)
		}
		if d.DecisionID == "" || d.EventID == "" || !d.Alert {
			return nil, false, errorf(CodeInvalidBody, "decisions[%d]: want an alerting decision with decision_id and event_id", i)
		}
		b.decisions = append(b.decisions, d)
	}
	seen := make(map[string]struct{}, len(req.Events))
	for i, raw := range req.Events {
		e, canonical, err := event.DecodeCanonical(raw)
		if err != nil {
			var se *event.SyntaxError
			syntax = syntax || errors.As(err, &se)
			r := rejectedEvent{Index: i, Error: clientMessage(err)}
			if e != nil {
				r.EventID = e.Event.ID
			}
			b.rejected = append(b.rejected, r)
			continue
		}
		if _, dup := seen[e.Event.ID]; dup {
			b.repeats++
			continue
		}
		seen[e.Event.ID] = struct{}{}
		b.events = append(b.events, e)
		if !canonical {
			raw = nil
		}
		b.bodies = append(b.bodies, raw)
	}
	return b, syntax, nil
}

// ingestEvents serves POST /api/v1/events.
func (s *Server) ingestEvents(c *gin.Context) (any, error) {
	data, err := readBody(c, s.cfg.MaxIngestBytes)
	if err != nil {
		return nil, err
	}
	b, err := s.decodeBatchSlot(c.Request.Context(), data)
	if err != nil {
		s.metrics.batches.WithLabelValues("rejected").Inc()
		return nil, err
	}
	tok, _ := tokenOf(c)
	switch {
	case b.agentID == "":
		b.agentID = tok.ID
	case tok.Role == store.RoleAgent && b.agentID != tok.ID:
		return nil, errorf(CodeForbidden, "agent_id %q: an agent token sends only for its own agent id (%s)", b.agentID, tok.ID)
	}
	resp := ingestResponse{Rejected: b.rejected, Duplicates: b.repeats}
	if resp.Rejected == nil {
		resp.Rejected = []rejectedEvent{}
	}
	ctx := c.Request.Context()
	if s.deps.Directory != nil {
		// The context at the time of the event is what the record keeps.
		for i, e := range b.events {
			if s.deps.Directory.Enrich(e) {
				b.bodies[i] = nil // to be encoded again
			}
		}
	}
	if len(b.events) > 0 {
		// A client that goes away mid-request must not abandon a write that
		// may commit: the batch would then be stored but never evaluated, and
		// its retry recognised as a replay.
		res, err := s.deps.Events.AppendEncoded(context.WithoutCancel(ctx), b.agentID, b.seq, b.events, b.bodies)
		if err != nil {
			s.metrics.batches.WithLabelValues("failed").Inc()
			return nil, err // the store's error names the agent and seq
		}
		resp.Stored, resp.DuplicateBatch, resp.LastSeq = res.Stored, res.DuplicateBatch, res.LastSeq
		resp.Duplicates += res.Duplicates
		// Only the events this request stored are exported and evaluated:
		// one already stored was exported and evaluated when it first came,
		// and evaluating it again would count it twice in rule windows.
		fresh := newEvents(b.events, res)
		if s.deps.EventExport != nil && len(fresh) > 0 {
			s.deps.EventExport.ExportEvents(fresh)
		}
		resp.Decisions, resp.Alerts = s.evaluateStored(ctx, fresh)
		// Also for a replayed batch: if the server died after storing the
		// events and before their decisions, the agent's decisions still
		// raise their alerts (recording them is idempotent).
		n, alerts := s.recordAgentDecisions(ctx, b)
		resp.AgentDecisions, resp.Alerts = n, resp.Alerts+alerts
	} else if b.seq > 0 {
		last, err := s.deps.Events.LastSeq(ctx, b.agentID)
		if err != nil {
			return nil, err
		}
		resp.LastSeq = last
	}
	s.metrics.ingested.WithLabelValues("stored").Add(float64(resp.Stored))
	s.metrics.ingested.WithLabelValues("duplicate").Add(float64(resp.Duplicates))
	s.metrics.ingested.WithLabelValues("rejected").Add(float64(len(resp.Rejected)))
	switch {
	case len(resp.Rejected) > 0 && resp.Stored+resp.Duplicates == 0:
		s.metrics.batches.WithLabelValues("rejected").Inc()
	case len(resp.Rejected) > 0:
		s.metrics.batches.WithLabelValues("partial").Inc()
	case resp.DuplicateBatch:
		s.metrics.batches.WithLabelValues("duplicate").Inc()
	default:
		s.metrics.batches.WithLabelValues("stored").Inc()
	}
	if n := len(resp.Rejected); n > 0 {
		first := resp.Rejected[0]
		resp.Error = &errorDetail{
			Code:      CodeInvalidEvent,
			Message:   fmt.Sprintf("%d of %d events rejected; the first, at index %d: %s", n, n+len(b.events)+b.repeats, first.Index, first.Error),
			RequestID: requestIDOf(c),
		}
		return reply{status: statusOf(CodeInvalidEvent), body: resp}, nil
	}
	return resp, nil
}

// newEvents returns the events of a batch that res says were stored.
func newEvents(evs []*event.Event, res store.AppendResult) []*event.Event {
	switch {
	case res.DuplicateBatch || res.Stored == 0:
		return nil
	case res.Duplicates == 0:
		return evs
	}
	fresh := make([]*event.Event, 0, res.Stored)
	for i, e := range evs {
		if i < len(res.New) && res.New[i] {
			fresh = append(fresh, e)
		}
	}
	return fresh
}

// recordAgentDecisions records the agent's own alerting decisions on
// events of the batch. Decisions already stored (the server reached the
// same one) are left as they are.
func (s *Server) recordAgentDecisions(ctx context.Context, b *decodedBatch) (decisions, alerts int) {
	if len(b.decisions) == 0 {
		return 0, 0
	}
	ctx = context.WithoutCancel(ctx)
	inBatch := make(map[string]bool, len(b.events))
	for _, e := range b.events {
		inBatch[e.Event.ID] = true
	}
	var recs []store.DecisionRecord
	for _, d := range b.decisions {
		if !inBatch[d.EventID] {
			s.log.Warn("agent decision about an event outside its batch ignored", "agent_id", b.agentID, "decision_id", d.DecisionID, "event_id", d.EventID)
			continue
		}
		if _, err := s.deps.Decisions.Get(ctx, d.DecisionID); err == nil {
			continue
		}
		rec, err := decisionRecord(d)
		if err != nil {
			s.metrics.persistErrors.Inc()
			continue
		}
		recs = append(recs, rec)
	}
	return s.raise(ctx, recs)
}

// evaluateStored evaluates newly stored events in batch order, records
// the decisions that have findings and raises the alerts they ask for. A
// failure here does not fail the request: the events are stored, and the
// failure is logged and counted.
func (s *Server) evaluateStored(ctx context.Context, events []*event.Event) (decisions, alerts int) {
	// The events are stored: their evaluation, decisions and alerts must
	// not be lost because the client went away.
	ctx = context.WithoutCancel(ctx)
	var recs []store.DecisionRecord
	for _, e := range events {
		d, err := s.deps.Engine.Evaluate(ctx, e)
		if err != nil {
			s.metrics.evalErrors.Inc()
			s.log.Warn("evaluate ingested event", "event_id", e.Event.ID, "err", err)
			continue
		}
		if d.DecisionID == "" {
			continue
		}
		rec, err := decisionRecord(d)
		if err != nil {
			s.metrics.persistErrors.Inc()
			s.log.Error("encode decision", "decision_id", d.DecisionID, "event_id", e.Event.ID, "err", err)
			continue
		}
		recs = append(recs, rec)
	}
	decisions, alerts = s.raise(ctx, recs)
	s.metrics.decisions.Add(float64(decisions))
	s.metrics.alerts.Add(float64(alerts))
	return decisions, alerts
}

// raise stores decisions and raises their alerts, in one write of the
// store, and hands every new alert to the sinks. It returns how many
// decisions were stored (now or before) and how many alerts created.
func (s *Server) raise(ctx context.Context, recs []store.DecisionRecord) (decisions, alerts int) {
	if len(recs) == 0 {
		return 0, 0
	}
	res, _ := s.deps.Alerts.Raise(ctx, recs) // every failure is also in its record's result
	for i, r := range res {
		rec := recs[i]
		switch {
		case r.Err != nil:
			s.metrics.persistErrors.Inc()
			s.log.Error("store decision and alert", "decision_id", rec.ID, "event_id", rec.EventID, "err", r.Err)
			continue
		case r.Created:
			alerts++
			if s.deps.Sinks != nil {
				s.deps.Sinks.Dispatch(r.Alert, rec)
			}
		}
		decisions++
	}
	return decisions, alerts
}

// decisionRecord is what the store keeps of a decision.
func decisionRecord(d engine.Decision) (store.DecisionRecord, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return store.DecisionRecord{}, fmt.Errorf("encode decision %q: %w", d.DecisionID, err)
	}
	rec := store.DecisionRecord{
		ID: d.DecisionID, Time: d.Timestamp, EventID: d.EventID, Action: d.Action,
		User: d.UserName, Host: d.HostName, BundleName: d.Bundle.Name, BundleRevision: d.Bundle.Revision,
		Alert: d.Alert, Severity: d.Severity, RiskScore: d.RiskScore,
		Decision: bytes.TrimSuffix(buf.Bytes(), []byte("\n")),
	}
	for _, r := range d.Rules {
		if !slices.Contains(rec.RuleIDs, r.ID) {
			rec.RuleIDs = append(rec.RuleIDs, r.ID)
		}
	}
	return rec, nil
}

// decide serves POST /api/v1/decide.
func (s *Server) decide(c *gin.Context) (any, error) {
	data, err := readBody(c, s.cfg.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errorf(CodeInvalidJSON, "empty request body: want an event object")
	}
	e, err := event.Decode(data)
	if err != nil && e != nil {
		// A hypothetical event may leave out its id and time.
		now := s.now().UTC()
		if e.Event.ID == "" {
			e.Event.ID = event.NewID(now)
		}
		if e.Timestamp.IsZero() {
			e.Timestamp = now
		}
		err = e.Validate()
	}
	if err != nil {
		return nil, &apiError{code: CodeInvalidEvent, msg: clientMessage(err), err: err}
	}
	if s.deps.Directory != nil {
		s.deps.Directory.Enrich(e)
	}
	d, err := s.deps.Decider.Evaluate(c.Request.Context(), e)
	if err != nil {
		if errors.Is(err, engine.ErrNoEvent) {
			return nil, err
		}
		return nil, fmt.Errorf("evaluate event %q: %w", e.Event.ID, err)
	}
	return d, nil
}
