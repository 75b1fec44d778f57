package terminal

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// markerPrefix starts the private OSC sequence that the shell integration
// prints before each prompt: ESC ] 7717 ; vigil ; STATUS ; CWD BEL.
const markerPrefix = "\x1b]7717;vigil;"

// maxMarker bounds a marker; a longer "marker" is passed through as output.
const maxMarker = 8192

// Prompt is what a prompt marker reports: the exit status of the last
// command and the shell's working directory.
type Prompt struct {
	ExitCode int64
	Cwd      string
}

// bashPromptCommand is the PROMPT_COMMAND that makes bash print a marker
// before each primary prompt. It keeps $? for whatever runs after it.
const bashPromptCommand = `__vigil_rc=$?; printf '\033]7717;vigil;%s;%s\007' "$__vigil_rc" "$PWD"; (exit $__vigil_rc)`

// markerScanner removes prompt markers from the output stream and reports
// them. Markers split across reads are held until complete. It is not safe
// for concurrent use.
type markerScanner struct {
	held []byte
}

// scan appends p's bytes, without markers, to dst and returns it with the
// prompts found.
func (m *markerScanner) scan(dst, p []byte) ([]byte, []Prompt) {
	data := p
	if len(m.held) > 0 {
		data = append(append([]byte(nil), m.held...), p...)
		m.held = nil
	}
	var prompts []Prompt
	for len(data) > 0 {
		i := bytes.IndexByte(data, 0x1b)
		if i < 0 {
			return append(dst, data...), prompts
		}
		dst = append(dst, data[:i]...)
		data = data[i:]
		n := min(len(data), len(markerPrefix))
		if !bytes.Equal(data[:n], []byte(markerPrefix[:n])) {
			dst = append(dst, data[0])
			data = data[1:]
			continue
		}
		if n < len(markerPrefix) {
			m.held = append(m.held[:0], data...)
			return dst, prompts
		}
		end := bytes.IndexByte(data[:min(len(data), maxMarker)], 0x07)
		if end < 0 {
			if len(data) < maxMarker {
				m.held = append(m.held[:0], data...)
				return dst, prompts
			}
			dst = append(dst, data[0])
			data = data[1:]
			continue
		}
		if pr, ok := parsePrompt(data[len(markerPrefix):end]); ok {
			prompts = append(prompts, pr)
		}
		data = data[end+1:]
	}
	return dst, prompts
}

// flush returns the bytes held back.
func (m *markerScanner) flush() []byte {
	h := m.held
	m.held = nil
	return h
}

func parsePrompt(b []byte) (Prompt, bool) {
	status, cwd, ok := bytes.Cut(b, []byte{';'})
	if !ok {
		return Prompt{}, false
	}
	code, err := strconv.ParseInt(string(status), 10, 64)
	if err != nil || !utf8.Valid(cwd) {
		return Prompt{}, false
	}
	return Prompt{ExitCode: code, Cwd: string(cwd)}, true
}

// utf8Chunker cuts a byte stream at rune boundaries so that each piece is
// valid UTF-8 where the input is: an incomplete sequence at the end of a
// read is held for the next one (asciicast strings must be UTF-8).
type utf8Chunker struct {
	held []byte
}

// cut returns the part of held+p that ends at a rune boundary.
func (u *utf8Chunker) cut(p []byte) []byte {
	data := p
	if len(u.held) > 0 {
		data = append(append([]byte(nil), u.held...), p...)
		u.held = nil
	}
	// Look back at most UTFMax-1 bytes for the start of a cut sequence.
	for k := 1; k < utf8.UTFMax && k <= len(data); k++ {
		c := data[len(data)-k]
		if c < utf8.RuneSelf {
			break
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(data[len(data)-k:]) {
				u.held = append([]byte(nil), data[len(data)-k:]...)
				data = data[:len(data)-k]
			}
			break
		}
	}
	return data
}

func (u *utf8Chunker) flush() []byte {
	h := u.held
	u.held = nil
	return h
}
