package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
)

// seedCorpus adds the examples, a generated stream and hand-made broken
// documents to a fuzz corpus.
func seedCorpus(f *testing.F) {
	data, err := os.ReadFile("testdata/examples.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for line := range bytes.Lines(data) {
		f.Add(bytes.TrimSpace(line))
	}
	for _, e := range eventgen.New(11, eventgen.Options{Users: 20}).Batch(64) {
		b, err := event.Encode(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"event":null}`, `{"@timestamp":null}`,
		`{"@timestamp":"2026-11-28T10:00:00+14:00","event":{"id":"a","action":"logon"}}`,
		`{"labels":{"a":"\ud800"},"tags":["\u0000"],"event":{"id":"\"","action":"logon"},"@timestamp":"2026-01-01T00:00:00Z"}`,
		`{"file":{"size":-0},"print":{"pages":1e400},"user":{"risk_score":-1e-400}}`,
		`{"email":{"attachments":[null,{},{"size":9223372036854775807}]}}`,
		`{"x":[[[[{"y":[true,false,null,1.5e-3,"\\"]}]]]]}`,
		"{\"message\":\"\xff\xfe\",\"event\":{\"id\":\"i\",\"action\":\"logon\"},\"@timestamp\":\"2026-01-01T00:00:00Z\"}",
	} {
		f.Add([]byte(s))
	}
}

// FuzzDecode: Decode never panics; whatever it accepts re-encodes to a
// document that decodes to the same event, and encoding/json agrees with
// what was accepted. Input DecodeCanonical calls canonical is what Encode
// writes, and what Encode writes is canonical.
func FuzzDecode(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		e, canonical, err := event.DecodeCanonical(data)
		if e == nil {
			if err == nil {
				t.Fatal("no event and no error")
			}
			if !errors.Is(err, event.ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			return
		}
		// Decoded, possibly with a validation error: the round trip holds
		// either way, with the same validation result.
		enc, encErr := event.Encode(e)
		if encErr != nil {
			t.Fatalf("cannot encode a decoded event: %v", encErr)
		}
		if canonical && !bytes.Equal(enc, data) {
			t.Fatalf("input reported canonical, but Encode writes otherwise:\n%s\n%s", data, enc)
		}
		back, backCanonical, err2 := event.DecodeCanonical(enc)
		if back == nil {
			t.Fatalf("re-decoding failed: %v\n%s", err2, enc)
		}
		if !backCanonical {
			t.Fatalf("Encode's output is not reported canonical:\n%s", enc)
		}
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("validation differs after the round trip: %v vs %v", err, err2)
		}
		again, _ := event.Encode(back)
		if !bytes.Equal(enc, again) {
			t.Fatalf("round trip changed the event:\n%s\n%s", enc, again)
		}
		// encoding/json accepts everything Decode accepts (it is laxer:
		// case-insensitive names, duplicates) and reads the same values.
		var std event.Event
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&std); err != nil {
			t.Fatalf("encoding/json rejects what Decode accepted: %v", err)
		}
		stdEnc, err := event.Encode(&std)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if !bytes.Equal(enc, stdEnc) {
			t.Fatalf("Decode and encoding/json disagree:\n%s\n%s", enc, stdEnc)
		}
	})
}

// FuzzDecodeStream: DecodeStream never panics, reports every non-blank line
// exactly once, in order, and what it accepts round-trips.
func FuzzDecodeStream(f *testing.F) {
	seedCorpus(f)
	f.Add([]byte("\n\n{}\n\r\n{\"a\":1}\n\xEF\xBB\xBF[]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var lines []int
		err := event.DecodeStream(bytes.NewReader(data), func(line int, e *event.Event, err error) error {
			lines = append(lines, line)
			if err != nil && !errors.Is(err, event.ErrInvalid) {
				t.Fatalf("line %d: error does not match ErrInvalid: %v", line, err)
			}
			if err == nil {
				enc, encErr := event.Encode(e)
				if encErr != nil {
					t.Fatalf("line %d: %v", line, encErr)
				}
				if _, err := event.Decode(enc); err != nil {
					t.Fatalf("line %d: round trip: %v", line, err)
				}
			}
			return nil
		}, event.WithMaxLineSize(512))
		if err != nil {
			t.Fatalf("DecodeStream: %v", err)
		}
		var want []int
		text := strings.TrimPrefix(string(data), "\xEF\xBB\xBF")
		for i, l := range strings.Split(text, "\n") {
			if strings.Trim(l, " \t\r") != "" {
				want = append(want, i+1)
			}
		}
		if len(want) != len(lines) {
			t.Fatalf("reported lines %v, want %v", lines, want)
		}
		for i := range want {
			if want[i] != lines[i] {
				t.Fatalf("reported lines %v, want %v", lines, want)
			}
		}
	})
}
