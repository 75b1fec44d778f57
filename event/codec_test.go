package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
)

const okEvent = `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1","action":"logon"}}`

// withField returns okEvent with extra members added to the top-level object.
func withField(members string) string {
	return strings.Replace(okEvent, `{"@timestamp"`, "{"+members+`,"@timestamp"`, 1)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // messages; a single "syntax: ..." entry means a SyntaxError containing the text
	}{
		{"unknown field with suggestion", withField(`"file":{"path":"/x","sizee":12}`),
			[]string{`file.sizee: unknown field (did you mean "size"?)`}},
		{"unknown field", withField(`"colour":"red"`), []string{"colour: unknown field"}},
		{"unknown nested field", withField(`"email":{"attachments":[{"name":"a"},{"nam":"b"}]}`),
			[]string{`email.attachments[1].nam: unknown field (did you mean "name"?)`}},
		{"string for integer", withField(`"file":{"size":"12"}`), []string{"file.size: want integer, got string"}},
		{"fraction for integer", withField(`"print":{"pages":1.5}`), []string{"print.pages: want integer, got number 1.5"}},
		{"exponent for integer", withField(`"print":{"pages":1e3}`), []string{"print.pages: want integer, got number 1e3"}},
		{"integer overflow", withField(`"file":{"size":9223372036854775808}`), []string{"file.size: integer 9223372036854775808 out of range"}},
		{"number for string", withField(`"file":{"path":12}`), []string{"file.path: want string, got number"}},
		{"object for string", withField(`"message":{}`), []string{"message: want string, got object"}},
		{"string for boolean", withField(`"volume":{"removable":"yes"}`), []string{"volume.removable: want boolean, got string"}},
		{"string for object", withField(`"host":"ws-042"`), []string{"host: want object, got string"}},
		{"object for list", withField(`"tags":{"a":1}`), []string{"tags: want array of strings, got object"}},
		{"bad list element", withField(`"email":{"to":["a@x",7,"b@x"]}`), []string{"email.to[1]: want string, got number"}},
		{"bad label", withField(`"labels":{"site":1}`), []string{"labels.site: want string, got number"}},
		{"list for labels", withField(`"labels":["a"]`), []string{"labels: want object of strings, got array"}},
		{"object for attachments", withField(`"email":{"attachments":{"name":"a"}}`), []string{"email.attachments: want array of objects, got object"}},
		{"bad timestamp", `{"@timestamp":"28/11/2026","event":{"id":"e1","action":"logon"}}`,
			[]string{`@timestamp: want RFC 3339 timestamp such as "2026-11-28T10:00:00Z", got "28/11/2026"`}},
		{"number timestamp", `{"@timestamp":1764324000,"event":{"id":"e1","action":"logon"}}`,
			[]string{"@timestamp: want RFC 3339 timestamp string, got number"}},
		{"duplicate field", `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1","action":"logon","id":"e2"}}`,
			[]string{"event.id: duplicate field"}},
		{"duplicate label", withField(`"labels":{"a":"1","a":"2"}`), []string{"labels.a: duplicate field"}},
		{"not an object", `["logon"]`, []string{"want an event object, got array"}},
		{"several problems", withField(`"file":{"size":"1","pathh":"/x"},"print":{"pages":true}`),
			[]string{"file.size: want integer, got string", `file.pathh: unknown field (did you mean "path"?)`, "print.pages: want integer, got boolean"}},
		{"validation after decoding", `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1","action":"fil-created"}}`,
			[]string{`event.action: unknown value "fil-created" (did you mean "file-created"?)`}},
		{"missing required fields", `{"event":{}}`, []string{"@timestamp: required", "event.id: required", "event.action: required"}},
		{"empty input", ``, []string{"syntax: unexpected end of input"}},
		{"truncated", `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1"`, []string{"syntax: unexpected end of input"}},
		{"trailing data", okEvent + ` {}`, []string{"syntax: unexpected data after the event"}},
		{"bad literal", withField(`"volume":{"removable":tru}`), []string{"syntax: invalid character '}' in literal true"}},
		{"not JSON", "not json at all", []string{"syntax: invalid character 'o' in literal null"}},
		{"truncated literal", `{"volume":{"removable":fals`, []string{"syntax: unexpected end of input in literal false"}},
		{"leading zero", withField(`"file":{"size":012}`), []string{"syntax: want ',' or '}' after a field"}},
		{"control character", withField("\"message\":\"a\tb\""), []string{"syntax: control character in string"}},
		{"bad escape", withField(`"message":"a\qb"`), []string{`syntax: invalid escape "\\q"`}},
		{"bad unicode escape", withField(`"message":"\u12g4"`), []string{`syntax: invalid \u escape`}},
		{"single quotes", `{'a':1}`, []string{"syntax: want a field name"}},
		{"deep nesting in unknown field", withField(`"x":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000)),
			[]string{"syntax: nested too deeply"}},
		{"missing colon", `{"@timestamp" "x"}`, []string{"syntax: want ':' after a field name"}},
		{"junk value", withField(`"message":?`), []string{"syntax: invalid character '?' looking for a value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
			if msg, ok := strings.CutPrefix(tt.want[0], "syntax: "); ok {
				var syn *SyntaxError
				require.ErrorAs(t, err, &syn)
				require.Equal(t, msg, syn.Msg)
				require.Contains(t, err.Error(), "malformed JSON at offset")
				return
			}
			require.Equal(t, tt.want, errorStrings(err))
		})
	}
}

func TestDecodeReturnsEventWithValidationError(t *testing.T) {
	e, err := Decode([]byte(`{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1","action":"usb"}}`))
	require.ErrorIs(t, err, ErrInvalid)
	require.NotNil(t, e)
	require.Equal(t, "usb", e.Event.Action)

	e, err = Decode([]byte(withField(`"file":{"size":"x"}`)))
	require.Error(t, err)
	require.Nil(t, e, "a decoding error returns no event")
}

func TestDecodeLimitsErrorCount(t *testing.T) {
	var members []string
	for i := range 30 {
		members = append(members, `"x`+strings.Repeat("y", i)+`":1`)
	}
	_, err := Decode([]byte(withField(strings.Join(members, ","))))
	msgs := errorStrings(err)
	require.Len(t, msgs, maxFieldErrors+1)
	require.Equal(t, "10 more problems not shown", msgs[maxFieldErrors])
}

func TestDecodeValues(t *testing.T) {
	in := `{
	  "@timestamp": "2026-11-28T12:00:00.5+02:00",
	  "message": "tab\there \"quoted\" \u00e9\ud83d\ude00 \u2028 \/ lone \ud800 end",
	  "tags": [],
	  "labels": {},
	  "event": {"id": "e1", "action": "process-ended", "ingested": null, "category": null,
	            "sequence": -0, "ocsf": {"class_uid": 1007, "activity_id": 2}},
	  "host": null,
	  "user": {"active": false, "risk_score": 1.5e1},
	  "process": {"pid": 9223372036854775807, "exit_code": -9223372036854775808, "args": ["a", null]},
	  "email": {"attachments": [{"name": "a"}, null]},
	  "file": {"path": "caf\u00e9", "name": "bad INVALID utf8"}
	}`
	e, err := Decode([]byte(strings.Replace(in, "INVALID", "\xff", 1)))
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 28, 10, 0, 0, 500_000_000, time.UTC), e.Timestamp)
	require.Equal(t, time.UTC, e.Timestamp.Location())
	require.Equal(t, "tab\there \"quoted\" é😀 \u2028 / lone \uFFFD end", e.Message)
	require.Nil(t, e.Tags, "empty lists decode as absent")
	require.Nil(t, e.Labels, "empty objects of labels decode as absent")
	require.Nil(t, e.Host)
	require.Nil(t, e.Event.Category)
	require.Zero(t, e.Event.Sequence)
	require.Equal(t, &OCSF{ClassUID: 1007, ActivityID: 2}, e.Event.OCSF)
	require.NotNil(t, e.User.Active)
	require.False(t, *e.User.Active)
	require.InDelta(t, 15.0, e.User.RiskScore, 0)
	require.Equal(t, int64(math.MaxInt64), e.Process.PID)
	require.Equal(t, int64(math.MinInt64), *e.Process.ExitCode)
	require.Equal(t, []string{"a", ""}, e.Process.Args)
	require.Equal(t, []Attachment{{Name: "a"}, {}}, e.Email.Attachments)
	require.Equal(t, "café", e.File.Path)
	require.Equal(t, "bad \uFFFD utf8", e.File.Name)
}

// TestDecodeMatchesEncodingJSON decodes the same documents with Decode and
// encoding/json and compares the results through Encode.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	docs := exampleLines(t)
	full, err := json.Marshal(validEvent())
	require.NoError(t, err)
	docs = append(docs, full, []byte(`{"@timestamp":"2026-11-28T12:00:00.5+02:00","message":"\ud83d\ude00\ud800x\u00e9","event":{"id":"e","action":"logon"}}`))
	for i, doc := range docs {
		ours, err := Decode(doc)
		require.NoError(t, err, "doc %d", i)
		var theirs Event
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&theirs))
		a, err := Encode(ours)
		require.NoError(t, err)
		b, err := Encode(&theirs)
		require.NoError(t, err)
		require.Equal(t, string(b), string(a), "doc %d", i)
	}
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	e := validEvent()
	e.Message = "<html> & \"quotes\" \\ \x01\x1f\b\f\n\r\t \u2028\u2029 é \xff"
	e.Labels = map[string]string{"z": "1", "a": "2", "m\n": "3"}
	e.User.RiskScore = 1e-7
	e.Process.Hash = nil
	got, err := Encode(e)
	require.NoError(t, err)
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(e))
	require.Equal(t, strings.TrimSuffix(want.String(), "\n"), string(got))

	for _, x := range []float64{0, math.Copysign(0, -1), 1, 0.1, 123456789, 1e20, 1e21, 1.5e-6, 1e-6, 5e-324, math.MaxFloat64} {
		e.User.RiskScore = x
		got, err := Encode(e)
		require.NoError(t, err)
		want.Reset()
		require.NoError(t, enc.Encode(e))
		require.Equal(t, strings.TrimSuffix(want.String(), "\n"), string(got), "risk_score %v", x)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	e := validEvent()
	b, err := Encode(e)
	require.NoError(t, err)
	back, err := Decode(b)
	require.NoError(t, err)
	require.Equal(t, e, back)

	for i, line := range exampleLines(t) {
		e, err := Decode(line)
		require.NoError(t, err)
		out, err := Encode(e)
		require.NoError(t, err)
		require.Equal(t, string(line), string(out), "example %d is not in canonical form", i+1)
	}
}

func TestEncodeConvertsTimesToUTC(t *testing.T) {
	e := validEvent()
	paris := time.FixedZone("CET", 3600)
	e.Timestamp = time.Date(2026, 11, 28, 11, 0, 0, 0, paris)
	b, err := Encode(e)
	require.NoError(t, err)
	require.Contains(t, string(b), `"@timestamp":"2026-11-28T10:00:00Z"`)
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Event)
		want   string
	}{
		{"NaN", func(e *Event) { e.User.RiskScore = math.NaN() }, `encode event "01JDQ7ZK3V8N4G2M5R6T7W8X9Y": user.risk_score: NaN cannot be written as JSON`},
		{"infinity", func(e *Event) { e.User.RiskScore = math.Inf(1) }, `encode event "01JDQ7ZK3V8N4G2M5R6T7W8X9Y": user.risk_score: +Inf cannot be written as JSON`},
		{"year", func(e *Event) { e.Timestamp = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }, `encode event "01JDQ7ZK3V8N4G2M5R6T7W8X9Y": @timestamp: year -1 cannot be written as RFC 3339`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEvent()
			tt.mutate(e)
			_, err := Encode(e)
			require.EqualError(t, err, tt.want)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
	_, err := Encode(nil)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestAppendJSONReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 8192)
	out, err := AppendJSON(buf[:0], validEvent())
	require.NoError(t, err)
	require.Equal(t, &buf[:1][0], &out[:1][0], "AppendJSON must append in place")
	e := validEvent()
	e.User.RiskScore = math.NaN()
	prefix := []byte("keep")
	out, err = AppendJSON(prefix, e)
	require.Error(t, err)
	require.Equal(t, "keep", string(out), "a failed append leaves dst as it was")
}

type streamResult struct {
	Line   int
	Action string
	Err    string
}

func collect(t *testing.T, r io.Reader, opts ...StreamOption) []streamResult {
	t.Helper()
	var got []streamResult
	err := DecodeStream(r, func(line int, e *Event, err error) error {
		res := streamResult{Line: line}
		if e != nil {
			res.Action = e.Event.Action
		}
		if err != nil {
			res.Err = err.Error()
			require.ErrorIs(t, err, ErrInvalid)
		}
		got = append(got, res)
		return nil
	}, opts...)
	require.NoError(t, err)
	return got
}

func TestDecodeStream(t *testing.T) {
	ev := func(action string) string {
		return `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e","action":"` + action + `"}}`
	}
	tests := []struct {
		name string
		in   string
		opts []StreamOption
		want []streamResult
	}{
		{"empty", "", nil, nil},
		{"lines", ev("logon") + "\n" + ev("logoff") + "\n", nil,
			[]streamResult{{1, "logon", ""}, {2, "logoff", ""}}},
		{"no final newline", ev("logon") + "\n" + ev("logoff"), nil,
			[]streamResult{{1, "logon", ""}, {2, "logoff", ""}}},
		{"blank lines skipped but counted", "\n  \n" + ev("logon") + "\r\n\t\r\n" + ev("logoff"), nil,
			[]streamResult{{3, "logon", ""}, {5, "logoff", ""}}},
		{"byte order mark", "\xEF\xBB\xBF" + ev("logon"), nil, []streamResult{{1, "logon", ""}}},
		{"bad lines lose nothing else", ev("logon") + "\n{\"x\":\n" + ev("fil-created") + "\n" + ev("logoff") + "\n", nil,
			[]streamResult{
				{1, "logon", ""},
				{2, "", "malformed JSON at offset 5: unexpected end of input"},
				{3, "fil-created", `event.action: unknown value "fil-created" (did you mean "file-created"?)`},
				{4, "logoff", ""},
			}},
		{"line too long", ev("logon") + "\n" + withField(`"message":"`+strings.Repeat("x", 300)+`"`) + "\n" + ev("logoff"),
			[]StreamOption{WithMaxLineSize(200)},
			[]streamResult{{1, "logon", ""}, {2, "", "invalid event: line too long: more than 200 bytes"}, {3, "logoff", ""}}},
		{"line exactly at the limit", ev("logon") + "\r\n", []StreamOption{WithMaxLineSize(len(ev("logon")))},
			[]streamResult{{1, "logon", ""}}},
		{"line one byte over", ev("logon") + "\n", []StreamOption{WithMaxLineSize(len(ev("logon")) - 1)},
			[]streamResult{{1, "", fmt.Sprintf("invalid event: line too long: more than %d bytes", len(ev("logon"))-1)}}},
		{"long blank line is blank", strings.Repeat(" ", 500) + "\n" + ev("logon"), []StreamOption{WithMaxLineSize(100)},
			[]streamResult{{2, "logon", ""}}},
		{"non-positive limit keeps default", ev("logon"), []StreamOption{WithMaxLineSize(0)}, []streamResult{{1, "logon", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, collect(t, strings.NewReader(tt.in), tt.opts...))
			// The same stream read one byte at a time gives the same result.
			require.Equal(t, tt.want, collect(t, iotest.OneByteReader(strings.NewReader(tt.in)), tt.opts...))
		})
	}
}

func TestDecodeStreamLongLinesBeyondBuffer(t *testing.T) {
	long := withField(`"message":"` + strings.Repeat("é", 100_000) + `"`)
	in := long + "\n" + strings.Repeat("y", 3<<20) + "\n" + okEvent + "\n"
	got := collect(t, strings.NewReader(in))
	require.Equal(t, []streamResult{
		{1, "logon", ""},
		{2, "", "invalid event: line too long: more than 1048576 bytes"},
		{3, "logon", ""},
	}, got)
}

func TestDecodeStreamStops(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := DecodeStream(strings.NewReader(okEvent+"\n"+okEvent+"\n"+okEvent), func(int, *Event, error) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 2, calls)

	readErr := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader(okEvent+"\n"), iotest.ErrReader(readErr))
	calls = 0
	err = DecodeStream(r, func(int, *Event, error) error { calls++; return nil })
	require.ErrorIs(t, err, readErr)
	require.EqualError(t, err, "read events: line 2: disk on fire")
	require.Equal(t, 1, calls)
}

func TestDecodeAll(t *testing.T) {
	bad := `{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e","action":"logn"}}`
	offset := func(prefix string) string { return strconv.Itoa(len(prefix)) }
	tests := []struct {
		name    string
		in      string
		actions int
		errs    string
	}{
		{"json lines", okEvent + "\n\n" + bad + "\n" + okEvent, 2, `line 3: event.action: unknown value "logn" (did you mean "logon"?)`},
		{"json lines with type error", withField(`"file":{"size":"x"}`) + "\n" + okEvent, 1, "line 1: file.size: want integer, got string"},
		{"array", "\n [\n" + okEvent + ",\n  " + bad + ",\n" + okEvent + "\n]\n", 2, `line 4: event.action: unknown value "logn" (did you mean "logon"?)`},
		{"array with a type error", "[" + okEvent + ",\n" + withField(`"file":{"size":"x"}`) + "]", 1, "line 2: file.size: want integer, got string"},
		{"array with several problems in one event", "[\n" + withField(`"file":{"size":"x","pth":"/"}`) + "]", 0,
			"line 2: file.size: want integer, got string\nline 2: file.pth: unknown field (did you mean \"path\"?)"},
		{"empty array", " [ ] ", 0, ""},
		{"array of non-objects", `[1, "x"]`, 0, "line 1: want an event object, got number\nline 1: want an event object, got string"},
		{"broken array", "\xEF\xBB\xBF\n[" + okEvent + ",\n\n" + `{"a":`, 1,
			"line 4: malformed JSON at offset " + offset("\xEF\xBB\xBF\n["+okEvent+",\n\n"+`{"a":`) + ": unexpected end of input"},
		{"array with trailing data", "[" + okEvent + "] x", 1,
			"line 1: malformed JSON at offset " + offset("["+okEvent+"] ") + ": unexpected data after the array"},
		{"array with bad separator", "[" + okEvent + " " + okEvent + "]", 1,
			"line 1: malformed JSON at offset " + offset("["+okEvent+" ") + ": want ',' or ']' after an event"},
		{"empty file", "", 0, ""},
		{"only white space", " \n\t\n", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := DecodeAll(strings.NewReader(tt.in))
			require.Len(t, events, tt.actions)
			if tt.errs == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.errs)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestDecodeFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "events.json")
	require.NoError(t, os.WriteFile(name, []byte("[\n"+okEvent+",\n"+withField(`"file":{"size":"x"}`)+"\n]"), 0o600))
	events, err := DecodeFile(name)
	require.Len(t, events, 1)
	require.EqualError(t, err, name+":3: file.size: want integer, got string")
	var le *LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, 3, le.Line)
	require.Equal(t, name, le.File)

	events, err = DecodeFile("testdata/examples.jsonl")
	require.NoError(t, err)
	require.Len(t, events, len(exampleLines(t)))

	_, err = DecodeFile(filepath.Join(dir, "missing.json"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestDecodeCanonical(t *testing.T) {
	// doc builds an event: before goes between @timestamp and event, after
	// behind event, both with their leading comma.
	doc := func(ts, before, after string) string {
		return `{"@timestamp":"` + ts + `"` + before + `,"event":{"id":"e1","action":"file-copy"}` + after + `}`
	}
	const ts = "2026-11-28T10:00:00Z"
	tests := []struct {
		name      string
		in        string
		canonical bool
	}{
		{"minimal", doc(ts, "", ""), true},
		{"every kind of value", doc("2026-11-28T10:00:00.123456789Z", `,"message":"copied","tags":["a","b"],"labels":{"a":"1","b":"2"}`,
			`,"user":{"name":"jdoe","risk_score":0.5},"file":{"path":"/x","size":5},"email":{"attachments":[{"name":"a.pdf"},{}]}`), true},
		{"escapes appendString writes", doc(ts, `,"message":"C:\\x \"q\" \n\t\u001f \u2028 é"`, ""), true},

		{"white space between fields", strings.Replace(doc(ts, "", ""), `,"event"`, `, "event"`, 1), false},
		{"white space after the event", doc(ts, "", "") + "\n", false},
		{"fields out of schema order", `{"event":{"id":"e1","action":"file-copy"},"@timestamp":"` + ts + `"}`, false},
		{"an empty string", doc(ts, `,"message":""`, ""), false},
		{"an empty list", doc(ts, `,"tags":[]`, ""), false},
		{"an empty map", doc(ts, `,"labels":{}`, ""), false},
		{"a zero number", doc(ts, "", `,"file":{"path":"/x","size":0}`), false},
		{"minus zero", doc(ts, "", `,"file":{"path":"/x","size":-0}`), false},
		{"a null field", doc(ts, `,"message":null`, ""), false},
		{"a null in a list", doc(ts, `,"tags":["a",null]`, ""), false},
		{"a null in a map", doc(ts, `,"labels":{"a":null}`, ""), false},
		{"a null in a list of objects", doc(ts, "", `,"email":{"attachments":[null]}`), false},
		{"map keys out of order", doc(ts, `,"labels":{"b":"1","a":"2"}`, ""), false},
		{"a time with an offset", doc("2026-11-28T11:00:00+01:00", "", ""), false},
		{"a time with trailing zeros", doc("2026-11-28T10:00:00.500Z", "", ""), false},
		{"a float written otherwise", doc(ts, "", `,"user":{"name":"jdoe","risk_score":5e-1}`), false},
		{"an escaped slash", doc(ts, `,"message":"a\/b"`, ""), false},
		{"an escaped letter", doc(ts, `,"message":"\u0041"`, ""), false},
		{"an escape in upper-case hex", doc(ts, `,"message":"\u001F"`, ""), false},
		{"a long escape with a short form", doc(ts, `,"message":"\u000a"`, ""), false},
		{"an escaped surrogate pair", doc(ts, `,"message":"\ud83d\ude00"`, ""), false},
		{"a raw line separator", doc(ts, ",\"message\":\"a\u2028b\"", ""), false},
		{"invalid UTF-8", doc(ts, ",\"message\":\"a\xffb\"", ""), false},
		{"an escaped field name", `{"\u0040timestamp":"` + ts + `","event":{"id":"e1","action":"file-copy"}}`, false},
		{"a missing field that is always written", `{"event":{"id":"e1","action":"file-copy"}}`, false},
		{"an empty object that is always written", `{"@timestamp":"` + ts + `","event":{"id":"e1","action":"file-copy","ocsf":{}}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, canonical, err := DecodeCanonical([]byte(tt.in))
			require.NotNil(t, e, "%v", err)
			require.Equal(t, tt.canonical, canonical)
			enc, err := Encode(e)
			require.NoError(t, err)
			require.Equal(t, tt.canonical, string(enc) == tt.in, "Encode wrote %s", enc)
		})
	}
}
