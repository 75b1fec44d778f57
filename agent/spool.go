package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
)

// Spool is the agent's bounded on-disk upload queue. Event batches (with
// the alerting decisions made on them) and evidence packages are written
// here before upload and deleted only once the server has acknowledged
// them, so that a server that is down, or an agent that is killed
// mid-upload, loses nothing.
//
// Items are files named by a sequence number that increases across
// restarts; they are uploaded in that order. A batch file is the exact body
// of POST /api/v1/events, whose seq is the item's sequence number, so a
// batch sent twice is recognised by the server as a replay.
//
// When the spool would grow past its byte limit, the oldest batches of the
// lowest priority (events on which no rule fired first) are dropped to make
// room, and counted; evidence is never dropped to make room for events.
type Spool struct {
	dir      string
	maxBytes int64
	log      *slog.Logger

	mu      sync.Mutex
	next    uint64
	items   []spoolItem // ordered by seq
	bytes   int64
	dropped int64 // events dropped since the last TakeDropped
	// droppedTotal counts every event ever dropped, for the heartbeat.
	droppedTotal int64
	notify       chan struct{}
}

// spoolItem is one queued file.
type spoolItem struct {
	seq      uint64
	kind     string // kindBatch or kindEvidence
	priority int    // severity rank of the batch's strongest decision
	events   int
	size     int64
	name     string
}

const (
	kindBatch    = "batch"
	kindEvidence = "evidence"
)

// ErrSpoolFull is returned when an item cannot be queued because the spool
// is at its limit and nothing of lower priority can be dropped, or the
// disk is full.
var ErrSpoolFull = errors.New("spool full")

// batchBody is the on-disk and on-the-wire form of a batch.
type batchBody struct {
	Seq       uint64            `json:"seq"`
	Events    []*event.Event    `json:"events"`
	Decisions []engine.Decision `json:"decisions,omitempty"`
}

// encodeBatch writes an ingest body. HTML escaping is off, so that every
// event is in its canonical form (event.AppendJSON's), which the server
// stores as it comes instead of encoding the event again.
func encodeBatch(b batchBody) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// OpenSpool opens (creating it if needed) the spool in dir. Partial files
// left by a crash are removed; complete ones are queued again.
func OpenSpool(dir string, maxBytes int64, log *slog.Logger) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "rejected"), 0o700); err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	s := &Spool{dir: dir, maxBytes: maxBytes, log: log, next: 1, notify: make(chan struct{}, 1)}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	for _, de := range entries {
		name := de.Name()
		if de.IsDir() {
			continue
		}
		if name == "last-seq" {
			continue
		}
		if strings.HasPrefix(name, ".tmp-") {
			_ = os.Remove(filepath.Join(dir, name)) // never renamed: not queued
			continue
		}
		it, ok := parseItemName(name)
		if !ok {
			log.Warn("spool: ignoring unknown file", "file", name)
			continue
		}
		fi, err := de.Info()
		if err != nil {
			return nil, fmt.Errorf("open spool %s: %w", dir, err)
		}
		it.size = fi.Size()
		s.items = append(s.items, it)
		s.bytes += it.size
		if it.seq >= s.next {
			s.next = it.seq + 1
		}
	}
	sort.Slice(s.items, func(i, j int) bool { return s.items[i].seq < s.items[j].seq })
	// A sequence number must never go back, even when the spool was
	// emptied: the server ignores batches at or below the last it has.
	if last, err := os.ReadFile(filepath.Join(dir, "last-seq")); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(last)), 10, 64); err == nil && n >= s.next {
			s.next = n + 1
		}
	}
	return s, nil
}

// itemName is the file name of an item: seq, kind, priority and event
// count, so that the queue is rebuilt from a directory listing alone.
func itemName(it spoolItem) string {
	switch it.kind {
	case kindBatch:
		return fmt.Sprintf("%020d.p%d.n%d.batch.json", it.seq, it.priority, it.events)
	default:
		return fmt.Sprintf("%020d.evidence.zip", it.seq)
	}
}

func parseItemName(name string) (spoolItem, bool) {
	parts := strings.Split(name, ".")
	if len(parts) < 2 {
		return spoolItem{}, false
	}
	seq, err := strconv.ParseUint(parts[0], 10, 64)
	if err != nil || seq == 0 {
		return spoolItem{}, false
	}
	it := spoolItem{seq: seq, name: name}
	switch {
	case len(parts) == 5 && parts[3] == "batch" && parts[4] == "json" && strings.HasPrefix(parts[1], "p") && strings.HasPrefix(parts[2], "n"):
		p, err1 := strconv.Atoi(parts[1][1:])
		n, err2 := strconv.Atoi(parts[2][1:])
		if err1 != nil || err2 != nil || p < 0 || n < 0 {
			return spoolItem{}, false
		}
		it.kind, it.priority, it.events = kindBatch, p, n
	case len(parts) == 3 && parts[1] == "evidence" && parts[2] == "zip":
		it.kind = kindEvidence
	default:
		return spoolItem{}, false
	}
	return it, true
}

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Notify returns a channel that receives a value whenever an item is
// queued.
func (s *Spool) Notify() <-chan struct{} { return s.notify }

// AddBatch queues a batch of events and the alerting decisions made on
// them. priority is the severity rank of the strongest decision (0 when no
// rule fired). It returns ErrSpoolFull (and counts the events as dropped)
// when the batch cannot be kept.
func (s *Spool) AddBatch(events []*event.Event, decisions []engine.Decision, priority int) error {
	if len(events) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.next
	body, err := encodeBatch(batchBody{Seq: seq, Events: events, Decisions: decisions})
	if err != nil {
		return fmt.Errorf("spool batch: encode: %w", err)
	}
	it := spoolItem{seq: seq, kind: kindBatch, priority: priority, events: len(events), size: int64(len(body))}
	if !s.makeRoom(it) {
		s.countDropped(len(events))
		return fmt.Errorf("spool batch of %d events (priority %d): %w: %d of %d bytes used", len(events), priority, ErrSpoolFull, s.bytes, s.maxBytes)
	}
	if err := s.writeItem(&it, func(w io.Writer) error { _, err := w.Write(body); return err }); err != nil {
		s.countDropped(len(events))
		return err
	}
	return nil
}

// AddEvidence moves the evidence archive at path into the queue. Evidence
// may push out batches of events on which no rule fired, but nothing else.
func (s *Spool) AddEvidence(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("spool evidence: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := spoolItem{seq: s.next, kind: kindEvidence, size: fi.Size(), priority: 1}
	if !s.makeRoom(it) {
		return fmt.Errorf("spool evidence %s (%d bytes): %w", filepath.Base(path), fi.Size(), ErrSpoolFull)
	}
	it.name = itemName(it)
	if err := os.Rename(path, filepath.Join(s.dir, it.name)); err != nil {
		// Another file system: copy.
		if err := s.writeItem(&it, func(w io.Writer) error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer func() { _ = f.Close() }()
			_, err = io.Copy(w, f)
			return err
		}); err != nil {
			return err
		}
		_ = os.Remove(path)
		return nil
	}
	s.queued(it)
	return nil
}

// makeRoom drops the oldest items of the lowest priority below its own until
// it fits; it reports whether it fits. Called with mu held.
func (s *Spool) makeRoom(it spoolItem) bool {
	if s.maxBytes <= 0 {
		return true
	}
	for s.bytes+it.size > s.maxBytes {
		victim := -1
		for i, c := range s.items {
			if c.kind != kindBatch || c.priority > it.priority || (it.kind == kindEvidence && c.priority > 0) {
				continue
			}
			if victim < 0 || c.priority < s.items[victim].priority {
				victim = i
			}
		}
		if victim < 0 {
			return false
		}
		v := s.items[victim]
		if err := os.Remove(filepath.Join(s.dir, v.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Error("spool: cannot drop a batch to make room", "file", v.name, "err", err)
			return false
		}
		s.items = append(s.items[:victim], s.items[victim+1:]...)
		s.bytes -= v.size
		s.countDropped(v.events)
		s.log.Warn("spool full: dropped the oldest lowest-priority batch", "seq", v.seq, "events", v.events, "priority", v.priority)
	}
	return true
}

func (s *Spool) countDropped(n int) {
	s.dropped += int64(n)
	s.droppedTotal += int64(n)
}

// writeItem writes a new item atomically: a temporary file, synced, then
// renamed into place. Called with mu held.
func (s *Spool) writeItem(it *spoolItem, write func(io.Writer) error) error {
	it.name = itemName(*it)
	tmp, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return spoolWriteError(err)
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		var fi os.FileInfo
		if fi, err = os.Stat(tmp.Name()); err == nil {
			it.size = fi.Size()
			err = os.Rename(tmp.Name(), filepath.Join(s.dir, it.name))
		}
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return spoolWriteError(err)
	}
	s.queued(*it)
	return nil
}

// queued records a new item and persists the sequence. Called with mu held.
func (s *Spool) queued(it spoolItem) {
	s.items = append(s.items, it)
	s.bytes += it.size
	s.next = it.seq + 1
	_ = os.WriteFile(filepath.Join(s.dir, "last-seq"), []byte(strconv.FormatUint(it.seq, 10)), 0o600)
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func spoolWriteError(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("spool: %w: the disk is full: %w", ErrSpoolFull, err)
	}
	return fmt.Errorf("spool: write: %w", err)
}

// TakeDropped returns the number of events dropped since the last call, and
// resets it; the agent raises an events-dropped event with it.
func (s *Spool) TakeDropped() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.dropped
	s.dropped = 0
	return n
}

// snapshot returns the queued items, oldest first.
func (s *Spool) snapshot() []spoolItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]spoolItem(nil), s.items...)
}

// path returns the file of an item.
func (s *Spool) path(it spoolItem) string { return filepath.Join(s.dir, it.name) }

// Done removes an acknowledged item.
func (s *Spool) Done(it spoolItem) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.items {
		if c.seq == it.seq {
			if err := os.Remove(s.path(c)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("spool: remove %s: %w", c.name, err)
			}
			s.items = append(s.items[:i], s.items[i+1:]...)
			s.bytes -= c.size
			return nil
		}
	}
	return nil
}

// Reject moves an item the server refused for good into rejected/, where
// an operator can look at it; it is never sent again.
func (s *Spool) Reject(it spoolItem) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.items {
		if c.seq == it.seq {
			if err := os.Rename(s.path(c), filepath.Join(s.dir, "rejected", c.name)); err != nil {
				return fmt.Errorf("spool: reject %s: %w", c.name, err)
			}
			s.items = append(s.items[:i], s.items[i+1:]...)
			s.bytes -= c.size
			return nil
		}
	}
	return nil
}

// SpoolStats describes the queue, for the heartbeat.
type SpoolStats struct {
	Items         int   `json:"items"`
	Bytes         int64 `json:"bytes"`
	MaxBytes      int64 `json:"max_bytes"`
	Batches       int   `json:"batches"`
	Evidence      int   `json:"evidence"`
	DroppedEvents int64 `json:"dropped_events"`
}

// Stats returns the queue's figures.
func (s *Spool) Stats() SpoolStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SpoolStats{Items: len(s.items), Bytes: s.bytes, MaxBytes: s.maxBytes, DroppedEvents: s.droppedTotal}
	for _, it := range s.items {
		if it.kind == kindBatch {
			st.Batches++
		} else {
			st.Evidence++
		}
	}
	return st
}
