package alerts

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestSyslogMessage(t *testing.T) {
	h := &syslogHeader{facility: 16, hostname: "ws 042", appName: "vigil", procID: "42"}
	ts := time.Date(2026, 11, 28, 10, 0, 0, 123456000, time.UTC)
	got := appendSyslogMessage(nil, h, syslogErr, ts, "CEF", []byte("CEF:0|x"), 8192)
	require.Equal(t, "<131>1 2026-11-28T10:00:00.123456Z ws_042 vigil 42 CEF - CEF:0|x", string(got))
	h.hostname = ""
	got = appendSyslogMessage(nil, h, syslogInfo, ts, "", []byte("機密"), 8192)
	require.Equal(t, "<134>1 2026-11-28T10:00:00.123456Z - vigil 42 - - 機密", string(got))
	// Cut at a character boundary, never after a lone escape backslash.
	head := len("<134>1 2026-11-28T10:00:00.123456Z - vigil 42 - - ")
	got = appendSyslogMessage(nil, h, syslogInfo, ts, "", []byte("ab機密"), head+4)
	require.Equal(t, "ab", string(got[head:]))
	got = appendSyslogMessage(nil, h, syslogInfo, ts, "", []byte(`a\\\=b`), head+3)
	require.Equal(t, `a\\`, string(got[head:]))
	require.Equal(t, "11 hello world", string(appendOctetCounted(nil, []byte("hello world!")[:11])))
}

// FuzzSyslogFraming frames arbitrary messages by octet counting and reads
// them back from the stream, and checks the RFC 5424 header of each.
func FuzzSyslogFraming(f *testing.F) {
	f.Add("host", "CEF:0|a\\|b|5|k=v", 2048, byte('\n'))
	f.Add("", "", 480, byte(' '))
	f.Add("h\xffé st", "機密\n\x00 12 x", 500, byte('1'))
	f.Fuzz(func(t *testing.T, host, payload string, maxLen int, sep byte) {
		maxLen = 480 + abs(maxLen)%8192
		h := &syslogHeader{facility: 20, hostname: host, appName: "vigil", procID: "1"}
		var stream []byte
		var msgs [][]byte
		for _, part := range bytes.Split([]byte(payload), []byte{sep}) {
			m := appendSyslogMessage(nil, h, syslogWarning, time.Unix(1, 0), "LEEF", part, maxLen)
			require.LessOrEqual(t, len(m), maxLen)
			fields := strings.SplitN(string(m), " ", 8)
			require.Len(t, fields, 8)
			require.Equal(t, "<164>1", fields[0])
			for _, fld := range fields[1:6] {
				require.True(t, fld != "" && printUSASCII(fld), "header field %q", fld)
			}
			require.Equal(t, "-", fields[6])
			body := []byte(fields[7])
			require.True(t, bytes.HasPrefix(part, body), "the message is a prefix of the payload")
			if utf8.Valid(part) {
				require.True(t, utf8.Valid(body))
			}
			msgs = append(msgs, m)
			stream = appendOctetCounted(stream, m)
		}
		got, err := readFrames(stream)
		require.NoError(t, err)
		require.Equal(t, msgs, got)
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n {
			return 0
		}
		return -n
	}
	return n
}

// FuzzReadFrames checks that the test's frame reader never panics on
// arbitrary bytes and agrees with the writer on what it accepts.
func FuzzReadFrames(f *testing.F) {
	f.Add([]byte("3 abc2 de"))
	f.Add([]byte("01 a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, err := readFrames(b)
		if err != nil {
			return
		}
		var again []byte
		for _, fr := range frames {
			again = appendOctetCounted(again, fr)
		}
		require.Equal(t, string(b), string(again), "a stream that parses is exactly its frames: "+strconv.Quote(string(b)))
	})
}
