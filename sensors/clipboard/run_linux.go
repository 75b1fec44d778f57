package clipboard

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xfixes"
	"github.com/jezek/xgb/xproto"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/evidence"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/x11"
)

var factory = sensors.NewFactory(ParseConfig, New)

// errRefused means the owner would not convert the selection to a target.
var errRefused = errors.New("selection owner refused the conversion")

// errLost means the X connection went away.
var errLost = errors.New("lost the X connection")

// Run watches the selections until ctx is done. It returns an error when the
// display cannot be watched or the X server goes away.
func (s *Sensor) Run(ctx context.Context, emit func(event.Event)) error {
	return s.tracker.Ended(ctx, "xfixes", s.run(ctx, emit))
}

// atoms the sensor uses.
type atoms struct {
	clipboard, primary, targets, incr, prop                        xproto.Atom
	utf8, str, text, textPlainUTF8, textPlain, uriList, gnomeFiles xproto.Atom
}

func (s *Sensor) run(ctx context.Context, emit func(event.Event)) error {
	c, note, err := x11.Connect(s.cfg.Display)
	if err != nil {
		return fmt.Errorf("clipboard: %w", err)
	}
	defer c.Close()
	if _, err := c.Extension(x11.ExtXFixes); err != nil {
		return fmt.Errorf("clipboard: %w", err)
	}
	if _, err := xfixes.QueryVersion(c.X, 5, 0).Reply(); err != nil {
		return fmt.Errorf("clipboard: XFixes version on %s: %w", c.Display, err)
	}
	list, err := c.MustAtoms("CLIPBOARD", "PRIMARY", "TARGETS", "INCR", "VIGIL_SELECTION",
		"UTF8_STRING", "STRING", "TEXT", "text/plain;charset=utf-8", "text/plain", "text/uri-list", "x-special/gnome-copied-files")
	if err != nil {
		return fmt.Errorf("clipboard: %w", err)
	}
	at := atoms{list[0], list[1], list[2], list[3], list[4], list[5], list[6], list[7], list[8], list[9], list[10], list[11]}
	wat, err := c.WindowAtoms()
	if err != nil {
		return fmt.Errorf("clipboard: %w", err)
	}
	win, err := xproto.NewWindowId(c.X)
	if err != nil {
		return fmt.Errorf("clipboard: allocate window: %w", err)
	}
	if err := xproto.CreateWindowChecked(c.X, 0, win, c.Root, -10, -10, 1, 1, 0, xproto.WindowClassInputOnly,
		0, xproto.CwEventMask, []uint32{xproto.EventMaskPropertyChange}).Check(); err != nil {
		return fmt.Errorf("clipboard: create requestor window on %s: %w", c.Display, err)
	}
	mask := uint32(xfixes.SelectionEventMaskSetSelectionOwner | xfixes.SelectionEventMaskSelectionWindowDestroy |
		xfixes.SelectionEventMaskSelectionClientClose)
	for _, name := range s.cfg.Selections {
		sel := at.clipboard
		if name == SelectionPrimary {
			sel = at.primary
		}
		if err := xfixes.SelectSelectionInputChecked(c.X, win, sel, mask).Check(); err != nil {
			return fmt.Errorf("clipboard: watch %s on %s: %w", name, c.Display, err)
		}
	}

	xevents := c.Events(256)
	defer xevents.Stop()

	hub := x11.HubFor(c.Display)
	hub.ClearClipboard()
	stopWatch := hub.WatchClipboard()
	defer stopWatch()
	s.tracker.Working("xfixes", note)
	s.log.Info("clipboard sensor watching", "display", c.Display.String(), "selections", s.cfg.Selections)

	t := &transfer{c: c, win: win, at: at, events: xevents.C, timeout: s.cfg.Timeout, ctx: ctx, maxRead: s.cfg.MaxReadBytes}
	for {
		var ev xgb.Event
		if len(t.backlog) > 0 {
			ev, t.backlog = t.backlog[0], t.backlog[1:]
		} else {
			select {
			case <-ctx.Done():
				return nil
			case e, ok := <-xevents.C:
				if !ok {
					if ctx.Err() != nil {
						return nil
					}
					return fmt.Errorf("clipboard: X connection to %s lost", c.Display)
				}
				ev = e
			}
		}
		n, ok := ev.(xfixes.SelectionNotifyEvent)
		if !ok {
			continue
		}
		if n.Subtype != xfixes.SelectionEventSetSelectionOwner || n.Owner == 0 || n.Owner == win {
			if n.Selection == at.clipboard && n.Owner == 0 {
				hub.ClearClipboard() // the owner left: nothing to paste
			}
			continue
		}
		err := s.handleChange(t, wat, hub, n, emit)
		s.incrTransfers.Store(int64(t.incr))
		if err != nil {
			if errors.Is(err, errLost) || x11.IsConnectionError(err) {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("clipboard: X connection to %s lost: %w", c.Display, err)
			}
			if ctx.Err() != nil {
				return nil
			}
			s.tracker.Failed(err)
			s.log.Warn("clipboard content not read", "err", err)
		}
	}
}

// handleChange reads the selection that changed owner and reports it.
func (s *Sensor) handleChange(t *transfer, wat x11.WindowAtoms, hub *x11.Hub, n xfixes.SelectionNotifyEvent,
	emit func(event.Event)) error {
	now := time.Now()
	isClipboard := n.Selection == t.at.clipboard
	var combo x11.Combo
	var claimed bool
	if isClipboard {
		combo, claimed = hub.ClaimCombo(now, s.cfg.ComboWindow)
	}
	src := s.source(t.c, wat, n.Owner)
	if claimed && combo.Window.ID != 0 {
		src = combo.Window
	}
	masked := s.masker.Masked(&src)
	keep := s.cfg.MaxTextBytes + utf8UTFMax
	cnt, readErr := t.read(n.Selection, xproto.Timestamp(n.SelectionTimestamp), keep)
	if readErr != nil && (errors.Is(readErr, errLost) || x11.IsConnectionError(readErr)) {
		return readErr
	}

	op := "copy"
	switch {
	case claimed:
		op = combo.Op
	case cnt.cut:
		op = "cut"
	}
	text := ""
	if cnt.format == FormatText && !masked {
		text = Truncate(cnt.text, s.cfg.MaxTextBytes)
	}
	sum := cnt.sha256
	if masked {
		sum = "" // a hash of a short secret can be brute-forced
	}
	selName := SelectionClipboard
	if !isClipboard {
		selName = SelectionPrimary
	}

	entry := evidence.ClipboardEntry{
		Time: now, Operation: op, Selection: selName, Window: src.Title, App: src.App,
		Format: cnt.format, Length: cnt.length, SHA256: sum, Files: cnt.files, Masked: masked,
	}
	if !isClipboard {
		entry.Operation = "selection"
	}
	if s.cfg.EvidenceText {
		entry.Text = text
	}
	if s.env.Evidence != nil {
		s.env.Evidence.RecordClipboard(entry)
	}

	evText := ""
	if s.cfg.IncludeText {
		evText = text
	}
	if isClipboard {
		hub.SetClipboard(x11.ClipboardState{
			Time: now, Format: cnt.format, Length: cnt.length, SHA256: sum, Text: evText,
			Files: cnt.files, SourceApp: src.App, Masked: masked,
		})
	}
	if !isClipboard && !s.cfg.EmitPrimary {
		return readErr
	}
	action := event.ActionClipboardCopy
	if op == "cut" {
		action = event.ActionClipboardCut
	}
	e := event.Event{
		Timestamp: now,
		Event:     event.Meta{ID: event.NewID(now), Action: action, Module: Name, Outcome: "success"},
		Clipboard: &event.Clipboard{
			Operation: op, Format: cnt.format, ContentLength: cnt.length, ContentSHA256: sum,
			Content: evText, SourceApp: src.App, Files: cnt.files,
		},
		Window:  src.Window(),
		Process: src.ProcessField(),
		User:    x11.ProcessUser(src.PID),
	}
	if claimed {
		e.Keys = &event.Keys{Combo: combo.Combo}
	}
	if !isClipboard {
		e.Tags = append(e.Tags, "primary-selection")
	}
	if cnt.truncated {
		e.Tags = append(e.Tags, "content-truncated")
	}
	if readErr != nil {
		e.Tags = append(e.Tags, "content-unavailable")
		e.Event.Outcome = "unknown"
	}
	e.Normalize()
	s.tracker.Emitted()
	emit(e)
	return readErr
}

// utf8UTFMax leaves room to finish the last character when truncating.
const utf8UTFMax = 4

// source works out which application owns the selection: the owner
// window's own class when it has one, else the focused window when it
// belongs to the same process, else the owner process's name.
func (s *Sensor) source(c *x11.Conn, wat x11.WindowAtoms, owner xproto.Window) x11.WindowInfo {
	info, err := c.WindowInfo(owner, wat)
	if err != nil {
		s.tracker.Failed(err)
	}
	if info.Class != "" && info.Title != "" {
		return info
	}
	if w, _, err := c.ActiveWindow(wat); err == nil && w != 0 {
		if fi, err := c.WindowInfo(w, wat); err == nil && (fi.PID == info.PID && info.PID != 0 || info.App == "") {
			return fi
		}
	}
	return info
}

// transfer reads selections on behalf of the sensor's requestor window.
type transfer struct {
	c       *x11.Conn
	win     xproto.Window
	at      atoms
	events  <-chan xgb.Event
	backlog []xgb.Event
	timeout time.Duration
	ctx     context.Context
	maxRead int64
	// incr counts INCR transfers.
	incr int
}

// content is what was read from a selection.
type content struct {
	format    string
	length    int64
	sha256    string
	text      string
	files     []string
	cut       bool
	truncated bool
}

// wait returns the first event that match accepts, keeping the others for
// the main loop.
func (t *transfer) wait(match func(xgb.Event) bool) (xgb.Event, error) {
	timer := time.NewTimer(t.timeout)
	defer timer.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return nil, t.ctx.Err()
		case <-timer.C:
			return nil, errors.New("selection owner did not answer in time")
		case ev, ok := <-t.events:
			if !ok {
				return nil, errLost
			}
			if match(ev) {
				return ev, nil
			}
			t.backlog = append(t.backlog, ev)
		}
	}
}

// convert asks the owner of sel for target and returns the type of the
// property it wrote, or errRefused.
func (t *transfer) convert(sel, target xproto.Atom, ts xproto.Timestamp) error {
	_ = xproto.DeleteProperty(t.c.X, t.win, t.at.prop)
	xproto.ConvertSelection(t.c.X, t.win, sel, target, t.at.prop, ts)
	ev, err := t.wait(func(e xgb.Event) bool {
		n, ok := e.(xproto.SelectionNotifyEvent)
		return ok && n.Requestor == t.win && n.Selection == sel
	})
	if err != nil {
		return fmt.Errorf("convert selection %s to %s: %w", t.c.AtomName(sel), t.c.AtomName(target), err)
	}
	if n, ok := ev.(xproto.SelectionNotifyEvent); !ok || n.Property == xproto.AtomNone {
		return fmt.Errorf("convert selection %s to %s: %w", t.c.AtomName(sel), t.c.AtomName(target), errRefused)
	}
	return nil
}

// read picks the best target the owner offers and reads it.
func (t *transfer) read(sel xproto.Atom, ts xproto.Timestamp, keepText int) (content, error) {
	var out content
	targets := map[xproto.Atom]bool{}
	var order []xproto.Atom
	if err := t.convert(sel, t.at.targets, ts); err == nil {
		v, _, err := t.readAll(int64(64 << 10))
		if err != nil {
			return out, err
		}
		for i := 0; i+4 <= len(v.data); i += 4 {
			a := xproto.Atom(binary.LittleEndian.Uint32(v.data[i:]))
			targets[a] = true
			order = append(order, a)
		}
	} else if !errors.Is(err, errRefused) {
		return out, err
	}
	pick := func(cands ...xproto.Atom) xproto.Atom {
		for _, a := range cands {
			if targets[a] || len(targets) == 0 {
				return a
			}
		}
		return 0
	}
	target := pick(t.at.gnomeFiles, t.at.uriList)
	keep := int64(1 << 20)
	switch {
	case target != 0 && len(targets) > 0:
		out.format = FormatFiles
	default:
		target = pick(t.at.utf8, t.at.textPlainUTF8, t.at.str, t.at.text, t.at.textPlain)
		out.format = FormatText
		keep = int64(keepText)
	}
	if target == 0 {
		// No text or files: an image or another MIME type. Name the first one.
		for _, a := range order {
			n := t.c.AtomName(a)
			if strings.HasPrefix(n, "image/") {
				target, out.format = a, FormatImage
				break
			}
			if strings.Contains(n, "/") && out.format == FormatText {
				target, out.format = a, n
			}
		}
		keep = 0
	}
	if target == 0 {
		return out, nil
	}
	if err := t.convert(sel, target, ts); err != nil {
		return out, err
	}
	v, typ, err := t.readAll(keep)
	if err != nil {
		return out, err
	}
	out.length, out.truncated = v.length, v.truncated
	if !v.truncated {
		out.sha256 = hex.EncodeToString(v.sum.Sum(nil))
	}
	switch out.format {
	case FormatFiles:
		out.files, out.cut = ParseURIList(v.data)
	case FormatText:
		out.text = x11.DecodeText(v.data, typ != t.at.str)
	}
	return out, nil
}

// readValue is a property value read in full or up to the cap.
type readValue struct {
	data      []byte
	length    int64
	sum       hash.Hash
	truncated bool
}

// chunkUnits is how much of a property one GetProperty asks for, in 4-byte
// units (1 MiB).
const chunkUnits = 1 << 18

// readAll reads the property the owner wrote, through INCR when the owner
// chose it, hashing everything up to the read cap and keeping the first
// keep bytes.
func (t *transfer) readAll(keep int64) (readValue, xproto.Atom, error) {
	v := readValue{sum: sha256.New()}
	head, err := xproto.GetProperty(t.c.X, false, t.win, t.at.prop, xproto.GetPropertyTypeAny, 0, 0).Reply()
	if err != nil {
		return v, 0, fmt.Errorf("read selection property: %w", err)
	}
	if head.Type == t.at.incr {
		t.incr++
		return t.readIncr(keep)
	}
	total := int64(head.BytesAfter)
	v.length = total
	if total > t.maxRead {
		v.truncated = true
		_ = xproto.DeleteProperty(t.c.X, t.win, t.at.prop)
		return v, head.Type, nil
	}
	for off := int64(0); off < total; {
		r, err := xproto.GetProperty(t.c.X, false, t.win, t.at.prop, xproto.GetPropertyTypeAny, uint32(off/4), chunkUnits).Reply()
		if err != nil {
			return v, 0, fmt.Errorf("read selection property at %d: %w", off, err)
		}
		if len(r.Value) == 0 {
			break
		}
		v.add(r.Value, keep)
		off += int64(len(r.Value))
	}
	_ = xproto.DeleteProperty(t.c.X, t.win, t.at.prop)
	return v, head.Type, nil
}

// add hashes b and keeps what fits.
func (v *readValue) add(b []byte, keep int64) {
	v.sum.Write(b)
	if room := keep - int64(len(v.data)); room > 0 {
		v.data = append(v.data, b[:min(int64(len(b)), room)]...)
	}
}

// readIncr runs the INCR protocol: deleting the property asks the owner for
// the next chunk, and an empty chunk ends the transfer.
func (t *transfer) readIncr(keep int64) (readValue, xproto.Atom, error) {
	v := readValue{sum: sha256.New()}
	est, err := xproto.GetProperty(t.c.X, true, t.win, t.at.prop, xproto.GetPropertyTypeAny, 0, 1).Reply()
	if err != nil {
		return v, 0, fmt.Errorf("start INCR transfer: %w", err)
	}
	var estimate int64
	if len(est.Value) >= 4 {
		estimate = int64(binary.LittleEndian.Uint32(est.Value))
	}
	var typ xproto.Atom
	for {
		_, err := t.wait(func(e xgb.Event) bool {
			p, ok := e.(xproto.PropertyNotifyEvent)
			return ok && p.Window == t.win && p.Atom == t.at.prop && p.State == xproto.PropertyNewValue
		})
		if err != nil {
			return v, typ, fmt.Errorf("INCR transfer after %d bytes: %w", v.length, err)
		}
		n := 0
		for {
			r, err := xproto.GetProperty(t.c.X, true, t.win, t.at.prop, xproto.GetPropertyTypeAny, uint32(n/4), chunkUnits).Reply()
			if err != nil {
				return v, typ, fmt.Errorf("read INCR chunk: %w", err)
			}
			typ = r.Type
			n += len(r.Value)
			v.add(r.Value, keep)
			v.length += int64(len(r.Value))
			if r.BytesAfter == 0 {
				break
			}
		}
		if n == 0 {
			return v, typ, nil
		}
		if v.length > t.maxRead {
			// Stop here; the owner gives up on its own when no more deletes come.
			v.truncated = true
			v.length = max(v.length, estimate)
			return v, typ, nil
		}
	}
}
