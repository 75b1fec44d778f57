package terminal

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestLineEditor(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []Line
		rest   string
	}{
		{name: "plain", chunks: []string{"echo hello\r"}, want: []Line{{Text: "echo hello"}}},
		{name: "newline as enter", chunks: []string{"ls\n"}, want: []Line{{Text: "ls"}}},
		{name: "backspace", chunks: []string{"ecoo\x7f\x7fho hi\r"}, want: []Line{{Text: "echo hi"}}},
		{name: "ctrl-h", chunks: []string{"lx\bs\r"}, want: []Line{{Text: "ls"}}},
		{name: "ctrl-u kills to start", chunks: []string{"rm -rf /\x15ls\r"}, want: []Line{{Text: "ls"}}},
		{name: "ctrl-w kills a word", chunks: []string{"echo foo bar\x17baz\r"}, want: []Line{{Text: "echo foo baz"}}},
		{name: "ctrl-c abandons", chunks: []string{"secret\x03", "ls\r"}, want: []Line{{Text: "ls"}}},
		{name: "cursor left and insert", chunks: []string{"ech hi\x1b[D\x1b[D\x1b[Do\r"}, want: []Line{{Text: "echo hi"}}},
		{name: "home and end", chunks: []string{"cho\x1b[He\x1b[F x\r"}, want: []Line{{Text: "echo x"}}},
		{name: "ss3 home", chunks: []string{"s\x1bOHl\r"}, want: []Line{{Text: "ls"}}},
		{name: "ctrl-a ctrl-k", chunks: []string{"ls -l\x01\x06\x06\x0b\r"}, want: []Line{{Text: "ls"}}},
		{name: "delete key", chunks: []string{"lxs\x1b[D\x1b[D\x1b[3~\r"}, want: []Line{{Text: "ls"}}},
		{name: "alt-b then insert", chunks: []string{"echo world\x1bbhello \r"}, want: []Line{{Text: "echo hello world"}}},
		{name: "history is approximate", chunks: []string{"\x1b[A\r"}, want: []Line{{Text: "", Approximate: true}}},
		{name: "tab is approximate", chunks: []string{"cat /et\t\r"}, want: []Line{{Text: "cat /et", Approximate: true}}},
		{name: "approximate resets", chunks: []string{"\t\rls\r"}, want: []Line{{Approximate: true}, {Text: "ls"}}},
		{name: "bracketed paste keeps newlines", chunks: []string{"\x1b[200~echo a\necho b\x1b[201~\r"},
			want: []Line{{Text: "echo a\necho b"}}},
		{name: "paste CR becomes newline", chunks: []string{"\x1b[200~a\rb\x1b[201~\r"}, want: []Line{{Text: "a\nb"}}},
		{name: "paste markers split across reads", chunks: []string{"\x1b[2", "00~x\ny\x1b", "[201", "~\r"},
			want: []Line{{Text: "x\ny"}}},
		{name: "utf8 split across reads", chunks: []string{"echo \xc3", "\xa9t\xe2\x82", "\xac\r"}, want: []Line{{Text: "echo \u00e9t\u20ac"}}},
		{name: "four-byte rune split", chunks: []string{"\xf0\x9f", "\x98", "\x80\r"}, want: []Line{{Text: "\U0001F600"}}},
		{name: "invalid sequence split across reads", chunks: []string{"a\xe2\x82", "0\r"}, want: []Line{{Text: "a\ufffd\ufffd0"}}},
		{name: "backspace removes a whole rune", chunks: []string{"caf\u00e9\x7fe\r"}, want: []Line{{Text: "cafe"}}},
		{name: "two lines in one read", chunks: []string{"a\rb\r"}, want: []Line{{Text: "a"}, {Text: "b"}}},
		{name: "OSC reply ignored", chunks: []string{"\x1b]11;rgb:0/0/0\x07ls\r"}, want: []Line{{Text: "ls"}}},
		{name: "pending line", chunks: []string{"echo par"}, rest: "echo par"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e LineEditor
			var got []Line
			for _, c := range tc.chunks {
				got = append(got, e.Feed([]byte(c))...)
			}
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.rest, e.Pending())
		})
	}
}

func TestLineEditorBound(t *testing.T) {
	var e LineEditor
	e.Feed([]byte(strings.Repeat("x", MaxLineRunes+10)))
	got := e.Feed([]byte("\r"))
	require.Len(t, got, 1)
	require.True(t, got[0].Approximate)
	require.Equal(t, MaxLineRunes, utf8.RuneCountInString(got[0].Text))
}

func FuzzLineEditor(f *testing.F) {
	f.Add([]byte("echo hello\r"), 3)
	f.Add([]byte("\x1b[200~a\nb\x1b[201~\r"), 5)
	f.Add([]byte("caf\xc3\xa9\x7f\x15\x17\x1b[D\x1b[3~\r"), 4)
	f.Add([]byte("\x1b]0;t\x1b\\x\r"), 2)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		var whole, parts LineEditor
		want := whole.Feed(in)
		// Feeding the same bytes in two reads gives the same lines.
		if split < 0 {
			split = -split
		}
		if len(in) > 0 {
			split %= len(in) + 1
		} else {
			split = 0
		}
		got := parts.Feed(in[:split])
		got = append(got, parts.Feed(in[split:])...)
		require.Equal(t, want, got)
		require.Equal(t, whole.Pending(), parts.Pending())
		for _, l := range want {
			require.True(t, utf8.ValidString(l.Text))
			require.LessOrEqual(t, utf8.RuneCountInString(l.Text), MaxLineRunes)
		}
	})
}

func BenchmarkLineEditor(b *testing.B) {
	typed := []byte("cd /var/log && grep -ri 'error' syslog | less\r")
	edited := []byte("ecoo\x7f\x7fho caf\xc3\xa9 \x1b[D\x1b[Dx\x1b[F\x17done\r")
	paste := []byte("\x1b[200~" + strings.Repeat("echo line of a pasted script\n", 40) + "\x1b[201~\r")
	for _, bc := range []struct {
		name string
		in   []byte
	}{{"typed", typed}, {"edited", edited}, {"paste=40lines", paste}} {
		b.Run(bc.name, func(b *testing.B) {
			var e LineEditor
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				// Keys arrive one read per key when typed.
				if bc.name == "paste=40lines" {
					_ = e.Feed(bc.in)
					continue
				}
				for i := range bc.in {
					_ = e.Feed(bc.in[i : i+1])
				}
			}
		})
	}
}
