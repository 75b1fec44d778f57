package evidence

import "time"

// tap collects what the buffers receive while a capture is in its
// post-roll, so that nothing the capture needs is lost to eviction. Its
// fields are guarded by the buffers' mutex.
type tap struct {
	video  bool
	frames []*Frame
	keys   []Keystroke
	clips  []ClipboardEntry
	terms  []TerminalRecord
	bytes  int64
	max    int64
	full   chan struct{}
	isFull bool
}

func (t *tap) room(n int64) bool {
	if t.isFull {
		return false
	}
	if t.bytes+n > t.max {
		t.isFull = true
		close(t.full)
		return false
	}
	t.bytes += n
	return true
}

func (t *tap) addFrame(f *Frame) {
	if t.room(frameSize(f)) {
		t.frames = append(t.frames, f)
	}
}

func (t *tap) addKeystroke(k Keystroke) {
	if t.room(keystrokeSize(k)) {
		t.keys = append(t.keys, k)
	}
}

func (t *tap) addClipboard(c ClipboardEntry) {
	if t.room(clipboardSize(c)) {
		t.clips = append(t.clips, c)
	}
}

func (t *tap) addTerminal(r TerminalRecord) {
	if t.room(terminalSize(r)) {
		t.terms = append(t.terms, r)
	}
}

// material is what one capture took from the buffers.
type material struct {
	frames   []Frame
	keys     []Keystroke
	clips    []ClipboardEntry
	terms    []TerminalRecord
	sessions map[string]termState
}

// openTap takes everything from since on out of the buffers (the pre-roll)
// and registers a tap that receives what comes next.
func (b *Buffers) openTap(since time.Time, video bool, maxBytes int64) (*tap, []*Frame, material) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := &tap{video: video, max: maxBytes, full: make(chan struct{})}
	var pre material
	var frames []*Frame
	for _, f := range b.frames.items {
		if !f.Until.Before(since) && t.room(frameSize(f)) {
			frames = append(frames, f)
		}
	}
	for _, k := range b.keys.items {
		if !k.Time.Before(since) && t.room(keystrokeSize(k)) {
			pre.keys = append(pre.keys, k)
		}
	}
	for _, c := range b.clips.items {
		if !c.Time.Before(since) && t.room(clipboardSize(c)) {
			pre.clips = append(pre.clips, c)
		}
	}
	for _, r := range b.terms.items {
		if !r.Time.Before(since) && t.room(terminalSize(r)) {
			pre.terms = append(pre.terms, r)
		}
	}
	b.taps[t] = struct{}{}
	return t, frames, pre
}

// closeTap unregisters t and returns everything the capture saw: the
// pre-roll plus what the tap received, with frames copied as they are now.
func (b *Buffers) closeTap(t *tap, preFrames []*Frame, pre material) material {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.taps, t)
	m := material{
		keys:     append(pre.keys, t.keys...),
		clips:    append(pre.clips, t.clips...),
		terms:    append(pre.terms, t.terms...),
		sessions: map[string]termState{},
	}
	for _, f := range append(preFrames, t.frames...) {
		m.frames = append(m.frames, *f)
	}
	for _, r := range m.terms {
		if st, ok := b.sessions[r.Session]; ok {
			m.sessions[r.Session] = *st
		}
	}
	return m
}
