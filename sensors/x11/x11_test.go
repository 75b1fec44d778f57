package x11

import (
	"bytes"
	"encoding/binary"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseDisplay(t *testing.T) {
	cases := []struct {
		in   string
		want Display
		err  string
	}{
		{":0", Display{Network: "unix", Address: "/tmp/.X11-unix/X0", Number: "0"}, ""},
		{":1.2", Display{Network: "unix", Address: "/tmp/.X11-unix/X1", Number: "1", Screen: 2}, ""},
		{"unix:3", Display{Network: "unix", Address: "/tmp/.X11-unix/X3", Number: "3"}, ""},
		{"unix/:4", Display{Network: "unix", Address: "/tmp/.X11-unix/X4", Number: "4"}, ""},
		{"localhost:10.0", Display{Network: "tcp", Address: "localhost:6010", Host: "localhost", Number: "10"}, ""},
		{"tcp/ws42:2", Display{Network: "tcp", Address: "ws42:6002", Host: "ws42", Number: "2"}, ""},
		{"/private/tmp/com.apple.launchd.x/org.xquartz:0", Display{Network: "unix", Address: "/private/tmp/com.apple.launchd.x/org.xquartz:0", Number: "0"}, ""},
		{"nocolon", Display{}, "want [host]:number"},
		{":", Display{}, "want [host]:number"},
		{":x", Display{}, "bad display number"},
		{":1.y", Display{}, "bad screen number"},
		{"dccp/h:1", Display{}, "unknown protocol"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDisplay(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	a, _ := ParseDisplay(":0")
	b, _ := ParseDisplay("unix:0.1")
	require.Equal(t, a.Key(), b.Key(), "screens of one display share state")
	t.Setenv("DISPLAY", "")
	_, err := ParseDisplay("")
	require.ErrorIs(t, err, ErrNoDisplay)
}

// xauthEntry encodes one Xauthority entry.
func xauthEntry(family uint16, addr, num, name string, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, family)
	for _, f := range [][]byte{[]byte(addr), []byte(num), []byte(name), data} {
		_ = binary.Write(&b, binary.BigEndian, uint16(len(f)))
		b.Write(f)
	}
	return b.Bytes()
}

func TestXauthority(t *testing.T) {
	cookie := bytes.Repeat([]byte{0xab}, 16)
	other := bytes.Repeat([]byte{0x01}, 16)
	var file []byte
	file = append(file, xauthEntry(familyLocal, "otherhost", "0", "MIT-MAGIC-COOKIE-1", other)...)
	file = append(file, xauthEntry(familyLocal, "ws42", "1", "MIT-MAGIC-COOKIE-1", other)...)
	file = append(file, xauthEntry(familyLocal, "ws42", "0", "XDM-AUTHORIZATION-1", other)...)
	file = append(file, xauthEntry(familyLocal, "ws42", "0", "MIT-MAGIC-COOKIE-1", cookie)...)
	entries, err := ParseXauthority(bytes.NewReader(file))
	require.NoError(t, err)
	require.Len(t, entries, 4)

	d, err := ParseDisplay(":0")
	require.NoError(t, err)
	got := FindCookie(entries, d, "ws42")
	require.NotNil(t, got)
	require.Equal(t, cookie, got.Data)

	d5, _ := ParseDisplay(":5")
	require.Nil(t, FindCookie(entries, d5, "ws42"))
	wild := append(bytes.Clone(file), xauthEntry(familyWild, "", "", "MIT-MAGIC-COOKIE-1", other)...)
	entries, err = ParseXauthority(bytes.NewReader(wild))
	require.NoError(t, err)
	require.Equal(t, other, FindCookie(entries, d5, "ws42").Data)

	// A damaged tail keeps the entries before it.
	entries, err = ParseXauthority(bytes.NewReader(file[:len(file)-3]))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Len(t, entries, 3)
}

func TestSetupReply(t *testing.T) {
	ok := make([]byte, 8+8)
	ok[0] = 1
	binary.LittleEndian.PutUint16(ok[6:], 2)
	require.NoError(t, readSetupReply(bytes.NewReader(ok)))

	reason := "No protocol specified\n"
	refused := make([]byte, 8+24)
	refused[1] = byte(len(reason))
	binary.LittleEndian.PutUint16(refused[6:], 6)
	copy(refused[8:], reason)
	require.ErrorContains(t, readSetupReply(bytes.NewReader(refused)), "refused the connection: No protocol specified")

	require.Error(t, readSetupReply(bytes.NewReader(ok[:5])))
	req := setupRequest("MIT-MAGIC-COOKIE-1", make([]byte, 16))
	require.Len(t, req, 12+20+16)
	require.Equal(t, byte('l'), req[0])
}

// recordReply builds a RECORD EnableContext reply.
func recordReply(category byte, swapped bool, data []byte) []byte {
	b := make([]byte, 32, 32+len(data))
	b[0], b[1] = 1, category
	binary.LittleEndian.PutUint32(b[4:], uint32(len(data)/4))
	if swapped {
		b[9] = 1
	}
	return append(b, data...)
}

func keyEvent(typ, code byte, ms uint32) []byte {
	b := make([]byte, 32)
	b[0], b[1] = typ, code
	binary.LittleEndian.PutUint32(b[4:], ms)
	return b
}

func changeMapping(order binary.ByteOrder, first byte, per int, syms ...uint32) []byte {
	n := len(syms) / per
	b := make([]byte, 8+4*len(syms))
	b[0], b[1] = reqChangeKeyboardMapping, byte(n)
	order.PutUint16(b[2:], uint16(len(b)/4))
	b[4], b[5] = first, byte(per)
	for i, s := range syms {
		order.PutUint32(b[8+4*i:], s)
	}
	return b
}

func TestRecordStream(t *testing.T) {
	var events []byte
	events = append(events, keyEvent(evKeyPress, 38, 100)...)
	events = append(events, keyEvent(22, 0, 0)...) // MotionNotify: skipped
	events = append(events, keyEvent(evKeyRelease|0x80, 38, 120)...)
	generic := keyEvent(evGeneric, 0, 0)
	binary.LittleEndian.PutUint32(generic[4:], 2)
	events = append(events, append(generic, make([]byte, 8)...)...)

	requests := append(changeMapping(binary.BigEndian, 200, 2, 0x1000e9, 0x1000c9), []byte{1, 0, 0, 1}...) // NoOperation, big-endian length

	var stream []byte
	stream = append(stream, recordReply(RecordStartOfData, false, nil)...)
	mapping := keyEvent(34, 0, 0) // MappingNotify sent to every client: skipped
	stream = append(stream, mapping...)
	stream = append(stream, recordReply(RecordFromServer, false, events)...)
	stream = append(stream, recordReply(RecordFromClient, true, requests)...)
	stream = append(stream, recordReply(RecordEndOfData, false, nil)...)

	s := NewRecordStream(bytes.NewReader(stream))
	var got []Input
	for {
		rep, err := s.Next()
		if err != nil {
			require.ErrorIs(t, err, ErrRecordEnded)
			break
		}
		require.NoError(t, ParseRecordData(rep, func(in Input) { got = append(got, in) }))
	}
	require.Equal(t, []Input{
		{Kind: InputKeyPress, Keycode: 38, Time: 100},
		{Kind: InputKeyRelease, Keycode: 38, Time: 120},
		{Kind: InputMappingChange, First: 200, Count: 1, PerKeycode: 2, Keysyms: []Keysym{0x1000e9, 0x1000c9}},
	}, got)

	xerr := make([]byte, 32)
	xerr[1] = 2
	_, err := NewRecordStream(bytes.NewReader(xerr)).Next()
	require.ErrorContains(t, err, "X error code 2")
	_, err = NewRecordStream(bytes.NewReader(recordReply(RecordFromServer, false, events)[:40])).Next()
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)

	bad := []RecordReply{
		{Category: RecordFromServer, Data: make([]byte, 20)},
		{Category: RecordFromClient, Data: []byte{100, 1, 0}},
		{Category: RecordFromClient, Data: []byte{100, 1, 9, 0}},
		{Category: RecordFromClient, Data: changeMapping(binary.LittleEndian, 8, 4, 1, 2, 3, 4)[:12]},
	}
	for i, rep := range bad {
		require.Error(t, ParseRecordData(rep, func(Input) {}), "case %d", i)
	}
	require.Equal(t, []byte{9, 5, 2, 0, 0x78, 0x56, 0x34, 0x12}, EnableContextRequest(9, 0x12345678))
}

// usKeymap is a small US-like keymap starting at keycode 8.
func usKeymap() Keymap {
	m := Keymap{Min: 8, PerKeycode: 6, Syms: make([]Keysym, 248*6)}
	set := func(code byte, syms ...Keysym) { copy(m.Syms[int(code-8)*6:], syms) }
	set(50, symShiftL)
	set(37, symControlL)
	set(64, symAltL, symMetaL)
	set(66, symCapsLock)
	set(77, symNumLock)
	set(92, symLevel3Shift)
	set(38, 'a', 'A')
	set(54, 'c')
	set(55, 'v', 'V')
	set(53, 'x', 'X')
	set(10, '1', '!')
	set(26, 'e', 'E', 'e', 'E', 0x20ac, 'E')
	set(36, symReturn)
	set(22, symBackSpace)
	set(118, symInsert)
	set(119, symDelete)
	set(87, symKPHome+7, 0xffb1)
	set(67, symF1)
	set(65, ' ')
	return m
}

func TestKeyState(t *testing.T) {
	type step struct {
		code    byte
		release bool
	}
	press := func(codes ...byte) []step {
		var out []step
		for _, c := range codes {
			out = append(out, step{code: c})
		}
		return out
	}
	seq := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	up := func(code byte) []step { return []step{{code: code, release: true}} }
	cases := []struct {
		name  string
		steps []step
		text  string
		combo []string
	}{
		{"letters", press(38, 65, 10), "a 1", nil},
		{"shift", seq(press(50, 38, 10), up(50), press(38)), "A!a", nil},
		{"caps lock", seq(press(66), up(66), press(38, 10), press(50, 38)), "A1a", nil},
		{"level3", seq(press(92, 26), up(92), press(26)), "€e", nil},
		{"specials", press(36, 22, 67), "<Enter><BackSpace><F1>", nil},
		{"keypad numlock", seq(press(87), press(77), up(77), press(87)), "<End>1", nil},
		{"copy cut paste", seq(press(37, 54), press(53), press(55), up(37)), "<ctrl+c><ctrl+x><ctrl+v>", []string{"ctrl+c", "ctrl+x", "ctrl+v"}},
		{"terminal", seq(press(37, 50, 54, 55)), "<ctrl+shift+c><ctrl+shift+v>", []string{"ctrl+shift+c", "ctrl+shift+v"}},
		{"insert delete", seq(press(37, 118), up(37), press(50, 118, 119)), "<ctrl+Insert><shift+Insert><shift+Delete>",
			[]string{"ctrl+insert", "shift+insert", "shift+delete"}},
		{"alt is no combo", press(64, 37, 54), "<ctrl+alt+c>", nil},
		{"autorepeat of modifiers", seq(press(50, 50, 50), up(50), press(38)), "a", nil},
		{"unknown keycode", press(200), "<NoSymbol>", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := KeyState{Map: usKeymap()}
			var text []byte
			var combos []string
			for _, st := range tc.steps {
				if st.release {
					s.Release(st.code)
					continue
				}
				k := s.Press(st.code)
				text = k.AppendText(text)
				if k.Combo != "" {
					combos = append(combos, k.Combo)
				}
			}
			require.Equal(t, tc.text, string(text))
			require.Equal(t, tc.combo, combos)
		})
	}
}

func TestKeymapApply(t *testing.T) {
	m := Keymap{Min: 8, PerKeycode: 2, Syms: make([]Keysym, 4)}
	m.Apply(Input{Kind: InputMappingChange, First: 9, Count: 2, PerKeycode: 3, Keysyms: []Keysym{1, 2, 3, 4, 5, 6}})
	require.Equal(t, []Keysym{1, 2}, m.Lookup(9))
	require.Equal(t, []Keysym{4, 5}, m.Lookup(10))
	require.Nil(t, m.Lookup(7))
	require.Nil(t, m.Lookup(200))
}

func TestMasker(t *testing.T) {
	m, err := MaskConfig{MaskBuiltin: true, MaskApps: []string{"Vault*"}, MaskTitles: []string{`(?i)\bsecret\b`}}.Compile()
	require.NoError(t, err)
	cases := []struct {
		w    WindowInfo
		mask bool
	}{
		{WindowInfo{Title: "Passwords.kdbx - KeePassXC", Class: "KeePassXC"}, true},
		{WindowInfo{Title: "Unlock", Process: "pinentry-gtk-2"}, true},
		{WindowInfo{Title: "[sudo] password for jdoe", Class: "XTerm"}, true},
		{WindowInfo{Title: "Enter PIN", Class: "Firefox"}, true},
		{WindowInfo{Title: "Top secret plans", Class: "Gedit"}, true},
		{WindowInfo{Title: "x", App: "vaultwarden"}, true},
		{WindowInfo{Title: "Spinning wheel - Shopping", Class: "Firefox"}, false},
		{WindowInfo{Title: "notes.txt", Class: "Gedit"}, false},
	}
	for _, tc := range cases {
		require.Equal(t, tc.mask, m.Masked(&tc.w), "%+v", tc.w)
	}
	off, err := MaskConfig{}.Compile()
	require.NoError(t, err)
	require.False(t, off.Masked(&WindowInfo{Class: "KeePassXC", Title: "password"}))
}

func TestWindowDecoding(t *testing.T) {
	inst, class := DecodeWMClass([]byte("google-chrome\x00Google-chrome\x00"))
	require.Equal(t, "google-chrome", inst)
	require.Equal(t, "Google-chrome", class)
	require.Equal(t, "Google Chrome", AppName(inst, class, "chrome"))
	require.Equal(t, "gnome terminal server", AppName("gnome-terminal-server", "", ""))
	require.Equal(t, "xclip", AppName("", "", "xclip"))
	require.Equal(t, "café", DecodeText([]byte("caf\xe9\x00"), false))
	require.Equal(t, "a b", DecodeText([]byte("a\x00b"), true))
	require.Equal(t, "bad\uFFFD", DecodeText([]byte("bad\xff"), true))

	urls := map[string]string{
		"Docs - https://docs.example.com/d/1 - Google Chrome":    "https://docs.example.com/d/1",
		"(http://intra.corp:8080/x?y=1), Firefox":                "http://intra.corp:8080/x?y=1",
		"Inbox (3) - jdoe@example.com - Gmail - Mozilla Firefox": "",
		"https:// - broken": "",
	}
	for title, want := range urls {
		require.Equal(t, want, TitleURL(title), title)
	}
}

func TestHub(t *testing.T) {
	// A display of its own: hubs live as long as the process.
	num := strconv.FormatInt(time.Now().UnixNano(), 10)
	h := HubFor(Display{Number: num, Screen: 1})
	require.Same(t, h, HubFor(Display{Number: num}))
	now := time.Now()
	require.False(t, h.AddCombo(Combo{Time: now, Combo: "ctrl+c", Op: "copy"}, "kb"), "nobody watches the clipboard")
	stop := h.WatchClipboard()
	require.True(t, h.ClipboardWatched())
	require.True(t, h.AddCombo(Combo{Time: now.Add(-10 * time.Second), Combo: "ctrl+x", Op: "cut"}, "kb"))
	require.True(t, h.AddCombo(Combo{Time: now, Combo: "ctrl+c", Op: "copy"}, "kb"))
	c, ok := h.ClaimCombo(now.Add(time.Second), 2*time.Second)
	require.True(t, ok)
	require.Equal(t, "ctrl+c", c.Combo)
	require.Equal(t, 1, h.PendingCombos())
	require.Empty(t, h.ExpireCombos("other", now))
	exp := h.ExpireCombos("kb", now)
	require.Len(t, exp, 1)
	require.Equal(t, "ctrl+x", exp[0].Combo)
	_, ok = h.Clipboard()
	require.False(t, ok)
	h.SetClipboard(ClipboardState{Length: 3})
	st, ok := h.Clipboard()
	require.True(t, ok)
	require.Equal(t, int64(3), st.Length)
	stop()
	stop()
	require.False(t, h.ClipboardWatched())
}

func TestSessionNote(t *testing.T) {
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("XDG_SESSION_TYPE", "x11")
	note, err := SessionNote(":0")
	require.NoError(t, err)
	require.Empty(t, note)
	t.Setenv("XDG_SESSION_TYPE", "wayland")
	note, err = SessionNote(":0")
	require.NoError(t, err)
	require.Contains(t, note, "XWayland")
	t.Setenv("DISPLAY", "")
	_, err = SessionNote("")
	require.ErrorIs(t, err, ErrWayland)
}

func TestCheckDisplay(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"", ""},
		{":1", ""},
		{"localhost:10.0", ""},
		{"here", "display: "},
	} {
		err := CheckDisplay(tc.in)
		if tc.err == "" {
			require.NoError(t, err, tc.in)
			continue
		}
		require.ErrorContains(t, err, tc.err, tc.in)
	}
}
