package clipboard

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseURIList parses arbitrary file lists as an owner may offer them.
func FuzzParseURIList(f *testing.F) {
	f.Add([]byte("cut\nfile:///home/jdoe/a%20b.txt\n"))
	f.Add([]byte("# comment\r\nfile:///x\r\nhttps://example.com/y\n\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		paths, _ := ParseURIList(b)
		for _, p := range paths {
			if p == "" || strings.ContainsAny(p, "\n") {
				t.Fatalf("bad path %q", p)
			}
		}
	})
}

// FuzzTruncate checks that truncation never splits a character.
func FuzzTruncate(f *testing.F) {
	f.Add("héllo wörld", 2)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || !utf8.ValidString(s) {
			return
		}
		got := Truncate(s, n)
		if len(got) > n || !utf8.ValidString(got) || !strings.HasPrefix(s, got) {
			t.Fatalf("Truncate(%q, %d) = %q", s, n, got)
		}
	})
}

func TestParseURIList(t *testing.T) {
	paths, cut := ParseURIList([]byte("cut\nfile:///home/jdoe/q3%20report.xlsx\r\n# note\n\nsmb://server/share/x.doc\n"))
	if !cut || len(paths) != 2 || paths[0] != "/home/jdoe/q3 report.xlsx" || paths[1] != "smb://server/share/x.doc" {
		t.Fatalf("got %q cut=%v", paths, cut)
	}
}
