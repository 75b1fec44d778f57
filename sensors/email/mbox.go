package email

import "bytes"

// SplitMbox splits mbox data into messages. A message starts with a
// "From " line at the start of data or after an empty line; the From_ line
// itself is dropped, and ">From " quoting (mboxrd) is undone by one level.
// Data that does not start with a From_ line yields its leading part as
// one message, so a read that begins mid-file loses nothing.
func SplitMbox(data []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i < len(data); {
		j := bytes.Index(data[i:], []byte("\nFrom "))
		if j < 0 {
			break
		}
		j += i
		// The line before must be empty (allowing CRLF).
		prevEmpty := j >= 1 && data[j-1] == '\n' || j >= 2 && data[j-1] == '\r' && data[j-2] == '\n'
		if prevEmpty {
			out = appendMessage(out, data[start:j+1])
			start = j + 1
		}
		i = j + 1
	}
	return appendMessage(out, data[start:])
}

func appendMessage(out [][]byte, m []byte) [][]byte {
	if bytes.HasPrefix(m, []byte("From ")) {
		nl := bytes.IndexByte(m, '\n')
		if nl < 0 {
			return out
		}
		m = m[nl+1:]
	}
	if len(bytes.TrimSpace(m)) == 0 {
		return out
	}
	return append(out, unquoteFrom(m))
}

// unquoteFrom removes one '>' from lines that are '>'s followed by "From ".
func unquoteFrom(m []byte) []byte {
	if !bytes.Contains(m, []byte(">From ")) {
		return m
	}
	var b bytes.Buffer
	b.Grow(len(m))
	for line := range bytes.Lines(m) {
		t := bytes.TrimLeft(line, ">")
		if len(t) < len(line) && bytes.HasPrefix(t, []byte("From ")) {
			line = line[1:]
		}
		b.Write(line)
	}
	return b.Bytes()
}
