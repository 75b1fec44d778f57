package window

import (
	"context"
	"fmt"
	"time"

	"github.com/jezek/xgb/screensaver"
	"github.com/jezek/xgb/xproto"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/x11"
)

var factory = sensors.NewFactory(ParseConfig, New)

// Run follows the focused window and the screen saver until ctx is done.
// It returns an error when the display cannot be watched or the X server
// goes away.
func (s *Sensor) Run(ctx context.Context, emit func(event.Event)) error {
	return s.tracker.Ended(ctx, "", s.run(ctx, emit))
}

func (s *Sensor) run(ctx context.Context, emit func(event.Event)) error {
	c, note, err := x11.Connect(s.cfg.Display)
	if err != nil {
		return fmt.Errorf("window: %w", err)
	}
	defer c.Close()
	at, err := c.WindowAtoms()
	if err != nil {
		return fmt.Errorf("window: %w", err)
	}
	if err := xproto.ChangeWindowAttributesChecked(c.X, c.Root, xproto.CwEventMask,
		[]uint32{xproto.EventMaskPropertyChange}).Check(); err != nil {
		return fmt.Errorf("window: watch the root window of %s: %w", c.Display, err)
	}
	if s.cfg.ScreenSaver {
		if _, err := c.Extension(x11.ExtScreenSaver); err != nil {
			note = joinNote(note, "no screen lock events: "+err.Error())
		} else if err := screensaver.SelectInputChecked(c.X, xproto.Drawable(c.Root), screensaver.EventNotifyMask).Check(); err != nil {
			note = joinNote(note, "no screen lock events: "+err.Error())
		}
	}

	xevents := c.Events(64)
	defer xevents.Stop()

	f := &follower{c: c, at: at, s: s, emit: emit}
	if err := f.check(); err != nil {
		return err
	}
	s.setHealth(f.ewmh, note)
	s.log.Info("window sensor watching", "display", c.Display.String(), "ewmh", f.ewmh)

	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	locked := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			if !f.ewmh {
				if err := f.check(); err != nil {
					return err
				}
			}
		case ev, ok := <-xevents.C:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("window: X connection to %s lost", c.Display)
			}
			switch e := ev.(type) {
			case xproto.PropertyNotifyEvent:
				root := e.Window == c.Root && e.Atom == at.NetActiveWindow
				title := s.cfg.TitleChanges && uint32(e.Window) == f.last.ID && (e.Atom == at.NetWMName || e.Atom == at.WMName)
				if !root && !title {
					continue
				}
				was := f.ewmh
				if err := f.check(); err != nil {
					return err
				}
				if f.ewmh != was {
					s.setHealth(f.ewmh, note)
				}
			case screensaver.NotifyEvent:
				var on bool
				switch e.State {
				case screensaver.StateOn:
					on = true
				case screensaver.StateOff:
					on = false
				default:
					continue
				}
				if on == locked {
					continue
				}
				locked = on
				s.tracker.Emitted()
				emit(lockEvent(time.Now(), on, c.Display.String(), x11.ProcessUser(f.last.PID)))
			}
		}
	}
}

func (s *Sensor) setHealth(ewmh bool, note string) {
	mode := "ewmh"
	if !ewmh {
		mode = "input-focus"
	}
	s.tracker.Working(mode, note)
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// follower remembers the focused window and reports changes.
type follower struct {
	c    *x11.Conn
	at   x11.WindowAtoms
	s    *Sensor
	emit func(event.Event)
	last x11.WindowInfo
	ewmh bool
	seen bool
}

// check reads the focused window and emits window-focused when it or its
// title changed. Only a lost connection is returned as an error.
func (f *follower) check() error {
	w, ewmh, err := f.c.ActiveWindow(f.at)
	if err != nil {
		return f.failed(err)
	}
	f.ewmh = ewmh
	info, err := f.c.WindowInfo(w, f.at)
	if err != nil {
		// The window may be gone already: that is a race, not a failure.
		return f.failed(err)
	}
	if f.seen && info.Same(&f.last) {
		return nil
	}
	if info.ID != f.last.ID && w != 0 {
		_ = xproto.ChangeWindowAttributes(f.c.X, w, xproto.CwEventMask, []uint32{xproto.EventMaskPropertyChange})
	}
	f.last, f.seen = info, true
	if w == 0 {
		return nil
	}
	f.s.tracker.Emitted()
	f.emit(focusEvent(time.Now(), &info))
	return nil
}

func (f *follower) failed(err error) error {
	if x11.IsConnectionError(err) {
		return fmt.Errorf("window: X connection to %s lost: %w", f.c.Display, err)
	}
	f.s.tracker.Failed(err)
	return nil
}
