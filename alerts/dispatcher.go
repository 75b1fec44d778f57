package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-itm/vigil/store"
)

// Errors of the dead-letter operations, for callers to test with
// errors.Is. Both wrap ErrNotFound.
var (
	// ErrNotFound reports a sink or dead letter that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnknownSink reports a sink name that is not configured.
	ErrUnknownSink = fmt.Errorf("unknown sink: %w", ErrNotFound)
	// ErrNoDeadLetter reports a dead-letter id the sink does not hold.
	ErrNoDeadLetter = fmt.Errorf("no such dead letter: %w", ErrNotFound)
)

// SinkStatus is a sink's state, for the API and the CLI.
type SinkStatus struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Format   Format `json:"format"`
	Disabled bool   `json:"disabled,omitempty"`
	// Queued is how many alerts wait for delivery; DeadLetters how many
	// were given up on.
	Queued      int `json:"queued"`
	DeadLetters int `json:"dead_letters"`
	// LastError is the last failure of the alert at the head of the queue.
	LastError string `json:"last_error,omitempty"`
	// Stream is events or both for a sink that streams events; empty for
	// a sink of alerts only.
	Stream string `json:"stream,omitempty"`
	// EventsQueued is how many events of the event stream wait for
	// delivery, EventDeadLetters how many are in dead letters, and
	// EventsDropped how many a full queue dropped since the start.
	EventsQueued     int    `json:"events_queued,omitempty"`
	EventDeadLetters int    `json:"event_dead_letters,omitempty"`
	EventsDropped    uint64 `json:"events_dropped,omitempty"`
	// EventsLastError is the last failure of the event batch at the head
	// of the event queue.
	EventsLastError string `json:"events_last_error,omitempty"`
}

// Dispatcher fans alerts, and the event stream, out to the configured
// sinks. Dispatch and ExportEvents never block on a receiver; each sink
// delivers from its own queues in its own goroutines, which Run owns.
type Dispatcher struct {
	cfg Config
	log *slog.Logger
	m   *metrics
	// em are the event stream's metrics.
	em *metrics
	// sinks holds the alert lane of every configured sink, in
	// configuration order; eventLanes the event lanes of the sinks that
	// stream events.
	sinks      []*sink
	eventLanes []*sink
	byName     map[string]*sink
	seq        atomic.Uint64
	now        func() time.Time

	runOnce sync.Once
}

// New builds the dispatcher of cfg: it validates cfg, builds every sink
// (without connecting to any receiver) and restores the queues and dead
// letters persisted in cfg.StateDir. Metrics are registered on reg when it
// is not nil. Sinks deliver once Run is called; alerts dispatched before
// wait in their queues.
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Dispatcher, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sinks configuration: %w", err)
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	em, err := newEventMetrics(reg)
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{cfg: cfg, log: logger.With("component", "alerts"), m: m, em: em, byName: map[string]*sink{}, now: time.Now}
	var errs []error
	for i := range cfg.Outputs {
		sc := cfg.Outputs[i]
		s, err := d.newSink(sc)
		if err != nil {
			errs = append(errs, fmt.Errorf("sink %q: %w", sc.Name, err))
			continue
		}
		if err := s.load(); err != nil {
			// Entries that could be read are kept; the rest stay on disk.
			d.log.Error("restore sink queue", "sink", sc.Name, "err", err)
		}
		d.sinks = append(d.sinks, s)
		d.byName[sc.Name] = s
		if !sc.streamsEvents() {
			continue
		}
		ev, err := d.newEventLane(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("sink %q: event stream: %w", sc.Name, err))
			continue
		}
		if err := ev.load(); err != nil {
			d.log.Error("restore sink event queue", "sink", sc.Name, "err", err)
		}
		s.events = ev
		d.eventLanes = append(d.eventLanes, ev)
	}
	if err := errors.Join(errs...); err != nil {
		for _, s := range d.sinks {
			_ = s.send.close()
		}
		for _, s := range d.eventLanes {
			_ = s.send.close()
		}
		return nil, err
	}
	return d, nil
}

func (d *Dispatcher) newSink(sc SinkConfig) (*sink, error) {
	delim := byte('^')
	if sc.LEEFDelimiter != "" {
		delim, _ = ParseLEEFDelimiter(sc.LEEFDelimiter)
	}
	r, err := NewRenderer(sc.format(), RenderOptions{Version: d.cfg.Version, LEEFDelimiter: delim})
	if err != nil {
		return nil, err
	}
	snd, err := newSender(sc, r.Format(), d.cfg.Hostname)
	if err != nil {
		return nil, err
	}
	var sp spool = memSpool{}
	if d.cfg.StateDir != "" {
		ds, err := newDirSpool(filepath.Join(d.cfg.StateDir, sc.Name), d.cfg.Sync)
		if err != nil {
			_ = snd.close()
			return nil, err
		}
		sp = ds
	}
	return &sink{
		name: sc.Name, cfg: sc, render: r, send: snd, spool: sp,
		log: d.log.With("sink", sc.Name), m: d.m, now: d.now, wake: make(chan struct{}, 1),
	}, nil
}

// newSender builds the sender of a sink's type.
func newSender(sc SinkConfig, f Format, hostname string) (sender, error) {
	switch sc.Type {
	case TypeSyslog:
		return newSyslogSender(*sc.Syslog, hostname)
	case TypeHEC:
		return newHECSender(*sc.HEC, f, hostname)
	case TypeWebhook:
		return newWebhookSender(*sc.Webhook)
	case TypeFile:
		return newFileSender(*sc.File), nil
	}
	return nil, fmt.Errorf("unknown sink type %q", sc.Type)
}

// Run delivers queued alerts, one goroutine per sink (and one more per
// sink that streams events), until ctx is done; then each sink keeps
// delivering what is queued for at most Config.DrainTimeout, the senders
// are closed and Run returns nil. What is still queued then stays in the
// state directory for the next start. Run may be called once.
func (d *Dispatcher) Run(ctx context.Context) error {
	ran := false
	d.runOnce.Do(func() { ran = true })
	if !ran {
		return errors.New("alerts: dispatcher already ran")
	}
	var wg sync.WaitGroup
	for _, s := range d.sinks {
		if s.cfg.Disabled {
			continue
		}
		wg.Go(func() { s.run(ctx, d.cfg.DrainTimeout) })
		if s.events != nil {
			wg.Go(func() { s.events.run(ctx, d.cfg.DrainTimeout) })
		}
	}
	wg.Wait()
	var errs []error
	for _, s := range d.sinks {
		if err := s.send.close(); err != nil {
			errs = append(errs, fmt.Errorf("close sink %q: %w", s.name, err))
		}
		if s.events != nil {
			if err := s.events.send.close(); err != nil {
				errs = append(errs, fmt.Errorf("close sink %q event stream: %w", s.name, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		d.log.Warn("close sinks", "err", err)
	}
	return nil
}

// Dispatch hands a newly created alert to every sink whose filter it
// passes. rec is the decision record the alert was raised from (as given
// to store.Alerts.Create); its decision JSON supplies titles, tags, reasons
// and the event. Dispatch does not wait for any receiver; it is safe for
// concurrent use.
func (d *Dispatcher) Dispatch(a store.Alert, rec store.DecisionRecord) {
	al, err := FromStore(a, rec)
	if err != nil {
		d.log.Warn("decision of alert unreadable; delivering the stored fields only", "alert_id", a.ID, "err", err)
	}
	d.Enqueue(al)
}

// Enqueue hands alert a to every sink whose filter it passes. Sinks share
// a; it must not be changed afterwards.
func (d *Dispatcher) Enqueue(a *Alert) {
	now := d.now().UTC()
	for _, s := range d.sinks {
		if s.cfg.Disabled || !s.cfg.streamsAlerts() {
			continue
		}
		if !s.cfg.Filter.Match(a) {
			d.m.filtered.WithLabelValues(s.name).Inc()
			continue
		}
		s.enqueue(&DeadLetter{ID: d.entryID(now), Sink: s.name, Alert: a, Enqueued: now})
	}
}

// entryID returns a new queue entry id: the time in nanoseconds and a
// sequence number, in hex, so that ids sort by enqueue time.
func (d *Dispatcher) entryID(now time.Time) string {
	return fmt.Sprintf("%016x%08x", uint64(now.UnixNano()), d.seq.Add(1)&0xffffffff)
}

func (d *Dispatcher) sink(name string) (*sink, error) {
	s, ok := d.byName[name]
	if !ok {
		return nil, fmt.Errorf("sink %q: %w", name, ErrUnknownSink)
	}
	return s, nil
}

// Sinks returns the state of every sink, in configuration order.
func (d *Dispatcher) Sinks() []SinkStatus {
	out := make([]SinkStatus, len(d.sinks))
	for i, s := range d.sinks {
		out[i] = s.status()
	}
	return out
}

// lanes returns the alert lane of a sink and its event lane, if any.
func (s *sink) lanes() []*sink {
	if s.events == nil {
		return []*sink{s}
	}
	return []*sink{s, s.events}
}

// DeadLetters returns the dead letters of sink, oldest first: alerts, and
// batches of the event stream (entries with Events set).
func (d *Dispatcher) DeadLetters(sink string) ([]DeadLetter, error) {
	s, err := d.sink(sink)
	if err != nil {
		return nil, err
	}
	out := s.deadLetters()
	if s.events != nil {
		out = append(out, s.events.deadLetters()...)
		slices.SortStableFunc(out, func(a, b DeadLetter) int { return strings.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// Retry moves dead letter id of sink back to the end of its queue, with
// its attempts reset.
func (d *Dispatcher) Retry(sink, id string) error {
	s, err := d.sink(sink)
	if err != nil {
		return err
	}
	for _, l := range s.lanes() {
		if l.retry([]string{id}) > 0 {
			return nil
		}
	}
	return fmt.Errorf("sink %q: dead letter %q: %w", sink, id, ErrNoDeadLetter)
}

// RetryAll moves every dead letter of sink back to its queue and returns
// how many moved.
func (d *Dispatcher) RetryAll(sink string) (int, error) {
	s, err := d.sink(sink)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range s.lanes() {
		n += l.retry(nil)
	}
	return n, nil
}

// Discard deletes dead letter id of sink for good.
func (d *Dispatcher) Discard(sink, id string) error {
	s, err := d.sink(sink)
	if err != nil {
		return err
	}
	for _, l := range s.lanes() {
		if l.discard([]string{id}) > 0 {
			return nil
		}
	}
	return fmt.Errorf("sink %q: dead letter %q: %w", sink, id, ErrNoDeadLetter)
}

// SendTest renders the sample alert (see SampleAlert) in sink's format and
// sends it once, now, bypassing the queue, the filter and retries; the
// error says what went wrong. A sink whose stream is events only gets the
// sample event (see SampleEvent) the way it sends events instead. It is
// what `vigil sink test NAME` calls. It may run while Run delivers: the
// sink's sender is shared, so SendTest builds one of its own.
func (d *Dispatcher) SendTest(ctx context.Context, sink string) error {
	s, err := d.sink(sink)
	if err != nil {
		return err
	}
	if !s.cfg.streamsAlerts() {
		return d.sendTestEvent(ctx, s)
	}
	a := SampleAlert(d.now())
	p, err := s.render.Append(nil, a)
	if err != nil {
		return fmt.Errorf("sink %q: render sample alert: %w", sink, err)
	}
	snd, err := newSender(s.cfg, s.render.Format(), d.cfg.Hostname)
	if err != nil {
		return fmt.Errorf("sink %q: %w", sink, err)
	}
	err = snd.send(ctx, []*DeadLetter{{ID: d.entryID(d.now()), Sink: sink, Alert: a, Enqueued: d.now(), payload: p}})
	if cerr := snd.close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sink %q: send test alert: %w", sink, err)
	}
	return nil
}

// sendTestEvent sends the sample event once through a new event stream
// sender of s.
func (d *Dispatcher) sendTestEvent(ctx context.Context, s *sink) error {
	now := d.now()
	e, err := sampleEventEntry(d.entryID(now), s.name, now, s.render.Format(), d.cfg.Version)
	if err != nil {
		return fmt.Errorf("sink %q: render sample event: %w", s.name, err)
	}
	var shared sender
	if s.cfg.Type == TypeFile {
		shared = newFileSender(*s.cfg.File)
	}
	snd, err := newEventSender(s.cfg, s.render.Format(), d.cfg.Hostname, shared)
	if err != nil {
		return fmt.Errorf("sink %q: %w", s.name, err)
	}
	err = snd.send(ctx, []*DeadLetter{e})
	if cerr := snd.close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sink %q: send test event: %w", s.name, err)
	}
	return nil
}
