package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// The event stream: every newly stored event, exported by the sinks whose
// stream is events or both, in its OCSF class (format ocsf) or as Vigil's
// own event JSON (format json).
//
// Events are rendered once per format when they are handed over, so that
// the queues hold bytes the server can no longer change, and one queue
// entry holds a batch of events (one file in the state directory, not one
// per event). The queue is bounded in events; when a new batch would pass
// the bound, the oldest queued events are dropped and counted. Alerts
// travel in a lane of their own and are never dropped.

// dropLogEvery rate-limits the warning about dropped events.
const dropLogEvery = time.Minute

// ExportEvents hands newly stored events to every sink that streams events
// (stream: events or both) and whose action filter they pass. It renders
// them in each sink's format and queues them; it never waits for a
// receiver. It is safe for concurrent use; events are read, never kept or
// changed. Delivery is at least once: a batch whose outcome is unknown is
// sent again.
//
// It implements the server's event export hook (api.EventExport).
func (d *Dispatcher) ExportEvents(events []*event.Event) {
	if len(d.eventLanes) == 0 || len(events) == 0 {
		return
	}
	now := d.now().UTC()
	cache := renderCache{version: d.cfg.Version, events: events}
	var picked []json.RawMessage
	for _, s := range d.eventLanes {
		if s.cfg.Disabled {
			continue
		}
		rendered := cache.get(s.render.Format(), d, s)
		picked = picked[:0]
		filtered := 0
		for i, e := range events {
			if rendered[i] == nil {
				continue // could not be rendered; counted by the cache
			}
			if !s.evCfg.match(e.Event.Action) {
				filtered++
				continue
			}
			picked = append(picked, rendered[i])
		}
		if filtered > 0 {
			s.m.filtered.WithLabelValues(s.name).Add(float64(filtered))
		}
		for chunk := range slices.Chunk(picked, s.chunk) {
			s.enqueueEvents(&DeadLetter{ID: d.entryID(now), Sink: s.name, Events: slices.Clone(chunk), Enqueued: now})
		}
	}
}

// match reports whether an event of action passes the action filter.
func (c *EventStreamConfig) match(action string) bool {
	if len(c.Actions) > 0 && !slices.Contains(c.Actions, action) {
		return false
	}
	return !slices.Contains(c.ExcludeActions, action)
}

// renderCache renders a batch of events at most once per format.
type renderCache struct {
	version string
	events  []*event.Event
	ocsf    []json.RawMessage
	json    []json.RawMessage
}

// get returns the events rendered in format f, nil where an event could
// not be rendered (counted as a render error of sink s, and logged).
func (c *renderCache) get(f Format, d *Dispatcher, s *sink) []json.RawMessage {
	slot := &c.json
	if f == FormatOCSF {
		slot = &c.ocsf
	}
	if *slot != nil {
		return *slot
	}
	out := make([]json.RawMessage, len(c.events))
	// One buffer for the batch; each event is a full slice expression of
	// it, so that no later append can reach into another event's bytes.
	buf := make([]byte, 0, 1024*len(c.events))
	for i, e := range c.events {
		start := len(buf)
		var v any = e
		if f == FormatOCSF {
			v = NewOCSFEvent(e, c.version)
		}
		b, err := appendJSON(buf, v)
		if err != nil {
			s.m.renderFailure.WithLabelValues(s.name).Inc()
			d.log.Warn("event cannot be exported", "event_id", e.Event.ID, "format", string(f), "err", err)
			buf = buf[:start]
			continue
		}
		// When the buffer grows, earlier events keep the old array, which
		// nothing writes to any more.
		out[i] = b[start:len(b):len(b)]
		buf = b
	}
	*slot = out
	return out
}

// renderEntry renders an entry's payload: its alert in the sink's format,
// or its events, one per line.
func (s *sink) renderEntry(e *DeadLetter) ([]byte, error) {
	if e.Alert == nil && len(e.Events) > 0 {
		n := len(e.Events) - 1
		for _, r := range e.Events {
			n += len(r)
		}
		p := make([]byte, 0, n)
		for i, r := range e.Events {
			if i > 0 {
				p = append(p, '\n')
			}
			p = append(p, r...)
		}
		return p, nil
	}
	if e.Alert == nil {
		return nil, fmt.Errorf("queue entry %s holds neither an alert nor events", e.ID)
	}
	return s.render.Append(nil, e.Alert)
}

// enqueueEvents queues an event stream entry. It never blocks on the
// receiver: when the queue would pass events.queue_size, the oldest
// entries not being sent are dropped and counted.
func (s *sink) enqueueEvents(e *DeadLetter) {
	if err := s.spool.save(kindQueue, e); err != nil {
		s.log.Error("persist queued events", "events", len(e.Events), "entry", e.ID, "err", err)
	}
	n := e.count()
	var drop []*DeadLetter
	s.mu.Lock()
	if s.queued+n > s.evCfg.QueueSize {
		// Entries being sent are a prefix of the queue: drop from the
		// first one that is not.
		from := 0
		for from < len(s.queue) && s.queue[from].sending {
			from++
		}
		to, over := from, s.queued+n-s.evCfg.QueueSize
		for to < len(s.queue) && over > 0 {
			over -= s.queue[to].count()
			to++
		}
		drop = slices.Clone(s.queue[from:to])
		s.queue = slices.Delete(s.queue, from, to)
	}
	dropped := countOf(drop)
	s.queued -= dropped
	s.dropped += uint64(dropped)
	s.queue = append(s.queue, e)
	s.queued += n
	s.gauges()
	logDrop := dropped > 0 && s.now().Sub(s.lastDropLog) >= dropLogEvery
	if logDrop {
		s.lastDropLog = s.now()
	}
	total := s.dropped
	s.mu.Unlock()
	if dropped > 0 {
		s.m.dropped.WithLabelValues(s.name).Add(float64(dropped))
		for _, x := range drop {
			_ = s.spool.remove(kindQueue, x.ID)
		}
	}
	if logDrop {
		s.log.Warn("event queue full: oldest events dropped", "dropped", dropped, "dropped_total", total, "queue_size", s.evCfg.QueueSize)
	}
	s.signal()
}

// newEventLane builds the event stream lane of alert lane a: its own
// queue, dead letters and state directory (<state_dir>/<sink>/events),
// and its own sender, except for a file, which both lanes write through
// one sender.
func (d *Dispatcher) newEventLane(a *sink) (*sink, error) {
	sc := a.cfg
	ev := *sc.Events
	snd, err := newEventSender(sc, a.render.Format(), d.cfg.Hostname, a.send)
	if err != nil {
		return nil, err
	}
	var sp spool = memSpool{}
	if d.cfg.StateDir != "" {
		ds, err := newDirSpool(filepath.Join(d.cfg.StateDir, sc.Name, "events"), d.cfg.Sync)
		if err != nil {
			_ = snd.close()
			return nil, err
		}
		sp = ds
	}
	items, _ := snd.limits()
	return &sink{
		name: sc.Name, cfg: sc, render: a.render, send: snd, spool: sp,
		log: a.log.With("stream", StreamEvents), m: d.em, now: d.now, wake: make(chan struct{}, 1),
		isEvents: true, evCfg: ev, chunk: max(items, 1),
	}, nil
}

// newEventSender builds the sender of a sink's event stream. shared is the
// alert lane's sender, which a file sink reuses.
func newEventSender(sc SinkConfig, f Format, hostname string, shared sender) (sender, error) {
	ev := *sc.Events
	switch sc.Type {
	case TypeFile:
		return eventLimits{sender: shared, items: ev.BatchSize, bytes: ev.MaxBatchBytes}, nil
	case TypeWebhook:
		w, err := newWebhookSender(*sc.Webhook)
		if err != nil {
			return nil, err
		}
		w.batch = true
		return eventLimits{sender: w, items: ev.BatchSize, bytes: ev.MaxBatchBytes}, nil
	case TypeHEC:
		hc := *sc.HEC
		if hc.SourceType == "" {
			hc.SourceType = "vigil:event"
			if f == FormatOCSF {
				hc.SourceType = "ocsf:event"
			}
		}
		h, err := newHECSender(hc, f, hostname)
		if err != nil {
			return nil, err
		}
		return eventLimits{sender: h, items: ev.BatchSize, bytes: ev.MaxBatchBytes}, nil
	case TypeSyslog:
		s, err := newSyslogSender(*sc.Syslog, hostname)
		if err != nil {
			return nil, err
		}
		return eventLimits{sender: s, items: ev.BatchSize, bytes: ev.MaxBatchBytes}, nil
	}
	return nil, fmt.Errorf("unknown sink type %q", sc.Type)
}

// eventLimits caps a sender's batches at the event stream's batch size
// and bytes.
type eventLimits struct {
	sender
	items, bytes int
}

func (l eventLimits) limits() (items, bytes int) {
	i, b := l.sender.limits()
	return min(i, l.items), min(b, l.bytes)
}

// eventTime reads the time of a rendered event: OCSF "time" (ms since the
// epoch) or Vigil's "@timestamp".
func eventTime(raw json.RawMessage) time.Time {
	var v struct {
		Time      *int64     `json:"time"`
		Timestamp *time.Time `json:"@timestamp"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return time.Time{}
	}
	switch {
	case v.Timestamp != nil:
		return v.Timestamp.UTC()
	case v.Time != nil:
		return time.UnixMilli(*v.Time).UTC()
	}
	return time.Time{}
}

// joinLines returns the entries' payloads, one per line, each line ended
// by a newline.
func joinLines(batch []*DeadLetter) []byte {
	n := 0
	for _, e := range batch {
		n += len(e.payload) + 1
	}
	b := make([]byte, 0, n)
	for _, e := range batch {
		b = append(append(b, e.payload...), '\n')
	}
	return b
}

// SampleEvent returns a made-up event for testing an event stream sink
// (`vigil sink test` on a sink whose stream is events): the file copy of
// SampleAlert.
func SampleEvent(now time.Time) *event.Event {
	return SampleAlert(now).Event
}

// sampleEventEntry renders SampleEvent in format f as an event stream
// entry.
func sampleEventEntry(id, sink string, now time.Time, f Format, version string) (*DeadLetter, error) {
	e := SampleEvent(now)
	var v any = e
	if f == FormatOCSF {
		v = NewOCSFEvent(e, version)
	}
	b, err := appendJSON(nil, v)
	if err != nil {
		return nil, err
	}
	return &DeadLetter{ID: id, Sink: sink, Events: []json.RawMessage{b}, Enqueued: now, payload: bytes.Clone(b)}, nil
}

// unlimited is a batch bound that does not bind.
const unlimited = math.MaxInt32
