package window

import (
	"os"
	"testing"
	"time"

	"github.com/jezek/xgb/xproto"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
	"github.com/vigil-itm/vigil/sensors/x11/x11test"
)

const waitFor, tick = 20 * time.Second, 20 * time.Millisecond

func started(t *testing.T, cfg Config) (*Sensor, *sensortest.Events) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
	s, err := New(cfg, sensors.Env{})
	require.NoError(t, err)
	evs, _ := sensortest.Start(t, s)
	sensortest.WaitState(t, s, sensors.StateOK, sensors.StateDegraded)
	return s, evs
}

func focused(evs *sensortest.Events) []event.Event {
	return evs.Find(func(e *event.Event) bool { return e.Event.Action == event.ActionWindowFocused })
}

func TestWindowFocusAndTitles(t *testing.T) {
	xvfb.Start(t, 1024, 768)
	d := x11test.NewDesktop(t)
	s, evs := started(t, DefaultConfig())

	d.Window("Inbox - Mozilla Thunderbird", "Mail", "thunderbird")
	b := d.Window("Quarterly numbers — https://docs.example.com/q3?tab=2 — Mozilla Firefox", "Navigator", "firefox")
	require.Eventually(t, func() bool { return len(focused(evs)) == 2 }, waitFor, tick)
	require.Equal(t, "ewmh", s.Health().Mode)
	d.SetTitle(b, "Upload - Google Drive - Mozilla Firefox")
	require.Eventually(t, func() bool { return len(focused(evs)) == 3 }, waitFor, tick)

	want := []event.Window{
		{App: "Thunderbird", Title: "Inbox - Mozilla Thunderbird", Class: "thunderbird"},
		{App: "Firefox", Title: "Quarterly numbers — https://docs.example.com/q3?tab=2 — Mozilla Firefox", Class: "firefox",
			URL: "https://docs.example.com/q3?tab=2"},
		{App: "Firefox", Title: "Upload - Google Drive - Mozilla Firefox", Class: "firefox"},
	}
	for i, e := range focused(evs) {
		require.NoError(t, e.Validate())
		require.Equal(t, "window", e.Event.Module)
		w := want[i]
		w.PID = int64(os.Getpid())
		require.Equal(t, w, *e.Window, "event %d", i)
		require.Equal(t, int64(os.Getpid()), e.Process.PID)
		require.NotEmpty(t, e.Process.Name)
		require.NotNil(t, e.User)
		require.Equal(t, []string{"process"}, e.Event.Category)
	}
}

func TestWindowInputFocusWithoutWindowManager(t *testing.T) {
	xvfb.Start(t, 1024, 768)
	d := x11test.NewDesktop(t)
	cfg := DefaultConfig()
	cfg.PollInterval = 100 * time.Millisecond
	s, evs := started(t, cfg)
	require.Equal(t, "input-focus", s.Health().Mode)

	w := d.PlainWindow("scratch.txt (~/notes) - GVIM", "gvim", "Gvim")
	d.Focus(w)
	require.Eventually(t, func() bool { return len(focused(evs)) == 1 }, waitFor, tick)
	e := focused(evs)[0]
	require.Equal(t, "Gvim", e.Window.Class)
	require.Equal(t, "scratch.txt (~/notes) - GVIM", e.Window.Title)

	// Once a window manager publishes _NET_ACTIVE_WINDOW the sensor follows it.
	d.Window("Terminal", "xterm", "XTerm")
	require.Eventually(t, func() bool { return s.Health().Mode == "ewmh" && len(focused(evs)) == 2 }, waitFor, tick)
}

func TestWindowScreenLock(t *testing.T) {
	xvfb.Start(t, 1024, 768)
	d := x11test.NewDesktop(t)
	_, evs := started(t, DefaultConfig())
	d.Window("Terminal", "xterm", "XTerm")

	lockEvents := func() []event.Event {
		return evs.Find(func(e *event.Event) bool {
			return e.Event.Action == event.ActionScreenLock || e.Event.Action == event.ActionScreenUnlock
		})
	}
	require.NoError(t, xproto.ForceScreenSaverChecked(d.X, xproto.ScreenSaverActive).Check())
	require.Eventually(t, func() bool { return len(lockEvents()) == 1 }, waitFor, tick)
	require.NoError(t, xproto.ForceScreenSaverChecked(d.X, xproto.ScreenSaverReset).Check())
	require.Eventually(t, func() bool { return len(lockEvents()) == 2 }, waitFor, tick)

	got := lockEvents()
	require.Equal(t, event.ActionScreenLock, got[0].Event.Action)
	require.Equal(t, event.ActionScreenUnlock, got[1].Event.Action)
	for _, e := range got {
		require.NoError(t, e.Validate())
		require.Equal(t, "x11", e.Session.Type)
		require.NotNil(t, e.User, "the user is the owner of the focused window")
	}
}

func TestWindowConfig(t *testing.T) {
	cases := []struct{ name, yaml, err string }{
		{"defaults", "", ""},
		{"all", "display: ':1'\ntitle_changes: false\npoll_interval: 2s\nscreen_saver: false\n", ""},
		{"unknown", "poll: 1s\n", "field poll not found"},
		{"fast poll", "poll_interval: 1ms\n", "window.poll_interval"},
		{"bad display", "display: x\n", "window.display"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(sensortest.YAML(t, tc.yaml))
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}
