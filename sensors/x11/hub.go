package x11

import (
	"sync"
	"time"
)

// ClipboardState is what the clipboard sensor last read from the CLIPBOARD
// selection; paste events carry it.
type ClipboardState struct {
	Time   time.Time
	Format string
	Length int64
	SHA256 string
	// Text is set only when the clipboard sensor's configuration lets
	// content text into events; already truncated and masked.
	Text      string
	Files     []string
	SourceApp string
	Masked    bool
}

// Combo is a clipboard key combination the keyboard sensor saw.
type Combo struct {
	Time   time.Time
	Combo  string
	Op     string
	Window WindowInfo
	owner  any
}

// Hub is where the sensors watching one display meet. The clipboard sensor
// publishes the clipboard it read and claims the copy and cut key
// combinations that caused a change, so that one user action gives one
// event carrying both the keys and the content; the keyboard sensor reads
// the clipboard for paste events. Methods are safe for concurrent use.
type Hub struct {
	mu        sync.Mutex
	watchers  int
	clipboard *ClipboardState
	pending   []Combo
}

var (
	hubsMu sync.Mutex
	hubs   = map[string]*Hub{}
)

// HubFor returns the hub of display d (process-wide: sensors built apart
// from each other meet here).
func HubFor(d Display) *Hub {
	hubsMu.Lock()
	defer hubsMu.Unlock()
	h, ok := hubs[d.Key()]
	if !ok {
		h = &Hub{}
		hubs[d.Key()] = h
	}
	return h
}

// WatchClipboard says a clipboard sensor is reading the display's CLIPBOARD
// and will claim combinations; call the returned function when it stops.
func (h *Hub) WatchClipboard() (stop func()) {
	h.mu.Lock()
	h.watchers++
	h.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			h.watchers--
			h.mu.Unlock()
		})
	}
}

// ClipboardWatched reports whether a clipboard sensor runs on the display.
func (h *Hub) ClipboardWatched() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.watchers > 0
}

// SetClipboard records the clipboard's current content.
func (h *Hub) SetClipboard(s ClipboardState) {
	h.mu.Lock()
	h.clipboard = &s
	h.mu.Unlock()
}

// ClearClipboard forgets the content recorded: the clipboard sensor calls it
// when it starts, since what it knew before may be stale.
func (h *Hub) ClearClipboard() {
	h.mu.Lock()
	h.clipboard = nil
	h.mu.Unlock()
}

// Clipboard returns the last content recorded, if any.
func (h *Hub) Clipboard() (ClipboardState, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.clipboard == nil {
		return ClipboardState{}, false
	}
	return *h.clipboard, true
}

// AddCombo leaves a copy or cut combination for the clipboard sensor to
// claim; owner identifies the sensor that will expire it. It reports false
// (and keeps nothing) when no clipboard sensor watches the display.
func (h *Hub) AddCombo(c Combo, owner any) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watchers == 0 {
		return false
	}
	c.owner = owner
	// Combinations nobody expired (their keyboard sensor stopped) go after a
	// minute.
	keep := h.pending[:0]
	for _, p := range h.pending {
		if c.Time.Sub(p.Time) < time.Minute {
			keep = append(keep, p)
		}
	}
	keep = append(keep, c)
	h.pending = keep
	return true
}

// ClaimCombo takes the newest combination pressed within maxAge before now,
// dropping older ones (the clipboard changed once for all of them).
func (h *Hub) ClaimCombo(now time.Time, maxAge time.Duration) (Combo, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var got Combo
	ok := false
	keep := h.pending[:0]
	for _, c := range h.pending {
		if now.Sub(c.Time) <= maxAge {
			got, ok = c, true
			continue
		}
		keep = append(keep, c)
	}
	h.pending = keep
	return got, ok
}

// ExpireCombos removes and returns owner's combinations pressed before
// cutoff that no clipboard change claimed, so that the keyboard sensor
// reports them itself.
func (h *Hub) ExpireCombos(owner any, cutoff time.Time) []Combo {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Combo
	keep := h.pending[:0]
	for _, c := range h.pending {
		if c.owner == owner && c.Time.Before(cutoff) {
			out = append(out, c)
			continue
		}
		keep = append(keep, c)
	}
	h.pending = keep
	return out
}

// PendingCombos reports how many combinations wait for a claim.
func (h *Hub) PendingCombos() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pending)
}
