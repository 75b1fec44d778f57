package terminal

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence"
)

func TestMarkerScanner(t *testing.T) {
	mk := func(code, cwd string) string { return "\x1b]7717;vigil;" + code + ";" + cwd + "\x07" }
	tests := []struct {
		name    string
		chunks  []string
		out     string
		prompts []Prompt
	}{
		{name: "no marker", chunks: []string{"hello\r\n\x1b[1mbold\x1b[0m"}, out: "hello\r\n\x1b[1mbold\x1b[0m"},
		{name: "one marker", chunks: []string{"out\r\n" + mk("0", "/home/u") + "$ "}, out: "out\r\n$ ",
			prompts: []Prompt{{ExitCode: 0, Cwd: "/home/u"}}},
		{name: "split everywhere", chunks: []string{"a\x1b", "]77", "17;vigil;1", "27;/tmp/x y", "\x07$ "}, out: "a$ ",
			prompts: []Prompt{{ExitCode: 127, Cwd: "/tmp/x y"}}},
		{name: "other OSC passes", chunks: []string{"\x1b]0;title\x07x"}, out: "\x1b]0;title\x07x"},
		{name: "bad status dropped silently", chunks: []string{mk("x", "/") + "z"}, out: "z"},
		{name: "two markers", chunks: []string{mk("0", "/a") + mk("1", "/b")},
			prompts: []Prompt{{ExitCode: 0, Cwd: "/a"}, {ExitCode: 1, Cwd: "/b"}}},
		{name: "lone escape at end held then released", chunks: []string{"x\x1b", "[K"}, out: "x\x1b[K"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m markerScanner
			var out []byte
			var prompts []Prompt
			for _, c := range tc.chunks {
				var p []Prompt
				out, p = m.scan(out, []byte(c))
				prompts = append(prompts, p...)
			}
			out = append(out, m.flush()...)
			require.Equal(t, tc.out, string(out))
			require.Equal(t, tc.prompts, prompts)
		})
	}
}

func TestMarkerScannerUnterminatedIsOutput(t *testing.T) {
	var m markerScanner
	in := markerPrefix + strings.Repeat("x", maxMarker)
	out, prompts := m.scan(nil, []byte(in))
	out = append(out, m.flush()...)
	require.Empty(t, prompts)
	require.Equal(t, in, string(out))
}

func TestUTF8Chunker(t *testing.T) {
	var u utf8Chunker
	require.Equal(t, "ab", string(u.cut([]byte("ab\xe2\x82"))))
	require.Equal(t, "\u20acc", string(u.cut([]byte("\xacc"))))
	require.Equal(t, "", string(u.cut([]byte("\xf0"))))
	require.Equal(t, "\U0001F600", string(u.cut([]byte("\x9f\x98\x80"))))
	require.Equal(t, "x\xff", string(u.cut([]byte("x\xff"))), "invalid bytes are not held")
	u.cut([]byte("\xc3"))
	require.Equal(t, "\xc3", string(u.flush()))
}

func TestWriteAsciicast(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	recs := []evidence.TerminalRecord{
		{Session: "s", Time: t0, Kind: evidence.TerminalStart, Width: 100, Height: 30, Shell: "/bin/bash", User: "jdoe", TTY: "pts/1"},
		{Session: "s", Time: t0.Add(500 * time.Millisecond), Kind: evidence.TerminalOutput, Data: "$ "},
		{Session: "s", Time: t0.Add(time.Second), Kind: evidence.TerminalInput, Data: "ls\r"},
		{Session: "s", Time: t0.Add(1500 * time.Millisecond), Kind: evidence.TerminalResize, Width: 90, Height: 20},
		{Session: "s", Time: t0.Add(2 * time.Second), Kind: evidence.TerminalEnd},
	}
	var sb strings.Builder
	require.NoError(t, WriteAsciicast(&sb, recs))
	lines := strings.Split(strings.TrimSpace(sb.String()), "\n")
	require.Len(t, lines, 4)
	var h map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &h))
	require.InDelta(t, 2, h["version"], 0)
	require.InDelta(t, 100, h["width"], 0)
	require.InDelta(t, 30, h["height"], 0)
	require.InDelta(t, 1700000000, h["timestamp"], 0)
	want := [][]any{{0.5, "o", "$ "}, {1.0, "i", "ls\r"}, {1.5, "r", "90x20"}}
	for i, w := range want {
		var ev []any
		require.NoError(t, json.Unmarshal([]byte(lines[i+1]), &ev))
		require.Equal(t, w, ev)
	}
}
