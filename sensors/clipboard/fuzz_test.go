package clipboard

import (
	"bytes"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseURIList parses arbitrary file lists as an owner may offer them.
// A name may hold any byte but '/' and NUL on Linux, a line break included,
// so a decoded name is kept as it is; what must hold is that the list read
// back is the list written: paths written again as file URIs (and other
// entries as they were) parse to the same paths.
func FuzzParseURIList(f *testing.F) {
	f.Add([]byte("cut\nfile:///home/jdoe/a%20b.txt\n"))
	f.Add([]byte("# comment\r\nfile:///x\r\nhttps://example.com/y\n\x00"))
	f.Add([]byte("copy\nfile:///0%0A\nfile:///tmp/a%0D%0Ab\n"))
	f.Add([]byte("\x00 \n \x00/x\x00 \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		paths, _ := ParseURIList(b)
		var again bytes.Buffer
		again.WriteString("copy\n")
		for _, p := range paths {
			if p == "" {
				t.Fatalf("empty path from %q", b)
			}
			if strings.HasPrefix(p, "/") {
				again.WriteString((&url.URL{Scheme: "file", Path: p}).String())
			} else {
				// Only a decoded file URI can hold a line break.
				if strings.ContainsRune(p, '\n') {
					t.Fatalf("path %q from %q holds a line break", p, b)
				}
				again.WriteString(p)
			}
			again.WriteByte('\n')
		}
		back, cut := ParseURIList(again.Bytes())
		if cut || !slices.Equal(back, paths) {
			t.Fatalf("paths %q written as %q read back as %q (cut %v)", paths, again.Bytes(), back, cut)
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
	// A name with a line break is a real name: it is kept whole, not
	// dropped or split, so it cannot hide a copy.
	paths, cut = ParseURIList([]byte("copy\nfile:///home/jdoe/q3%0Areport.xlsx\n"))
	if cut || len(paths) != 1 || paths[0] != "/home/jdoe/q3\nreport.xlsx" {
		t.Fatalf("got %q cut=%v", paths, cut)
	}
}
