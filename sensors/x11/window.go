package x11

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/jezek/xgb/xproto"

	"github.com/vigil-itm/vigil/event"
)

// maxTitleBytes bounds how much of a window title is read.
const maxTitleBytes = 4096

// WindowInfo describes a top-level window.
type WindowInfo struct {
	// ID is the X window id; 0 when no window has focus.
	ID uint32
	// Title is _NET_WM_NAME, else WM_NAME.
	Title string
	// Instance and Class are the two parts of WM_CLASS.
	Instance, Class string
	// App is a readable application name derived from the class.
	App string
	// PID is _NET_WM_PID, else the client's pid from X-Resource.
	PID int
	// Process and Executable name the process with PID, from /proc.
	Process, Executable string
	// URL is the address a browser window's title carries, if any.
	URL string
}

// Window returns the event field set for the window, nil for no window.
func (w *WindowInfo) Window() *event.Window {
	if w == nil || (w.ID == 0 && w.Title == "" && w.App == "") {
		return nil
	}
	return &event.Window{App: w.App, Title: w.Title, Class: w.Class, PID: int64(w.PID), URL: w.URL}
}

// ProcessField returns the event process field set for the window's
// process, nil when the pid is unknown.
func (w *WindowInfo) ProcessField() *event.Process {
	if w == nil || w.PID <= 0 {
		return nil
	}
	return &event.Process{PID: int64(w.PID), Name: w.Process, Executable: w.Executable}
}

// Same reports whether two infos describe the same window with the same title.
func (w *WindowInfo) Same(o *WindowInfo) bool {
	return w.ID == o.ID && w.Title == o.Title
}

// WindowAtoms are the atoms window lookups use.
type WindowAtoms struct {
	NetActiveWindow, NetWMName, WMName, WMClass, NetWMPID, UTF8String, WMState xproto.Atom
}

// WindowAtoms interns the atoms window lookups use.
func (c *Conn) WindowAtoms() (WindowAtoms, error) {
	a, err := c.MustAtoms("_NET_ACTIVE_WINDOW", "_NET_WM_NAME", "WM_NAME", "WM_CLASS", "_NET_WM_PID", "UTF8_STRING", "WM_STATE")
	if err != nil {
		return WindowAtoms{}, err
	}
	return WindowAtoms{a[0], a[1], a[2], a[3], a[4], a[5], a[6]}, nil
}

// ActiveWindow returns the focused top-level window: _NET_ACTIVE_WINDOW
// when the window manager publishes it (ewmh true), else the input focus
// walked up to its top-level window. It returns 0 when nothing has focus.
func (c *Conn) ActiveWindow(at WindowAtoms) (w xproto.Window, ewmh bool, err error) {
	v, typ, err := c.Property(c.Root, at.NetActiveWindow, 4)
	if err != nil {
		return 0, false, err
	}
	if typ != 0 && len(v) >= 4 {
		return xproto.Window(binary.LittleEndian.Uint32(v)), true, nil
	}
	f, err := xproto.GetInputFocus(c.X).Reply()
	if err != nil {
		return 0, false, fmt.Errorf("get input focus: %w", err)
	}
	if f.Focus == xproto.WindowNone || f.Focus == 1 /* PointerRoot */ || f.Focus == c.Root {
		return 0, false, nil
	}
	return c.topLevel(f.Focus, at), false, nil
}

// topLevel walks up from w to the window that carries WM_CLASS, or to the
// child of the root.
func (c *Conn) topLevel(w xproto.Window, at WindowAtoms) xproto.Window {
	for range 32 {
		if v, _, err := c.Property(w, at.WMClass, 4); err == nil && len(v) > 0 {
			return w
		}
		t, err := xproto.QueryTree(c.X, w).Reply()
		if err != nil || t.Parent == c.Root || t.Parent == 0 {
			return w
		}
		w = t.Parent
	}
	return w
}

// WindowInfo reads the title, class and process of window w.
func (c *Conn) WindowInfo(w xproto.Window, at WindowAtoms) (WindowInfo, error) {
	info := WindowInfo{ID: uint32(w)}
	if w == 0 {
		return info, nil
	}
	ck := []xproto.GetPropertyCookie{
		xproto.GetProperty(c.X, false, w, at.NetWMName, xproto.GetPropertyTypeAny, 0, maxTitleBytes/4),
		xproto.GetProperty(c.X, false, w, at.WMName, xproto.GetPropertyTypeAny, 0, maxTitleBytes/4),
		xproto.GetProperty(c.X, false, w, at.WMClass, xproto.GetPropertyTypeAny, 0, 256),
		xproto.GetProperty(c.X, false, w, at.NetWMPID, xproto.GetPropertyTypeAny, 0, 1),
	}
	var reps [4]*xproto.GetPropertyReply
	for i, k := range ck {
		r, err := k.Reply()
		if err != nil {
			return info, fmt.Errorf("read properties of window 0x%x: %w", w, err)
		}
		reps[i] = r
	}
	switch {
	case reps[0].Type != xproto.AtomNone && len(reps[0].Value) > 0:
		info.Title = DecodeText(reps[0].Value, true)
	case reps[1].Type != xproto.AtomNone:
		info.Title = DecodeText(reps[1].Value, reps[1].Type == at.UTF8String)
	}
	info.Instance, info.Class = DecodeWMClass(reps[2].Value)
	if v := reps[3].Value; reps[3].Format == 32 && len(v) >= 4 {
		info.PID = int(binary.LittleEndian.Uint32(v))
	}
	if info.PID == 0 {
		info.PID = c.ClientPID(w)
	}
	info.Process, info.Executable = processName(info.PID)
	info.App = AppName(info.Instance, info.Class, info.Process)
	info.URL = TitleURL(info.Title)
	return info, nil
}

// DecodeText turns a text property into UTF-8: UTF8_STRING values are
// checked (invalid bytes replaced), STRING values are Latin-1. A trailing
// NUL is dropped; inner NULs (lists of strings) become spaces.
func DecodeText(b []byte, isUTF8 bool) string {
	b = bytes.TrimRight(b, "\x00")
	if isUTF8 {
		s := strings.ToValidUTF8(string(b), "\uFFFD")
		return strings.ReplaceAll(s, "\x00", " ")
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		if c == 0 {
			sb.WriteByte(' ')
			continue
		}
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// DecodeWMClass splits a WM_CLASS value into its instance and class names.
func DecodeWMClass(b []byte) (instance, class string) {
	parts := bytes.SplitN(b, []byte{0}, 3)
	if len(parts) > 0 {
		instance = DecodeText(parts[0], utf8.Valid(parts[0]))
	}
	if len(parts) > 1 {
		class = DecodeText(parts[1], utf8.Valid(parts[1]))
	}
	return instance, class
}

// knownApps gives the usual name of applications whose WM_CLASS does not
// read well; keys are lower case.
var knownApps = map[string]string{
	"google-chrome":     "Google Chrome",
	"chromium":          "Chromium",
	"chromium-browser":  "Chromium",
	"firefox":           "Firefox",
	"firefox-esr":       "Firefox",
	"navigator":         "Firefox",
	"microsoft-edge":    "Microsoft Edge",
	"brave-browser":     "Brave Browser",
	"telegramdesktop":   "Telegram Desktop",
	"signal":            "Signal",
	"code":              "Visual Studio Code",
	"libreoffice-calc":  "LibreOffice Calc",
	"libreoffice-write": "LibreOffice Writer",
	"soffice":           "LibreOffice",
	"keepassxc":         "KeePassXC",
	"1password":         "1Password",
	"bitwarden":         "Bitwarden",
	"dbeaver":           "DBeaver",
	"thunderbird":       "Thunderbird",
	"xterm":             "XTerm",
}

// AppName derives a readable application name from WM_CLASS, falling back
// to the process name: "Google-chrome" becomes "Google Chrome" and
// "gnome-terminal-server" becomes "gnome terminal server".
func AppName(instance, class, process string) string {
	for _, k := range []string{class, instance} {
		if k == "" {
			continue
		}
		if n, ok := knownApps[strings.ToLower(k)]; ok {
			return n
		}
	}
	name := class
	if name == "" {
		name = instance
	}
	if name == "" {
		name = process
	}
	name = strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return ' '
		}
		return r
	}, name)
	return strings.TrimSpace(name)
}

// TitleURL returns the first http(s) address in a window title, which
// browsers show there when an extension or setting puts it in the title.
func TitleURL(title string) string {
	i := strings.Index(title, "http://")
	if j := strings.Index(title, "https://"); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	if i < 0 {
		return ""
	}
	s := title[i:]
	if end := strings.IndexAny(s, " \t\"<>|\u2014\u2013"); end >= 0 {
		s = s[:end]
	}
	s = strings.TrimRight(s, ".,;:)]}'")
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	return s
}
