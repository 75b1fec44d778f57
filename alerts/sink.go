package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// DeadLetter is one alert, or one batch of the event stream, waiting for,
// or given up on by, one sink. Queue entries and dead letters have the
// same shape.
type DeadLetter struct {
	// ID identifies the entry within its sink; ids sort by enqueue time.
	ID string `json:"id"`
	// Sink is the sink's name.
	Sink string `json:"sink"`
	// Alert is the alert to deliver; nil in an event stream entry.
	Alert *Alert `json:"alert,omitempty"`
	// Events are the events of an event stream entry, rendered in the
	// sink's format (OCSF or Vigil JSON objects), in the order they were
	// stored.
	Events []json.RawMessage `json:"events,omitempty"`
	// Enqueued is when the alert or events were handed to the sink.
	Enqueued time.Time `json:"enqueued"`
	// Attempts is how many delivery attempts failed.
	Attempts int `json:"attempts"`
	// LastAttempt and LastError describe the last failed attempt.
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	// DeadAt is when the entry became a dead letter, and Reason why:
	// max_attempts, rejected (the receiver refused it for good), render (it
	// cannot be written in the sink's format) or queue_full.
	DeadAt time.Time `json:"dead_at,omitzero"`
	Reason string    `json:"reason,omitempty"`

	// payload is the rendered alert, or the events joined by newlines,
	// kept between attempts.
	payload []byte
	// sending marks an event stream entry the worker has taken for
	// delivery: a full queue never drops it. Guarded by the sink's mu.
	sending bool
}

// count is how many items the entry holds: one alert, or its events.
func (e *DeadLetter) count() int {
	if e.Alert == nil && len(e.Events) > 0 {
		return len(e.Events)
	}
	return 1
}

// alertID is the entry's alert id, for logs; empty for events.
func (e *DeadLetter) alertID() string {
	if e.Alert == nil {
		return ""
	}
	return e.Alert.ID
}

// countOf is how many items the entries hold.
func countOf(entries []*DeadLetter) int {
	n := 0
	for _, e := range entries {
		n += e.count()
	}
	return n
}

// Dead-letter reasons.
const (
	ReasonMaxAttempts = "max_attempts"
	ReasonRejected    = "rejected"
	ReasonRender      = "render"
	ReasonQueueFull   = "queue_full"
)

// sender delivers rendered alerts to one receiver. send is called by one
// goroutine at a time; close after the last send.
type sender interface {
	// send delivers every entry of the batch, or fails as a whole. An error
	// wrapping errPermanent means that sending the same batch again cannot
	// succeed; a *retryAfterError asks for a minimum wait.
	send(ctx context.Context, batch []*DeadLetter) error
	// limits are the most entries and payload bytes of one batch.
	limits() (items, bytes int)
	close() error
}

// errPermanent marks delivery failures that retrying cannot fix.
var errPermanent = errors.New("rejected by the receiver")

// retryAfterError is a failure whose receiver said when to try again.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// sink is one configured destination: its queue, dead letters, worker and
// sender. A sink that streams events has a second lane, events, with a
// queue, dead letters, worker and sender of its own, so that a flood of
// events never delays or crowds out an alert.
type sink struct {
	name   string
	cfg    SinkConfig
	render Renderer
	send   sender
	spool  spool
	log    *slog.Logger
	m      *metrics
	now    func() time.Time

	// retryMu serialises replays of dead letters.
	retryMu sync.Mutex
	mu      sync.Mutex
	queue   []*DeadLetter
	dead    []*DeadLetter
	wake    chan struct{}
	// queued and deadItems count the items (alerts or events) of queue and
	// dead.
	queued, deadItems int

	// events is the event stream lane of a sink whose stream is events or
	// both; nil otherwise.
	events *sink
	// The fields below are set on an event stream lane only.
	isEvents bool
	// evCfg is the event stream configuration; chunk the most events of
	// one queue entry (the sender's batch limit).
	evCfg EventStreamConfig
	chunk int
	// dropped counts events a full queue dropped; lastDropLog rate-limits
	// the warning. Guarded by mu.
	dropped     uint64
	lastDropLog time.Time
}

func (s *sink) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// load restores the persisted queue and dead letters.
func (s *sink) load() error {
	q, qerr := s.spool.load(kindQueue)
	d, derr := s.spool.load(kindDead)
	deadIDs := map[string]bool{}
	for _, e := range d {
		deadIDs[e.ID] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range q {
		if deadIDs[e.ID] {
			// Moved to the dead letters, but the queue file stayed behind.
			_ = s.spool.remove(kindQueue, e.ID)
			continue
		}
		s.queue = append(s.queue, e)
	}
	s.dead = d
	s.queued, s.deadItems = countOf(s.queue), countOf(s.dead)
	s.gauges()
	return errors.Join(qerr, derr)
}

// gauges refreshes the queue gauges; s.mu must be held.
func (s *sink) gauges() {
	s.m.queueLength.WithLabelValues(s.name).Set(float64(s.queued))
	s.m.deadLetters.WithLabelValues(s.name).Set(float64(s.deadItems))
}

// enqueue hands e to the sink. It never blocks on the receiver: when the
// queue is full, e becomes a dead letter.
func (s *sink) enqueue(e *DeadLetter) {
	if err := s.spool.save(kindQueue, e); err != nil {
		s.log.Error("persist queued alert", "alert_id", e.alertID(), "err", err)
	}
	s.mu.Lock()
	if len(s.queue) >= s.cfg.Queue.Size {
		s.mu.Unlock()
		s.toDead([]*DeadLetter{e}, ReasonQueueFull, fmt.Errorf("queue full (%d alerts)", s.cfg.Queue.Size))
		return
	}
	s.queue = append(s.queue, e)
	s.queued += e.count()
	s.gauges()
	s.mu.Unlock()
	s.signal()
}

// peek returns up to n entries from the head of the queue without removing
// them: only the worker removes entries, and only from the head (a full
// event stream queue drops entries too, but never those peeked: they are
// marked as being sent until release or done).
func (s *sink) peek(n int) []*DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.queue[:min(n, len(s.queue))])
	for _, e := range out {
		e.sending = true
	}
	return out
}

// release unmarks entries peeked but left for a later batch.
func (s *sink) release(entries []*DeadLetter) {
	if len(entries) == 0 {
		return
	}
	s.mu.Lock()
	for _, e := range entries {
		e.sending = false
	}
	s.mu.Unlock()
}

// done removes delivered (or dead-lettered) entries from the queue.
func (s *sink) done(batch []*DeadLetter) {
	s.mu.Lock()
	s.queue = slices.DeleteFunc(s.queue, func(e *DeadLetter) bool {
		if slices.Contains(batch, e) {
			s.queued -= e.count()
			return true
		}
		return false
	})
	s.gauges()
	s.mu.Unlock()
	for _, e := range batch {
		if err := s.spool.remove(kindQueue, e.ID); err != nil {
			s.log.Error("remove delivered alert from the queue", "alert_id", e.alertID(), "err", err)
		}
	}
}

// toDead makes the entries dead letters. They must not be in the queue any
// more, or are removed from it here.
func (s *sink) toDead(batch []*DeadLetter, reason string, cause error) {
	now := s.now().UTC()
	s.mu.Lock()
	for _, e := range batch {
		e.DeadAt, e.Reason = now, reason
		if cause != nil {
			e.LastError = cause.Error()
		}
		if err := s.spool.save(kindDead, e); err != nil {
			s.log.Error("persist dead letter", "alert_id", e.alertID(), "err", err)
		}
		s.m.deadLettered.WithLabelValues(s.name, reason).Add(float64(e.count()))
		if s.isEvents {
			s.log.Warn("event batch dead-lettered", "events", e.count(), "entry", e.ID, "reason", reason, "attempts", e.Attempts, "err", e.LastError)
		} else {
			s.log.Warn("alert dead-lettered", "alert_id", e.alertID(), "entry", e.ID, "reason", reason, "attempts", e.Attempts, "err", e.LastError)
		}
	}
	s.dead = append(s.dead, batch...)
	s.deadItems += countOf(batch)
	var drop []*DeadLetter
	if over := len(s.dead) - s.cfg.Queue.MaxDeadLetters; over > 0 {
		drop = slices.Clone(s.dead[:over])
		s.dead = slices.Delete(s.dead, 0, over)
		s.deadItems -= countOf(drop)
	}
	s.gauges()
	s.mu.Unlock()
	s.done(batch)
	for _, e := range drop {
		_ = s.spool.remove(kindDead, e.ID)
		s.m.discarded.WithLabelValues(s.name).Add(float64(e.count()))
		s.log.Warn("dead letter discarded: too many dead letters", "alert_id", e.alertID(), "entry", e.ID, "max_dead_letters", s.cfg.Queue.MaxDeadLetters)
	}
}

// run delivers queued alerts until ctx is done, then tries what is left
// once more within drain.
func (s *sink) run(ctx context.Context, drain time.Duration) {
	for {
		batch := s.prepare()
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				s.drain(drain)
				return
			case <-s.wake:
				continue
			}
		}
		if !s.deliver(ctx, batch) {
			s.drain(drain)
			return
		}
	}
}

// prepare takes the next batch from the head of the queue and renders its
// entries; entries that cannot be rendered become dead letters.
func (s *sink) prepare() []*DeadLetter {
	maxItems, maxBytes := s.send.limits()
	batch := s.peek(maxItems)
	size, items, used := 0, 0, 0
	var bad []*DeadLetter
	out := make([]*DeadLetter, 0, len(batch))
	for _, e := range batch {
		if len(out) > 0 && items+e.count() > maxItems {
			break
		}
		used++
		if e.payload == nil {
			p, err := s.renderEntry(e)
			if err != nil {
				s.m.renderFailure.WithLabelValues(s.name).Inc()
				s.mu.Lock()
				e.LastError = err.Error()
				s.mu.Unlock()
				bad = append(bad, e)
				continue
			}
			e.payload = p
		}
		if len(out) > 0 && size+len(e.payload) > maxBytes {
			used--
			break
		}
		size += len(e.payload)
		items += e.count()
		out = append(out, e)
	}
	s.release(batch[used:])
	if len(bad) > 0 {
		s.toDead(bad, ReasonRender, nil)
		if len(out) == 0 {
			return s.prepare()
		}
	}
	return out
}

// deliver sends one batch, retrying with backoff; it returns false when ctx
// ended first (the batch stays queued).
func (s *sink) deliver(ctx context.Context, batch []*DeadLetter) bool {
	q := s.cfg.Queue
	for attempt := 1; ; attempt++ {
		err := s.attempt(ctx, batch)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if errors.Is(err, errPermanent) {
			s.toDead(batch, ReasonRejected, err)
			return true
		}
		if attempt >= q.MaxAttempts {
			s.toDead(batch, ReasonMaxAttempts, err)
			return true
		}
		wait := backoff(q.InitialBackoff, q.MaxBackoff, attempt)
		if ra, ok := errors.AsType[*retryAfterError](err); ok {
			wait = min(max(wait, ra.after), q.MaxBackoff)
		}
		s.log.Warn("delivery failed; retrying", "items", countOf(batch), "stream", s.streamName(), "attempt", attempt, "max_attempts", q.MaxAttempts, "retry_in", wait.String(), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// attempt sends a batch once and accounts for the outcome.
func (s *sink) attempt(ctx context.Context, batch []*DeadLetter) error {
	start := time.Now()
	err := s.send.send(ctx, batch)
	s.m.sendDuration.WithLabelValues(s.name).Observe(time.Since(start).Seconds())
	if err == nil {
		s.m.sent.WithLabelValues(s.name).Add(float64(countOf(batch)))
		s.done(batch)
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	now := s.now().UTC()
	s.mu.Lock()
	for _, e := range batch {
		e.Attempts++
		e.LastAttempt, e.LastError = now, err.Error()
	}
	s.mu.Unlock()
	s.m.failed.WithLabelValues(s.name).Add(float64(countOf(batch)))
	return err
}

// drain tries the rest of the queue once each, within d.
func (s *sink) drain(d time.Duration) {
	if d <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for ctx.Err() == nil {
		batch := s.prepare()
		if len(batch) == 0 {
			return
		}
		if err := s.attempt(ctx, batch); err != nil {
			break
		}
	}
	s.mu.Lock()
	left := s.queued
	s.mu.Unlock()
	if left > 0 {
		s.log.Warn("items left undelivered at shutdown", "items", left, "stream", s.streamName(), "persisted", s.persistent())
	}
}

// streamName names the lane in logs: alerts or events.
func (s *sink) streamName() string {
	if s.isEvents {
		return StreamEvents
	}
	return StreamAlerts
}

func (s *sink) persistent() bool {
	_, mem := s.spool.(memSpool)
	return !mem
}

// backoff is the wait before attempt+1: the initial wait doubled per
// failure, capped, with equal jitter (between half and all of it).
func backoff(initial, limit time.Duration, attempt int) time.Duration {
	d := initial
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(d-half+1)
}

// deadLetters returns copies of the dead letters, oldest first.
func (s *sink) deadLetters() []DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DeadLetter, len(s.dead))
	for i, e := range s.dead {
		out[i] = *e
		out[i].payload = nil
	}
	return out
}

// retry moves dead letters back to the tail of the queue; ids nil means
// all. It returns how many moved. Each entry is written to the queue on
// disk before the worker can see it, so that the worker's removal after
// delivery always finds the file.
func (s *sink) retry(ids []string) int {
	s.retryMu.Lock()
	defer s.retryMu.Unlock()
	s.mu.Lock()
	var picked []*DeadLetter
	for _, e := range s.dead {
		if ids == nil || slices.Contains(ids, e.ID) {
			e.Attempts, e.DeadAt, e.Reason, e.payload, e.sending = 0, time.Time{}, "", nil, false
			picked = append(picked, e)
		}
	}
	s.mu.Unlock()
	for _, e := range picked {
		if err := s.spool.save(kindQueue, e); err != nil {
			s.log.Error("persist retried dead letter", "alert_id", e.alertID(), "err", err)
		}
	}
	s.mu.Lock()
	var moved, gone []*DeadLetter
	for _, e := range picked {
		if slices.Contains(s.dead, e) {
			moved = append(moved, e)
		} else {
			gone = append(gone, e) // discarded meanwhile
		}
	}
	s.dead = slices.DeleteFunc(s.dead, func(e *DeadLetter) bool { return slices.Contains(moved, e) })
	s.queue = append(s.queue, moved...)
	s.queued += countOf(moved)
	s.deadItems -= countOf(moved)
	s.gauges()
	s.mu.Unlock()
	for _, e := range gone {
		_ = s.spool.remove(kindQueue, e.ID)
	}
	for _, e := range moved {
		if err := s.spool.remove(kindDead, e.ID); err != nil {
			s.log.Error("remove retried dead letter", "alert_id", e.alertID(), "err", err)
		}
	}
	if len(moved) > 0 {
		s.signal()
	}
	return len(moved)
}

// discard deletes dead letters; it returns how many.
func (s *sink) discard(ids []string) int {
	s.mu.Lock()
	var gone []*DeadLetter
	s.dead = slices.DeleteFunc(s.dead, func(e *DeadLetter) bool {
		if slices.Contains(ids, e.ID) {
			gone = append(gone, e)
			return true
		}
		return false
	})
	s.deadItems -= countOf(gone)
	s.gauges()
	s.mu.Unlock()
	for _, e := range gone {
		_ = s.spool.remove(kindDead, e.ID)
	}
	return len(gone)
}

func (s *sink) status() SinkStatus {
	s.mu.Lock()
	st := SinkStatus{Name: s.name, Type: s.cfg.Type, Format: s.render.Format(), Disabled: s.cfg.Disabled,
		Queued: len(s.queue), DeadLetters: len(s.dead)}
	if len(s.queue) > 0 {
		st.LastError = s.queue[0].LastError
	}
	s.mu.Unlock()
	if ev := s.events; ev != nil {
		st.Stream = s.cfg.stream()
		ev.mu.Lock()
		st.EventsQueued, st.EventDeadLetters, st.EventsDropped = ev.queued, ev.deadItems, ev.dropped
		if len(ev.queue) > 0 {
			st.EventsLastError = ev.queue[0].LastError
		}
		ev.mu.Unlock()
	}
	return st
}
