package keyboard

import (
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-itm/vigil/evidence"
	"github.com/vigil-itm/vigil/sensors/x11"
)

// dropSink is an evidence sink that keeps nothing.
type dropSink struct{ n int }

func (d *dropSink) RecordKeystroke(evidence.Keystroke)      { d.n++ }
func (d *dropSink) RecordClipboard(evidence.ClipboardEntry) {}
func (d *dropSink) RecordTerminal(evidence.TerminalRecord)  {}

// keyReply is a RECORD reply of n key presses and releases of letters.
func keyReply(n int) x11.RecordReply {
	data := make([]byte, 0, n*64)
	for i := range n {
		code := byte(10 + i%26)
		for _, typ := range []byte{2, 3} {
			ev := make([]byte, 32)
			ev[0], ev[1] = typ, code
			binary.LittleEndian.PutUint32(ev[4:], uint32(i))
			data = append(data, ev...)
		}
	}
	return x11.RecordReply{Category: x11.RecordFromServer, Data: data}
}

func letterKeymap() x11.Keymap {
	m := x11.Keymap{Min: 8, PerKeycode: 2, Syms: make([]x11.Keysym, 248*2)}
	for i := range 26 {
		m.Syms[(10+i-8)*2] = x11.Keysym('a' + i)
		m.Syms[(10+i-8)*2+1] = x11.Keysym('A' + i)
	}
	return m
}

// BenchmarkKeyHandling measures what the sensor does per key once the
// RECORD data is read: parsing the events, decoding the key, appending it
// to the window's chunk and flushing full chunks to the evidence sink. The
// focus lookup (one X round trip per RECORD reply, not per key) is not in it.
func BenchmarkKeyHandling(b *testing.B) {
	for _, perReply := range []int{1, 64} {
		b.Run("keys_per_reply="+strconv.Itoa(perReply), func(b *testing.B) {
			rep := keyReply(perReply)
			sink := &dropSink{}
			p := &processor{sink: sink, record: true, maxChunk: 512}
			p.state.Map = letterKeymap()
			win := &x11.WindowInfo{ID: 1, Title: "notes.txt - Editor", App: "Editor"}
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = x11.ParseRecordData(rep, func(in x11.Input) {
					switch in.Kind {
					case x11.InputKeyPress:
						p.press(in.Keycode, now, win, false)
					case x11.InputKeyRelease:
						p.state.Release(in.Keycode)
					}
				})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perReply), "ns/key")
		})
	}
}
