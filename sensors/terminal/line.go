package terminal

import (
	"unicode"
	"unicode/utf8"
)

// MaxLineRunes bounds a reconstructed line; input past it is dropped and
// the line marked approximate.
const MaxLineRunes = 64 << 10

// Line is one line reconstructed from terminal input.
type Line struct {
	// Text is the line as the shell would see it; a bracketed paste keeps
	// its newlines.
	Text string
	// Approximate is true when keys whose effect the editor cannot know
	// were used: history recall, completion, search, an over-long line.
	Approximate bool
}

// editor states.
const (
	stNormal = iota
	stEsc    // after ESC
	stCSI    // after ESC [
	stSS3    // after ESC O
	stOSC    // after ESC ], until BEL or ESC \
	stOSCEsc // ESC inside an OSC string
)

// LineEditor reconstructs the lines a user enters from the raw bytes typed
// into a terminal, following readline's basic editing keys: printable text
// at a cursor, backspace, delete, ctrl-u/k/w/a/e/b/f, ctrl-c, the arrow,
// home and end keys, bracketed paste (ESC[200~ ... ESC[201~, where newlines
// are part of the line) and UTF-8 sequences split across reads. It does not
// know what history recall or completion put on the line; such lines are
// marked Approximate. The zero value is ready to use; it is not safe for
// concurrent use.
type LineEditor struct {
	buf     []rune
	cursor  int
	approx  bool
	paste   bool
	state   int
	params  []byte // CSI parameter bytes
	partial [utf8.UTFMax]byte
	npart   int
}

// Feed consumes input bytes and returns the lines completed by Enter.
func (e *LineEditor) Feed(p []byte) []Line {
	var out []Line
	for len(p) > 0 {
		// Finish a UTF-8 sequence that an earlier read split.
		if e.npart > 0 {
			var tmp [2 * utf8.UTFMax]byte
			n := copy(tmp[:], e.partial[:e.npart])
			n += copy(tmp[n:], p[:min(len(p), utf8.UTFMax)])
			if !utf8.FullRune(tmp[:n]) {
				e.npart = copy(e.partial[:], tmp[:n])
				return out
			}
			r, size := utf8.DecodeRune(tmp[:n])
			held := e.npart
			e.npart = 0
			out = e.rune(r, out)
			if size > held {
				p = p[size-held:]
				continue
			}
			// An invalid sequence: the held continuation bytes are each
			// invalid too, as they would be in one read.
			for range held - size {
				out = e.rune(utf8.RuneError, out)
			}
			continue
		}
		c := p[0]
		if c < utf8.RuneSelf {
			out = e.rune(rune(c), out)
			p = p[1:]
			continue
		}
		if !utf8.FullRune(p) {
			e.npart = copy(e.partial[:], p)
			return out
		}
		r, size := utf8.DecodeRune(p)
		p = p[size:]
		out = e.rune(r, out)
	}
	return out
}

// Reset forgets the line being edited and any pending escape sequence.
func (e *LineEditor) Reset() {
	e.buf, e.cursor, e.approx, e.paste, e.state, e.params, e.npart = e.buf[:0], 0, false, false, stNormal, e.params[:0], 0
}

// Pending returns the text typed so far on the current line.
func (e *LineEditor) Pending() string { return string(e.buf) }

func (e *LineEditor) rune(r rune, out []Line) []Line {
	switch e.state {
	case stEsc:
		switch r {
		case '[':
			e.state, e.params = stCSI, e.params[:0]
		case 'O':
			e.state = stSS3
		case ']':
			e.state = stOSC
		default:
			// Alt+key: readline word motions and the like.
			e.state = stNormal
			e.meta(r)
		}
		return out
	case stCSI:
		if r >= 0x20 && r <= 0x3f {
			if len(e.params) < 16 {
				e.params = append(e.params, byte(r))
			}
			return out
		}
		e.state = stNormal
		if r >= 0x40 && r <= 0x7e {
			e.csi(string(e.params), byte(r))
		}
		return out
	case stSS3:
		e.state = stNormal
		e.csi("", byte(r))
		return out
	case stOSC:
		switch r {
		case 0x07:
			e.state = stNormal
		case 0x1b:
			e.state = stOSCEsc
		}
		return out
	case stOSCEsc:
		e.state = stNormal
		if r != '\\' {
			e.state = stOSC
		}
		return out
	}
	if r == 0x1b {
		e.state = stEsc
		return out
	}
	if e.paste {
		// Inside a bracketed paste everything is text, newlines included.
		switch r {
		case '\r', '\n':
			e.insert('\n')
		case '\t':
			e.insert('\t')
		default:
			if r >= 0x20 && r != 0x7f {
				e.insert(r)
			}
		}
		return out
	}
	switch r {
	case '\r', '\n':
		out = append(out, Line{Text: string(e.buf), Approximate: e.approx})
		e.buf, e.cursor, e.approx = e.buf[:0], 0, false
	case 0x7f, 0x08: // backspace, ctrl-h
		if e.cursor > 0 {
			e.buf = append(e.buf[:e.cursor-1], e.buf[e.cursor:]...)
			e.cursor--
		}
	case 0x15: // ctrl-u: kill to the start of the line
		e.buf = append(e.buf[:0], e.buf[e.cursor:]...)
		e.cursor = 0
	case 0x0b: // ctrl-k: kill to the end
		e.buf = e.buf[:e.cursor]
	case 0x17: // ctrl-w: kill the word before the cursor
		i := e.cursor
		for i > 0 && unicode.IsSpace(e.buf[i-1]) {
			i--
		}
		for i > 0 && !unicode.IsSpace(e.buf[i-1]) {
			i--
		}
		e.buf = append(e.buf[:i], e.buf[e.cursor:]...)
		e.cursor = i
	case 0x03: // ctrl-c: the line is abandoned
		e.buf, e.cursor, e.approx = e.buf[:0], 0, false
	case 0x04: // ctrl-d: delete under the cursor (EOF on an empty line)
		if e.cursor < len(e.buf) {
			e.buf = append(e.buf[:e.cursor], e.buf[e.cursor+1:]...)
		}
	case 0x01: // ctrl-a
		e.cursor = 0
	case 0x05: // ctrl-e
		e.cursor = len(e.buf)
	case 0x02: // ctrl-b
		e.cursor = max(0, e.cursor-1)
	case 0x06: // ctrl-f
		e.cursor = min(len(e.buf), e.cursor+1)
	case '\t', 0x10, 0x0e, 0x12, 0x13, 0x19, 0x14, 0x18:
		// Completion, history (ctrl-p/n/r/s), yank, transpose, ctrl-x
		// prefixes: their effect depends on state the editor cannot see.
		e.approx = true
	default:
		if r >= 0x20 && r != 0x7f && (r < 0x80 || r >= 0xa0) {
			e.insert(r)
		}
	}
	return out
}

func (e *LineEditor) insert(r rune) {
	if len(e.buf) >= MaxLineRunes {
		e.approx = true
		return
	}
	if e.cursor == len(e.buf) {
		e.buf = append(e.buf, r)
	} else {
		e.buf = append(e.buf, 0)
		copy(e.buf[e.cursor+1:], e.buf[e.cursor:])
		e.buf[e.cursor] = r
	}
	e.cursor++
}

// csi handles a control sequence (ESC [ params final) or an SS3 key.
func (e *LineEditor) csi(params string, final byte) {
	switch final {
	case 'C': // right
		e.cursor = min(len(e.buf), e.cursor+1)
	case 'D': // left
		e.cursor = max(0, e.cursor-1)
	case 'H': // home
		e.cursor = 0
	case 'F': // end
		e.cursor = len(e.buf)
	case 'A', 'B': // up, down: history recall
		e.approx = true
	case '~':
		switch params {
		case "200":
			e.paste = true
		case "201":
			e.paste = false
		case "1", "7":
			e.cursor = 0
		case "4", "8":
			e.cursor = len(e.buf)
		case "3": // delete
			if e.cursor < len(e.buf) {
				e.buf = append(e.buf[:e.cursor], e.buf[e.cursor+1:]...)
			}
		case "2", "5", "6": // insert, page up/down: nothing on the line
		default:
			e.approx = true
		}
	}
}

// meta handles Alt+key (ESC then a key).
func (e *LineEditor) meta(r rune) {
	switch r {
	case 'b', 'B': // word back
		for e.cursor > 0 && unicode.IsSpace(e.buf[e.cursor-1]) {
			e.cursor--
		}
		for e.cursor > 0 && !unicode.IsSpace(e.buf[e.cursor-1]) {
			e.cursor--
		}
	case 'f', 'F': // word forward
		for e.cursor < len(e.buf) && unicode.IsSpace(e.buf[e.cursor]) {
			e.cursor++
		}
		for e.cursor < len(e.buf) && !unicode.IsSpace(e.buf[e.cursor]) {
			e.cursor++
		}
	case 'd', 'D': // kill word forward
		i := e.cursor
		for i < len(e.buf) && unicode.IsSpace(e.buf[i]) {
			i++
		}
		for i < len(e.buf) && !unicode.IsSpace(e.buf[i]) {
			i++
		}
		e.buf = append(e.buf[:e.cursor], e.buf[i:]...)
	case 0x7f: // alt-backspace
		e.rune(0x17, nil)
	default:
		e.approx = true
	}
}
