package email

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
)

// SplitMbox splits mbox data into messages. A message starts with a
// "From " line at the start of data or after an empty line; the From_ line
// itself is dropped, and ">From " quoting (mboxrd) is undone by one level.
// Data that does not start with a From_ line yields its leading part as
// one message, so a read that begins mid-file loses nothing.
func SplitMbox(data []byte) [][]byte {
	var out [][]byte
	// A bytes.Reader does not fail.
	_ = ScanMbox(bytes.NewReader(data), math.MaxInt64, func(m []byte, _ int64) {
		out = append(out, bytes.Clone(m))
	})
	return out
}

// ScanMbox reads mbox data from r and calls fn with each message, split as
// SplitMbox splits them, holding one message in memory at a time. A message
// longer than limit bytes is passed cut to its first limit+1 bytes, with
// its whole length in size, so that the caller can refuse it without the
// scan holding it; otherwise size is len(msg). The slice passed to fn is
// only valid during the call. It returns the first read error.
func ScanMbox(r io.Reader, limit int64, fn func(msg []byte, size int64)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		cur       []byte
		size      int64
		started   bool // a message has begun (it may be empty so far)
		content   bool // the message has a byte other than white space
		fromOnly  bool // the message so far is a From_ line without its end
		lineStart = true
		lineEmpty bool // the current line so far is "" or "\r"
		prevEmpty bool // the last complete line was empty and not the first
		lines     int  // complete lines read
		skipping  bool // the current line is a From_ line, which is dropped
	)
	flush := func() {
		if started && !fromOnly && content {
			fn(unquoteFrom(cur), size)
		}
		cur, size, started, fromOnly, content = cur[:0], 0, false, false, false
	}
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			complete := chunk[len(chunk)-1] == '\n'
			if lineStart {
				body := bytes.TrimSuffix(chunk, []byte("\n"))
				lineEmpty = complete && (len(body) == 0 || string(body) == "\r")
				if bytes.HasPrefix(chunk, []byte("From ")) && (lines == 0 || prevEmpty) {
					flush()
					started, skipping, fromOnly = true, true, true
				}
			}
			if !skipping {
				started = true
				content = content || len(bytes.TrimSpace(chunk)) > 0
				size += int64(len(chunk))
				if int64(len(cur)) <= limit { // keep up to limit+1 bytes
					n := int64(len(chunk))
					if left := limit - int64(len(cur)); n > left {
						n = left + 1
					}
					cur = append(cur, chunk[:n]...)
				}
			}
			lineStart = complete
			if complete {
				prevEmpty = lineEmpty && lines > 0
				lines++
				if skipping {
					skipping, fromOnly = false, false
				}
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			flush()
			return nil
		default:
			flush()
			return fmt.Errorf("read mbox: %w", err)
		}
	}
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
