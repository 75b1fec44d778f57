package api

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// FuzzDecodeBatch feeds the ingest body decoder arbitrary bytes: it must
// never panic, must fail only with a client error, and must account for
// every event of a batch it accepts, each valid and encodable.
func FuzzDecodeBatch(f *testing.F) {
	for _, seed := range []string{
		batch("", 1, benign("a", t0), payrollToUSB("b", t0.Add(time.Second))),
		batch("agent-1", 0, benign("a", t0), benign("a", t0)),
		batch("", 2, ev("c", "file-copy", t0, ""), `42`, `null`, `{}`),
		`{"seq": 1, "events": [{"@timestamp": "2026-11-02T10:00:00Z", "event": {"id": "x", "action": "logon"}, "file": {"sizee": 1}}]}`,
		`{"seq": "1", "events": []}`,
		`{"seq": 1, "evnts": []}`,
		`{"seq": 1, "events": [`,
		`{"seq": 1, "events": [{"event": {"id": "\ud800", "action": "logon"}, "@timestamp": "2026-11-02T10:00:00+01:00"}]}`,
		`[]`, ``, `null`, `{"seq": 9223372036854775807, "events": [{}]}`,
		`{"seq": 1, "seq": 2, "events": [{}]}`, `{"SEQ": 1, "Events": [{}]}`, `{"seq": 1.0, "events": [{}]}`,
		`{"seq": 01, "events": [{}]}`, `{"seq": -0, "events": [{}]}`, `{"agent_id": "a\u0041", "seq": 1, "events": [{}]}`,
		`{"agent_id": null, "seq": null, "events": null}`, `{"events": [{"a": [1}, {"b": 2}]}`, `{"events": [tru, {}]}`,
		` { "events" : [ ` + ev("q", "logon", t0, `"tags": ["a]\"}", "b{["], "message": "x\\"`) + ` ] , "seq" : 5 } `,
		`{"events": [{"@timestamp": "2026-11-02T10:00:00Z", "event": {"id": "x", "action": "logon"}}], "agent_id": "\xff"}`,
	} {
		f.Add([]byte(seed))
	}
	const maxEvents = 50
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBatch(data, maxEvents)
		// The fast scan and encoding/json agree.
		std, stdErr := decodeBatchStd(data, maxEvents)
		if (err == nil) != (stdErr == nil) || (err != nil && err.Error() != stdErr.Error()) {
			t.Fatalf("scan and encoding/json disagree: %v / %v", err, stdErr)
		}
		if err == nil && !reflect.DeepEqual(b, std) {
			t.Fatalf("scan and encoding/json disagree:\n%+v\n%+v", b, std)
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an API error", err)
			}
			if s := statusOf(ae.code); s != http.StatusBadRequest && s != http.StatusRequestEntityTooLarge {
				t.Fatalf("error %v has status %d", err, s)
			}
			return
		}
		var req ingestRequest
		if err := decodeJSON(data, &req, false); err != nil {
			t.Fatalf("decodeBatch accepted a body decodeJSON refuses: %v", err)
		}
		if got := len(b.events) + b.repeats + len(b.rejected); got != len(req.Events) {
			t.Fatalf("%d events accounted for, %d sent", got, len(req.Events))
		}
		seen := map[string]bool{}
		for _, e := range b.events {
			if err := e.Validate(); err != nil {
				t.Fatalf("accepted event fails validation: %v", err)
			}
			if seen[e.Event.ID] {
				t.Fatalf("event id %q accepted twice", e.Event.ID)
			}
			seen[e.Event.ID] = true
			enc, err := event.Encode(e)
			if err != nil {
				t.Fatalf("accepted event does not encode: %v", err)
			}
			if _, err := event.Decode(enc); err != nil {
				t.Fatalf("accepted event does not decode again: %v\n%s", err, enc)
			}
		}
		for i, r := range b.rejected {
			if r.Error == "" || r.Index < 0 || r.Index >= len(req.Events) || (i > 0 && r.Index <= b.rejected[i-1].Index) {
				t.Fatalf("bad rejection %+v", r)
			}
		}
	})
}
