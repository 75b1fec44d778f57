package terminal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFrameRoundTrip(t *testing.T) {
	code := int64(2)
	msgs := []Message{
		{Type: MsgHello, Time: time.Unix(1700000000, 5).UTC(), Session: "abc", Shell: "/bin/bash", TTY: "pts/1", PID: 42, Width: 120, Height: 40},
		{Type: MsgRecord, Kind: "o", Data: "hello \u00e9\r\n"},
		{Type: MsgRecord, Kind: "r", Width: 100, Height: 30},
		{Type: MsgCommand, Line: "false", Cwd: "/tmp", ExitCode: &code, Approximate: true},
		{Type: MsgEnd, ExitCode: &code, Dropped: 7},
	}
	var buf bytes.Buffer
	for i := range msgs {
		require.NoError(t, WriteFrame(&buf, &msgs[i]))
	}
	for _, want := range msgs {
		got, err := ReadFrame(&buf, DefaultMaxFrame)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := ReadFrame(&buf, DefaultMaxFrame)
	require.ErrorIs(t, err, io.EOF)
}

func frame(body string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func TestReadFrameErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{name: "too large", in: binary.BigEndian.AppendUint32(nil, 1<<30), want: ErrFrameTooLarge},
		{name: "zero length", in: binary.BigEndian.AppendUint32(nil, 0), want: ErrFrameTooLarge},
		{name: "cut short", in: frame(`{"type":"hello"}`)[:10], want: io.ErrUnexpectedEOF},
		{name: "header cut", in: []byte{0, 0}, want: io.ErrUnexpectedEOF},
		{name: "not json", in: frame("hello"), want: ErrBadMessage},
		{name: "unknown type", in: frame(`{"type":"exec"}`), want: ErrBadMessage},
		{name: "bad record kind", in: frame(`{"type":"record","kind":"x"}`), want: ErrBadMessage},
		{name: "absurd size", in: frame(`{"type":"hello","width":99999}`), want: ErrBadMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFrame(bytes.NewReader(tc.in), DefaultMaxFrame)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func FuzzReadFrame(f *testing.F) {
	var good bytes.Buffer
	_ = WriteFrame(&good, &Message{Type: MsgHello, Session: "s", Width: 80, Height: 24})
	_ = WriteFrame(&good, &Message{Type: MsgRecord, Kind: "o", Data: "x"})
	f.Add(good.Bytes())
	f.Add(frame(`{"type":"command","line":"ls","exit_code":0}`))
	f.Add([]byte{0, 0, 0, 1, '{'})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		for range 64 {
			m, err := ReadFrame(r, 4096)
			if err != nil {
				require.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
					errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrBadMessage), "unexpected error %v", err)
				return
			}
			// What decodes re-encodes and decodes the same.
			var buf bytes.Buffer
			require.NoError(t, WriteFrame(&buf, &m))
			again, err := ReadFrame(&buf, 1<<20)
			require.NoError(t, err)
			require.Equal(t, m.Type, again.Type)
			require.Equal(t, m.Kind, again.Kind)
			require.Equal(t, m.Line, again.Line)
		}
	})
}
