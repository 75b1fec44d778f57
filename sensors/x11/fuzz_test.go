package x11

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRecordStream feeds arbitrary bytes to the RECORD reply reader and
// data parser: they must return errors, never panic, and every mapping
// change they report must carry as many keysyms as it says.
func FuzzRecordStream(f *testing.F) {
	f.Add(recordReply(RecordFromServer, false, keyEvent(evKeyPress, 38, 1)))
	f.Add(recordReply(RecordFromClient, true, changeMapping(binary.BigEndian, 200, 2, 0x1000e9, 0x1000c9)))
	f.Add(recordReply(RecordFromClient, false, []byte{100, 1, 0, 0, 3, 0, 0, 0, 8, 1, 0, 0}))
	f.Add(append(keyEvent(34, 0, 0), recordReply(RecordEndOfData, false, nil)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewRecordStream(bytes.NewReader(b))
		for range 64 {
			rep, err := s.Next()
			if err != nil {
				return
			}
			_ = ParseRecordData(rep, func(in Input) {
				if in.Kind == InputMappingChange && len(in.Keysyms) != in.Count*in.PerKeycode {
					t.Fatalf("mapping change with %d keysyms for %d x %d", len(in.Keysyms), in.Count, in.PerKeycode)
				}
			})
		}
	})
}

// FuzzKeyState drives the decoder with arbitrary key sequences and mapping
// changes: the keystroke text must stay valid UTF-8.
func FuzzKeyState(f *testing.F) {
	f.Add([]byte{38, 50, 38, 0x80 | 50, 37, 54})
	f.Add([]byte{66, 38, 92, 26, 200, 255, 0})
	f.Fuzz(func(t *testing.T, codes []byte) {
		s := KeyState{Map: usKeymap()}
		var text []byte
		for i, c := range codes {
			switch {
			case c&0x80 != 0 && i%3 == 0:
				s.Release(c &^ 0x80)
			case c == 1 && i+2 < len(codes):
				s.Map.Apply(Input{Kind: InputMappingChange, First: codes[i+1], Count: 1, PerKeycode: 2,
					Keysyms: []Keysym{Keysym(codes[i+2]) | 0x1000000, Keysym(codes[i+1])}})
			default:
				k := s.Press(c)
				text = k.AppendText(text)
			}
		}
		if !utf8.Valid(text) {
			t.Fatalf("invalid UTF-8 keystroke text %q", text)
		}
	})
}

// FuzzXauthority parses arbitrary Xauthority files.
func FuzzXauthority(f *testing.F) {
	f.Add(xauthEntry(familyLocal, "ws42", "0", "MIT-MAGIC-COOKIE-1", bytes.Repeat([]byte{1}, 16)))
	f.Add([]byte{0xff, 0xff, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, _ := ParseXauthority(bytes.NewReader(b))
		d := Display{Network: "unix", Number: "0"}
		if e := FindCookie(entries, d, "ws42"); e != nil && len(e.Data) != 16 {
			t.Fatalf("cookie of %d bytes", len(e.Data))
		}
	})
}

// FuzzWindowProperties decodes arbitrary property values and titles.
func FuzzWindowProperties(f *testing.F) {
	f.Add([]byte("google-chrome\x00Google-chrome\x00"), "Docs - https://docs.example.com/d/1 - Google Chrome")
	f.Add([]byte("caf\xe9"), "http://[::1]:80/ x")
	f.Fuzz(func(t *testing.T, b []byte, title string) {
		inst, class := DecodeWMClass(b)
		for _, s := range []string{inst, class, DecodeText(b, true), DecodeText(b, false), AppName(inst, class, title)} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 %q", s)
			}
		}
		if u := TitleURL(title); u != "" && (!strings.Contains(title, u) || !strings.HasPrefix(u, "http")) {
			t.Fatalf("URL %q not taken from title %q", u, title)
		}
	})
}

// FuzzParseDisplay parses arbitrary display names.
func FuzzParseDisplay(f *testing.F) {
	for _, s := range []string{":0", "unix:1.2", "tcp/host:3", "/tmp/launch/:0", ":", "a:b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" {
			return
		}
		d, err := ParseDisplay(s)
		if err == nil && (d.Network == "" || d.Address == "") {
			t.Fatalf("%q parsed to %+v", s, d)
		}
	})
}
