package event_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
)

// TestRoundTripGenerated checks Decode(Encode(e)) == e over a generated
// stream of every action, that Encode writes what encoding/json writes,
// and that DecodeCanonical calls what Encode writes canonical.
func TestRoundTripGenerated(t *testing.T) {
	for _, seed := range []int64{1, 2, 42} {
		g := eventgen.New(seed, eventgen.Options{Users: 200})
		for i, e := range g.Batch(2000) {
			data, err := event.Encode(e)
			require.NoError(t, err)
			back, canonical, err := event.DecodeCanonical(data)
			require.NoError(t, err, "seed %d event %d: %s", seed, i, data)
			require.Equal(t, e, back, "seed %d event %d", seed, i)
			require.True(t, canonical, "seed %d event %d: %s", seed, i, data)

			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			require.NoError(t, enc.Encode(e))
			require.Equal(t, strings.TrimSuffix(want.String(), "\n"), string(data))
		}
	}
}

// TestDecodeStreamGenerated writes a generated stream as JSON Lines, with a
// few broken lines mixed in, and reads it back.
func TestDecodeStreamGenerated(t *testing.T) {
	events := eventgen.New(7, eventgen.Options{Users: 30}).Batch(500)
	var buf []byte
	broken := map[int]bool{}
	line := 0
	for i, e := range events {
		var err error
		buf, err = event.AppendJSON(buf, e)
		require.NoError(t, err)
		buf = append(buf, '\n')
		line++
		if i%97 == 0 {
			buf = append(buf, `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"x","action":"exfil"}}`+"\n"...)
			line++
			broken[line] = true
		}
	}
	var got []*event.Event
	err := event.DecodeStream(bytes.NewReader(buf), func(line int, e *event.Event, err error) error {
		if broken[line] {
			require.Error(t, err)
			return nil
		}
		require.NoError(t, err, "line %d", line)
		got = append(got, e)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, events, got)
}
