package keyboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/jezek/xgb/record"
	"github.com/jezek/xgb/xproto"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/x11"
)

var factory = sensors.NewFactory(ParseConfig, New)

// recordQueue is how many RECORD replies may wait between the reader and
// the key processing: about 20 seconds of the fastest XTEST typing.
const recordQueue = 4096

// batch is the key input of one RECORD reply, the news that recording
// started, or the error that ended the stream.
type batch struct {
	in      []x11.Input
	started bool
	err     error
}

// Run watches the display until ctx is done. It returns an error when the
// display cannot be watched or the X server goes away; the agent restarts
// the sensor.
func (s *Sensor) Run(ctx context.Context, emit func(event.Event)) error {
	return s.tracker.Ended(ctx, "record", s.run(ctx, emit))
}

func (s *Sensor) run(ctx context.Context, emit func(event.Event)) error {
	c, note, err := x11.Connect(s.cfg.Display)
	if err != nil {
		return fmt.Errorf("keyboard: %w", err)
	}
	defer c.Close()
	opcode, err := c.Extension(x11.ExtRecord)
	if err != nil {
		return fmt.Errorf("keyboard: %w", err)
	}
	at, err := c.WindowAtoms()
	if err != nil {
		return fmt.Errorf("keyboard: %w", err)
	}
	p := &processor{masker: s.masker, sink: s.env.Evidence, record: s.cfg.Keystrokes, maxChunk: s.cfg.MaxChunkBytes}
	if err := s.loadKeymap(c, &p.state); err != nil {
		return err
	}
	if qp, err := xproto.QueryPointer(c.X, c.Root).Reply(); err == nil {
		p.state.Caps = qp.Mask&xproto.ModMaskLock != 0
		p.state.Num = qp.Mask&xproto.ModMask2 != 0
	}
	// Root property changes tell us when _NET_ACTIVE_WINDOW moves.
	_ = xproto.ChangeWindowAttributes(c.X, c.Root, xproto.CwEventMask, []uint32{xproto.EventMaskPropertyChange})

	rctx, err := record.NewContextId(c.X)
	if err != nil {
		return fmt.Errorf("keyboard: allocate RECORD context: %w", err)
	}
	ranges := []record.Range{{
		DeviceEvents: record.Range8{First: 2, Last: 3},     // KeyPress, KeyRelease
		CoreRequests: record.Range8{First: 100, Last: 100}, // ChangeKeyboardMapping
	}}
	if err := record.CreateContextChecked(c.X, rctx, 0, 1, 1, []record.ClientSpec{3 /* AllClients */}, ranges).Check(); err != nil {
		return fmt.Errorf("keyboard: create RECORD context on %s: %w", c.Display, err)
	}

	raw, err := x11.DialRaw(c.Display, 10*time.Second)
	if err != nil {
		return fmt.Errorf("keyboard: data connection: %w", err)
	}
	if _, err := raw.Write(x11.EnableContextRequest(opcode, uint32(rctx))); err != nil {
		_ = raw.Close()
		return fmt.Errorf("keyboard: enable RECORD context on %s: %w", c.Display, err)
	}

	var wg sync.WaitGroup
	done := make(chan struct{})
	// The reader must never wait for the key processing: when the stream
	// connection's socket fills because its client lags, the X server
	// buffers the stream and, in that state, can drop whole RECORD replies
	// (see docs/sensors-x11.md). A deep queue keeps the reader reading.
	batches := make(chan batch, recordQueue)
	wg.Go(func() { readRecord(raw, batches, done) })
	xevents := c.Events(64)
	defer func() {
		// Disabling the context makes the server end the data stream; closing
		// the connections unblocks both readers whatever state they are in.
		close(done)
		xevents.Quiet()
		_ = record.DisableContextChecked(c.X, rctx).Check()
		record.FreeContext(c.X, rctx)
		_ = raw.Close()
		xevents.Stop()
		wg.Wait()
		p.flush()
	}()

	s.tracker.Set(sensors.StateStarting, "record", "waiting for the RECORD data stream")

	hub := x11.HubFor(c.Display)
	focus := focusCache{c: c, at: at, masker: s.masker}
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	comboTick := time.NewTicker(s.cfg.ComboWait / 4)
	defer comboTick.Stop()
	var lastStreamMapping time.Time
	emitCombo := func(cb x11.Combo, targetMasked bool) {
		var clip *x11.ClipboardState
		if st, ok := hub.Clipboard(); ok {
			clip = &st
		}
		s.tracker.Emitted()
		emit(comboEvent(cb, clip, targetMasked))
	}

	for {
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-batches:
			if !ok {
				return errors.New("keyboard: RECORD stream closed")
			}
			if b.err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("keyboard: RECORD stream on %s: %w", c.Display, b.err)
			}
			if b.started {
				// The server records from here on: keys are no longer missed.
				s.tracker.Working("record", note)
				s.log.Info("keyboard sensor watching", "display", c.Display.String())
				continue
			}
			now := time.Now()
			var win *x11.WindowInfo
			var masked bool
			for _, in := range b.in {
				switch in.Kind {
				case x11.InputMappingChange:
					p.state.Map.Apply(in)
					lastStreamMapping = now
				case x11.InputKeyRelease:
					p.state.Release(in.Keycode)
				case x11.InputKeyPress:
					if win == nil {
						// One focus check per reply: the server answers it after
						// handling the keys of this reply, so focus changes made
						// before them are seen.
						w, m, err := focus.current()
						if err != nil {
							if x11.IsConnectionError(err) {
								return fmt.Errorf("keyboard: X connection to %s lost: %w", c.Display, err)
							}
							s.tracker.Failed(err)
						}
						win, masked = w, m
					}
					k := p.press(in.Keycode, now, win, masked)
					if k.Op == "" {
						continue
					}
					cb := x11.Combo{Time: now, Combo: k.Combo, Op: k.Op, Window: *win}
					if k.Op == "paste" || !hub.AddCombo(cb, s) {
						emitCombo(cb, masked)
					}
				}
			}
			if p.haveChunk {
				idle.Reset(s.cfg.ChunkIdle)
			}
		case ev, ok := <-xevents.C:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("keyboard: X connection to %s lost", c.Display)
			}
			switch e := ev.(type) {
			case xproto.MappingNotifyEvent:
				// Core remappings arrive in the RECORD stream in order; a reload
				// here is for XKB changes, which the stream does not carry.
				if e.Request == xproto.MappingKeyboard && time.Since(lastStreamMapping) > 2*time.Second {
					if err := s.loadKeymap(c, &p.state); err != nil {
						s.tracker.Failed(err)
					}
				}
			case xproto.PropertyNotifyEvent:
				focus.changed(e)
			}
		case <-idle.C:
			p.flush()
		case <-comboTick.C:
			for _, cb := range hub.ExpireCombos(s, time.Now().Add(-s.cfg.ComboWait)) {
				emitCombo(cb, s.masker.Masked(&cb.Window))
			}
		}
	}
}

// loadKeymap reads the server's keyboard mapping.
func (s *Sensor) loadKeymap(c *x11.Conn, st *x11.KeyState) error {
	n := byte(int(c.MaxKeycode) - int(c.MinKeycode) + 1)
	rep, err := xproto.GetKeyboardMapping(c.X, xproto.Keycode(c.MinKeycode), n).Reply()
	if err != nil {
		return fmt.Errorf("keyboard: read keyboard mapping of %s: %w", c.Display, err)
	}
	km := x11.Keymap{Min: c.MinKeycode, PerKeycode: int(rep.KeysymsPerKeycode), Syms: make([]x11.Keysym, len(rep.Keysyms))}
	for i, k := range rep.Keysyms {
		km.Syms[i] = x11.Keysym(k)
	}
	st.Map = km
	return nil
}

// readRecord reads the RECORD data stream until it ends and sends the key
// input of each reply; the last batch carries the error that ended it.
func readRecord(conn net.Conn, out chan<- batch, done <-chan struct{}) {
	defer close(out)
	st := x11.NewRecordStream(conn)
	send := func(b batch) bool {
		select {
		case out <- b:
			return true
		case <-done:
			return false
		}
	}
	for {
		rep, err := st.Next()
		if err != nil {
			send(batch{err: err})
			return
		}
		if rep.Category == x11.RecordStartOfData {
			if !send(batch{started: true}) {
				return
			}
			continue
		}
		var in []x11.Input
		if perr := x11.ParseRecordData(rep, func(i x11.Input) { in = append(in, i) }); perr != nil {
			send(batch{err: perr})
			return
		}
		if len(in) > 0 && !send(batch{in: in}) {
			return
		}
	}
}

// focusCache keeps the focused window's details between key presses and
// re-reads them when the window or its title changes.
type focusCache struct {
	c      *x11.Conn
	at     x11.WindowAtoms
	masker *x11.Masker
	info   x11.WindowInfo
	masked bool
	valid  bool
}

// current returns the focused window and whether it is masked.
func (f *focusCache) current() (*x11.WindowInfo, bool, error) {
	w, _, err := f.c.ActiveWindow(f.at)
	if err != nil {
		return &f.info, f.masked, err
	}
	if f.valid && uint32(w) == f.info.ID {
		return &f.info, f.masked, nil
	}
	info, err := f.c.WindowInfo(w, f.at)
	if err != nil {
		return &f.info, f.masked, err
	}
	if w != 0 {
		// Title changes of the focused window (a browser switching tabs, a
		// dialog turning into a password prompt) invalidate the cache.
		_ = xproto.ChangeWindowAttributes(f.c.X, w, xproto.CwEventMask, []uint32{xproto.EventMaskPropertyChange})
	}
	f.info, f.masked, f.valid = info, f.masker.Masked(&info), true
	return &f.info, f.masked, nil
}

// changed invalidates the cache when the focused window's title changes.
func (f *focusCache) changed(e xproto.PropertyNotifyEvent) {
	if uint32(e.Window) == f.info.ID && (e.Atom == f.at.NetWMName || e.Atom == f.at.WMName || e.Atom == f.at.WMClass) {
		f.valid = false
	}
}
