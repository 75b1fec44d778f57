package event_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
)

// benchEvents returns a generated mixed stream and its JSON Lines.
func benchEvents(b *testing.B, n int) ([]*event.Event, [][]byte) {
	b.Helper()
	events := eventgen.New(1, eventgen.Options{}).Batch(n)
	lines := make([][]byte, len(events))
	for i, e := range events {
		data, err := event.Encode(e)
		if err != nil {
			b.Fatal(err)
		}
		lines[i] = data
	}
	return events, lines
}

func totalBytes(lines [][]byte) int {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	return n
}

// BenchmarkDecode decodes and validates a generated mixed stream, one event
// per op; encoding/json (without validation) is the baseline.
func BenchmarkDecode(b *testing.B) {
	_, lines := benchEvents(b, 1024)
	avg := int64(totalBytes(lines) / len(lines))
	b.Run("codec=vigil/events=mixed", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(avg)
		i := 0
		for b.Loop() {
			if _, err := event.Decode(lines[i%len(lines)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("codec=encoding-json/events=mixed", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(avg)
		i := 0
		for b.Loop() {
			var e event.Event
			if err := json.Unmarshal(lines[i%len(lines)], &e); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	events, lines := benchEvents(b, 1024)
	avg := int64(totalBytes(lines) / len(lines))
	b.Run("codec=vigil/events=mixed", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(avg)
		buf := make([]byte, 0, 8192)
		i := 0
		for b.Loop() {
			var err error
			if buf, err = event.AppendJSON(buf[:0], events[i%len(events)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("codec=encoding-json/events=mixed", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(avg)
		i := 0
		for b.Loop() {
			if _, err := json.Marshal(events[i%len(events)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkDecodeStream reads 1024 generated events as JSON Lines per op.
func BenchmarkDecodeStream(b *testing.B) {
	_, lines := benchEvents(b, 1024)
	stream := append(bytes.Join(lines, []byte("\n")), '\n')
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		err := event.DecodeStream(bytes.NewReader(stream), func(_ int, _ *event.Event, err error) error { return err })
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	events, _ := benchEvents(b, 1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := events[i%len(events)].Validate(); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkNormalize(b *testing.B) {
	events, _ := benchEvents(b, 1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		events[i%len(events)].Normalize()
		i++
	}
}
