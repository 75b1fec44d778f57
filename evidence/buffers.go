package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/vigil-itm/vigil/evidence/screen"
)

// Frame is one distinct screen image in the buffers. A frame that did not
// change is not stored again: its Until moves forward instead. A frame
// that changed in part shares the unchanged stripes of its image with the
// frame before it (see stripes.go). Frames are shared between the buffers
// and every capture that includes them, so their encoded bytes are never
// modified.
type Frame struct {
	// Time is when the image was first seen.
	Time time.Time
	// Until is when the image was last seen unchanged.
	Until time.Time
	// Width and Height are the encoded image's size in pixels.
	Width, Height int
	// Blanked is true when the image was replaced because a blocked
	// application had focus.
	Blanked bool

	pixHash uint64
	// The image is either whole (a blank frame) or a header and stripes.
	whole   []byte
	header  jpegHeader
	stripes []*stripe
	// size is the length of the JPEG file.
	size int
	// owned is how many bytes of stripes the ring charges to this frame:
	// those of the stripes no older frame in the ring holds.
	owned int64
}

// JPEG returns the frame's image as a JPEG file, assembled from its
// stripes; each call returns a new slice.
func (f *Frame) JPEG() []byte {
	if f.whole != nil {
		return bytes.Clone(f.whole)
	}
	var buf bytes.Buffer
	buf.Grow(f.size)
	_ = writeStriped(&buf, f.header, f.stripes) // a bytes.Buffer never fails to write
	return buf.Bytes()
}

// SHA256 returns the SHA-256 of the frame's JPEG file. It is computed on
// each call, from the stripes, when a package is written: buffering a
// frame does not hash its file.
func (f *Frame) SHA256() [32]byte {
	if f.whole != nil {
		return sha256.Sum256(f.whole)
	}
	return sumStriped(f.header, f.stripes)
}

// WriteJPEG writes the frame's JPEG file to w.
func (f *Frame) WriteJPEG(w io.Writer) error {
	if f.whole != nil {
		_, err := w.Write(f.whole)
		return err
	}
	return writeStriped(w, f.header, f.stripes)
}

// frameOverhead is what the ring charges for a frame beyond its stripes.
const frameOverhead = 128

// BufferStats sums up what the buffers hold.
type BufferStats struct {
	Frames          int   `json:"frames"`
	ScreenBytes     int64 `json:"screen_bytes"`
	Keystrokes      int   `json:"keystrokes"`
	KeystrokeBytes  int64 `json:"keystroke_bytes"`
	Clipboard       int   `json:"clipboard"`
	ClipboardBytes  int64 `json:"clipboard_bytes"`
	TerminalRecords int   `json:"terminal_records"`
	TerminalBytes   int64 `json:"terminal_bytes"`
	// FramesSeen counts every frame recorded, FramesDeduped those that
	// matched the previous frame and were not stored again.
	FramesSeen    uint64 `json:"frames_seen"`
	FramesDeduped uint64 `json:"frames_deduped"`
}

// ring is a FIFO bounded in bytes and in time.
type ring[T any] struct {
	items []T
	bytes int64
}

func (r *ring[T]) push(v T, size int64) {
	r.items = append(r.items, v)
	r.bytes += size
}

// trim drops items from the front while keep says no or the byte bound is
// exceeded.
func (r *ring[T]) trim(maxBytes int64, sizeOf func(T) int64, expired func(T) bool) {
	i := 0
	for i < len(r.items) && (r.bytes > maxBytes || expired(r.items[i])) {
		r.bytes -= sizeOf(r.items[i])
		i++
	}
	if i > 0 {
		var zero T
		for j := range i {
			r.items[j] = zero
		}
		r.items = r.items[i:]
	}
}

// termState is what the buffers remember about one terminal session.
type termState struct {
	start      TerminalRecord
	width      int
	height     int
	tail       string
	promptOpen bool
	ended      time.Time
}

// focus is the window that has focus.
type focus struct {
	app, title string
}

// Buffers are the endpoint's in-memory evidence ring buffers: screen
// frames, keystrokes, clipboard entries and terminal records. Nothing in
// them reaches disk unless a capture asks for it. Buffers implement the
// sensors' evidence sink and are safe for concurrent use.
type Buffers struct {
	cfg    Config
	logger *slog.Logger
	masker *Masker
	titles []*regexp.Regexp
	apps   map[string]bool
	now    func() time.Time
	seed   maphash.Seed

	// encMu guards scratch, the memory changed stripes are converted and
	// encoded in.
	encMu   sync.Mutex
	scratch stripeScratch

	mu       sync.Mutex
	frames   ring[*Frame]
	keys     ring[Keystroke]
	clips    ring[ClipboardEntry]
	terms    ring[TerminalRecord]
	sessions map[string]*termState
	focus    focus
	taps     map[*tap]struct{}
	seen     uint64
	deduped  uint64
	blanks   map[image.Point][]byte
}

// NewBuffers builds the ring buffers from a validated configuration.
func NewBuffers(cfg Config, logger *slog.Logger) (*Buffers, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := NewMasker(cfg.Masking)
	if err != nil {
		return nil, fmt.Errorf("build evidence buffers: %w", err)
	}
	b := &Buffers{
		cfg:      cfg,
		logger:   logger.With("component", "evidence"),
		masker:   m,
		apps:     map[string]bool{},
		now:      time.Now,
		seed:     maphash.MakeSeed(),
		sessions: map[string]*termState{},
		taps:     map[*tap]struct{}{},
		blanks:   map[image.Point][]byte{},
	}
	for _, a := range cfg.Privacy.BlockedApps {
		b.apps[strings.ToLower(a)] = true
	}
	for _, t := range cfg.Privacy.BlockedTitles {
		re, err := regexp.Compile(t)
		if err != nil {
			return nil, fmt.Errorf("build evidence buffers: privacy.blocked_titles %q: %w", t, err)
		}
		b.titles = append(b.titles, re)
	}
	return b, nil
}

// Config returns the configuration the buffers were built with.
func (b *Buffers) Config() Config { return b.cfg }

// Masker returns the masker the buffers apply.
func (b *Buffers) Masker() *Masker { return b.masker }

// SetFocus tells the buffers which application and window title have
// focus; the window sensor's output drives it. While a blocked application
// has focus, frames are blanked and typed or copied text is dropped.
func (b *Buffers) SetFocus(app, title string) {
	b.mu.Lock()
	b.focus = focus{app: app, title: title}
	b.mu.Unlock()
}

// blocked reports whether app or title is never captured.
func (b *Buffers) blocked(app, title string) bool {
	if app != "" && b.apps[strings.ToLower(app)] {
		return true
	}
	for _, re := range b.titles {
		if title != "" && re.MatchString(title) {
			return true
		}
	}
	return false
}

// FocusBlocked reports whether the window that has focus is never
// captured.
func (b *Buffers) FocusBlocked() bool {
	b.mu.Lock()
	f := b.focus
	b.mu.Unlock()
	return b.blocked(f.app, f.title)
}

func keystrokeSize(k Keystroke) int64 {
	return int64(len(k.Text)+len(k.Window)+len(k.App)) + 64
}

func clipboardSize(c ClipboardEntry) int64 {
	n := len(c.Text) + len(c.Window) + len(c.App) + len(c.SHA256) + len(c.Format) + 96
	for _, f := range c.Files {
		n += len(f) + 16
	}
	return int64(n)
}

func terminalSize(r TerminalRecord) int64 {
	return int64(len(r.Data)+len(r.Session)+len(r.Shell)+len(r.User)+len(r.TTY)) + 80
}

// frameSize is what a frame weighs in a capture: its whole JPEG file.
func frameSize(f *Frame) int64 { return int64(f.size) + frameOverhead }

// RecordKeystroke adds typed text to the buffers, masked where masking
// applies.
func (b *Buffers) RecordKeystroke(k Keystroke) {
	if !b.cfg.Enabled {
		return
	}
	if k.Time.IsZero() {
		k.Time = b.now()
	}
	switch {
	case b.blocked(k.App, k.Window):
		k.Text, k.Masked = maskAll(k.Text), true
	case b.masker.MaskedApp(k.App) || b.masker.IsSecretWindow(k.Window):
		k.Text, k.Masked = maskAll(k.Text), true
	default:
		var m bool
		k.Text, m = b.masker.Mask(k.Text)
		k.Masked = k.Masked || m
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.keys.push(k, keystrokeSize(k))
	for t := range b.taps {
		t.addKeystroke(k)
	}
	cut := b.now().Add(-b.cfg.Buffer.Duration.D())
	b.keys.trim(b.cfg.Buffer.TextBytes, keystrokeSize, func(k Keystroke) bool { return k.Time.Before(cut) })
}

// RecordClipboard adds a clipboard change or use to the buffers. Its text
// is dropped, truncated or masked as configured.
func (b *Buffers) RecordClipboard(c ClipboardEntry) {
	if !b.cfg.Enabled {
		return
	}
	if c.Time.IsZero() {
		c.Time = b.now()
	}
	switch {
	case c.Text == "":
	case !b.cfg.Masking.ClipboardText || b.blocked(c.App, c.Window) || b.masker.MaskedApp(c.App):
		c.Text, c.Masked = "", true
	default:
		if limit := b.cfg.Masking.ClipboardMaxText; limit > 0 && len(c.Text) > limit {
			c.Text = strings.ToValidUTF8(c.Text[:limit], "")
		}
		var m bool
		c.Text, m = b.masker.Mask(c.Text)
		c.Masked = c.Masked || m
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clips.push(c, clipboardSize(c))
	for t := range b.taps {
		t.addClipboard(c)
	}
	cut := b.now().Add(-b.cfg.Buffer.Duration.D())
	b.clips.trim(b.cfg.Buffer.TextBytes, clipboardSize, func(c ClipboardEntry) bool { return c.Time.Before(cut) })
}

// RecordTerminal adds a piece of a terminal session to the buffers. Input
// typed after a password prompt is masked up to Enter; secrets in input and
// output are masked.
func (b *Buffers) RecordTerminal(r TerminalRecord) {
	if !b.cfg.Enabled {
		return
	}
	if r.Time.IsZero() {
		r.Time = b.now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.sessions[r.Session]
	if st == nil {
		st = &termState{width: 80, height: 24}
		b.sessions[r.Session] = st
	}
	switch r.Kind {
	case TerminalStart:
		st.start = r
		if r.Width > 0 && r.Height > 0 {
			st.width, st.height = r.Width, r.Height
		}
	case TerminalResize:
		if r.Width > 0 && r.Height > 0 {
			st.width, st.height = r.Width, r.Height
		}
	case TerminalOutput:
		st.tail += r.Data
		if len(st.tail) > 256 {
			st.tail = st.tail[len(st.tail)-256:]
		}
		st.promptOpen = b.masker.IsPrompt(stripANSI(st.tail))
		r.Data, _ = b.masker.Mask(r.Data)
	case TerminalInput:
		if st.promptOpen {
			if i := strings.IndexAny(r.Data, "\r\n"); i >= 0 {
				r.Data = maskAll(r.Data[:i]) + r.Data[i:]
				st.promptOpen = false
			} else {
				r.Data = maskAll(r.Data)
			}
		} else {
			r.Data, _ = b.masker.Mask(r.Data)
		}
	case TerminalEnd:
		st.ended = r.Time
	}
	b.terms.push(r, terminalSize(r))
	for t := range b.taps {
		t.addTerminal(r)
	}
	now := b.now()
	cut := now.Add(-b.cfg.Buffer.Duration.D())
	b.terms.trim(b.cfg.Buffer.TextBytes, terminalSize, func(r TerminalRecord) bool { return r.Time.Before(cut) })
	for id, s := range b.sessions {
		if !s.ended.IsZero() && s.ended.Before(cut) {
			delete(b.sessions, id)
		}
	}
}

// ansiPattern matches terminal escape sequences, so that a prompt is
// recognised through colours and cursor moves.
var ansiPattern = regexp.MustCompile(`\x1b(?:\[[0-9;?]*[\x20-\x2f]*[\x40-\x7e]|\][^\a\x1b]*(?:\a|\x1b\\)|[\x40-\x5f])`)

func stripANSI(s string) string { return ansiPattern.ReplaceAllString(s, "") }

// RecordFrame adds a screen image seen at t; see RecordPixels. The image
// is not kept.
func (b *Buffers) RecordFrame(t time.Time, img image.Image) (*Frame, error) {
	if !b.cfg.Enabled || !b.cfg.Screen.Enabled {
		return nil, nil
	}
	return b.RecordPixels(t, screen.FromRGBA(toRGBA(img)))
}

// RecordPixels adds the screen a grabber captured at t, reading the pixels
// where they are (they may be the grabber's shared memory) and keeping
// none of them: each stripe of 16 rows is hashed in the grabber's layout,
// and only the stripes whose hash differs from the previous frame's are
// converted, scaled to the configured width and JPEG-encoded; the others
// are shared with the previous frame. An image identical to the previous
// frame only extends that frame. While a blocked application has focus a
// blank frame is stored instead. It returns the frame that now covers t.
// The pixels must not change during the call.
func (b *Buffers) RecordPixels(t time.Time, p screen.Pixels) (*Frame, error) {
	if !b.cfg.Enabled || !b.cfg.Screen.Enabled {
		return nil, nil
	}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("record screen frame: %w", err)
	}
	if p.Width == 0 || p.Height == 0 {
		return nil, errors.New("record screen frame: empty image")
	}
	blank := b.FocusBlocked()
	var (
		hashes []uint64
		h      uint64
		w, hgt int
	)
	if !blank {
		w, hgt = scaledSize(image.Pt(p.Width, p.Height), b.cfg.Screen.MaxWidth)
		hashes = make([]uint64, (hgt+stripeRows-1)/stripeRows)
		all := maphash.Hash{}
		all.SetSeed(b.seed)
		var v [8]byte
		for k := range hashes {
			y0, y1 := stripeSources(k, p.Height, hgt)
			hashes[k] = hashRows(b.seed, p, y0, y1, image.Pt(w, hgt))
			binary.LittleEndian.PutUint64(v[:], hashes[k])
			_, _ = all.Write(v[:])
		}
		h = all.Sum64()
	}
	b.mu.Lock()
	b.seen++
	var prev *Frame
	if n := len(b.frames.items); n > 0 {
		last := b.frames.items[n-1]
		if last.pixHash == h && last.Blanked == blank && !t.Before(last.Until) {
			last.Until = t
			b.deduped++
			b.mu.Unlock()
			return last, nil
		}
		prev = last
	}
	b.mu.Unlock()

	f := &Frame{Time: t, Until: t, Blanked: blank, pixHash: h}
	if blank {
		data, size, err := b.blankJPEG(image.Pt(p.Width, p.Height))
		if err != nil {
			return nil, err
		}
		f.whole, f.Width, f.Height, f.size = data, size.X, size.Y, len(data)
		f.owned = int64(len(data))
	} else {
		if err := b.encodeStripes(f, p, w, hgt, hashes, prev); err != nil {
			return nil, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frames.push(f, f.owned+frameOverhead)
	for tp := range b.taps {
		tp.addFrame(f)
	}
	b.trimFrames(b.now().Add(-b.cfg.Buffer.Duration.D()))
	return f, nil
}

// encodeStripes fills in f's image from src scaled to w x h: the stripes
// whose source pixels hash as in prev are prev's, the others are encoded
// by the buffers' stripe encoder straight from src (or from their scaled
// rows in the scratch memory).
func (b *Buffers) encodeStripes(f *Frame, src screen.Pixels, w, h int, hashes []uint64, prev *Frame) error {
	quality := b.cfg.Screen.Quality
	if prev != nil && (prev.Blanked || prev.Width != w || prev.Height != h) {
		prev = nil
	}
	f.Width, f.Height = w, h
	f.stripes = make([]*stripe, len(hashes))
	if prev != nil {
		f.header = prev.header
	}
	b.encMu.Lock()
	defer b.encMu.Unlock()
	enc, err := b.scratch.encoder(quality)
	if err != nil {
		return fmt.Errorf("encode %dx%d frame: %w", w, h, err)
	}
	if f.header == nil {
		if f.header, err = enc.header(w, h); err != nil {
			return fmt.Errorf("encode %dx%d frame: %w", w, h, err)
		}
	}
	for k, hash := range hashes {
		if prev != nil && prev.stripes[k].hash == hash {
			f.stripes[k] = prev.stripes[k]
			continue
		}
		px, y0, y1 := stripePixels(src, k, w, h, &b.scratch)
		seg := enc.encodeCached(px, y0, y1, b.scratch.cache(k, len(hashes)))
		f.stripes[k] = &stripe{data: seg, hash: hash}
		f.owned += int64(len(seg))
	}
	f.size = stripedSize(f.header, f.stripes)
	return nil
}

// trimFrames drops the oldest frames while the ring is over its byte bound
// or they ended before cut. The stripes a dropped frame shares with the
// next one stay in memory, so the next frame is charged for them.
func (b *Buffers) trimFrames(cut time.Time) {
	r := &b.frames
	i := 0
	for i < len(r.items) && (r.bytes > b.cfg.Buffer.ScreenBytes || r.items[i].Until.Before(cut)) {
		f := r.items[i]
		r.bytes -= f.owned + frameOverhead
		if i+1 < len(r.items) {
			next := r.items[i+1]
			if next.header != nil && len(next.stripes) == len(f.stripes) {
				for k, s := range f.stripes {
					if next.stripes[k] == s {
						next.owned += int64(len(s.data))
						r.bytes += int64(len(s.data))
					}
				}
			}
		}
		i++
	}
	if i > 0 {
		clear(r.items[:i])
		r.items = r.items[i:]
	}
}

// blankJPEG returns the encoded blank frame for a screen size, made once.
func (b *Buffers) blankJPEG(size image.Point) ([]byte, image.Point, error) {
	w, h := scaledSize(size, b.cfg.Screen.MaxWidth)
	key := image.Pt(w, h)
	b.mu.Lock()
	data, ok := b.blanks[key]
	b.mu.Unlock()
	if ok {
		return data, key, nil
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{R: 40, G: 40, B: 40, A: 255}), image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 50}); err != nil {
		return nil, key, fmt.Errorf("encode blank frame: %w", err)
	}
	data = buf.Bytes()
	b.mu.Lock()
	b.blanks[key] = data
	b.mu.Unlock()
	return data, key, nil
}

// Stats returns what the buffers hold now.
func (b *Buffers) Stats() BufferStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return BufferStats{
		Frames: len(b.frames.items), ScreenBytes: b.frames.bytes,
		Keystrokes: len(b.keys.items), KeystrokeBytes: b.keys.bytes,
		Clipboard: len(b.clips.items), ClipboardBytes: b.clips.bytes,
		TerminalRecords: len(b.terms.items), TerminalBytes: b.terms.bytes,
		FramesSeen: b.seen, FramesDeduped: b.deduped,
	}
}

// videoActive reports whether a capture that wants video is in its
// post-roll, so that the screen is recorded at the post-roll rate.
func (b *Buffers) videoActive() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for t := range b.taps {
		if t.video {
			return true
		}
	}
	return false
}
