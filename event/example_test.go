package event_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-itm/vigil/event"
)

func ExampleDecode() {
	e, err := event.Decode([]byte(`{
	  "@timestamp": "2026-11-28T11:00:00.123+01:00",
	  "event": {"id": "01JDQ7ZK3V8N4G2M5R6T7W8X9Y", "action": "file-copied-to-removable"},
	  "file": {"path": "/media/jdoe/KINGSTON/q3.xlsx", "size": 48213}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	e.Normalize()
	fmt.Println(e.Timestamp, e.File.Name, e.File.Extension, e.Event.Category, e.Event.OCSF.ClassName())
	// Output: 2026-11-28 10:00:00.123 +0000 UTC q3.xlsx xlsx [file] File System Activity
}

func ExampleDecode_errors() {
	_, err := event.Decode([]byte(`{
	  "@timestamp": "2026-11-28T10:00:00Z",
	  "event": {"id": "e1", "action": "file-copied-to-removable"},
	  "file": {"path": "/media/jdoe/KINGSTON/q3.xlsx", "sizee": 48213, "owner": 1000}
	}`))
	fmt.Println(errors.Is(err, event.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// file.sizee: unknown field (did you mean "size"?)
	// file.owner: want string, got number
}

func ExampleDecodeStream() {
	input := strings.Join([]string{
		`{"@timestamp":"2026-11-28T10:00:00Z","event":{"id":"e1","action":"logon"}}`,
		``,
		`{"@timestamp":"2026-11-28T10:00:01Z","event":{"id":"e2","action":"fil-created"}}`,
		`{"@timestamp":"2026-11-28T10:00:02Z","event":{"id":"e3","action":"screen-lock"}}`,
	}, "\n")
	err := event.DecodeStream(strings.NewReader(input), func(line int, e *event.Event, err error) error {
		if err != nil {
			fmt.Printf("line %d: %v\n", line, err)
			return nil // keep going: one bad line loses nothing else
		}
		fmt.Printf("line %d: %s\n", line, e.Event.Action)
		return nil
	})
	fmt.Println(err)
	// Output:
	// line 1: logon
	// line 3: event.action: unknown value "fil-created" (did you mean "file-created"?)
	// line 4: screen-lock
	// <nil>
}

func ExampleNewAccessor() {
	// Built once, when a rule compiles.
	pages, err := event.NewAccessor("print.pages")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = event.NewAccessor("print.page")
	fmt.Println(err)

	// Called per event.
	e := &event.Event{Print: &event.Print{Printer: "PRN-FL3", Pages: 412}}
	v, ok := pages(e)
	fmt.Println(v, ok)
	v, ok = pages(&event.Event{})
	fmt.Println(v, ok)
	// Output:
	// unknown field "print.page" (did you mean "print.pages"?)
	// 412 true
	// <nil> false
}

func ExampleLookupAction() {
	a, ok := event.LookupAction(event.ActionWebUpload)
	fmt.Println(ok, a.Area, a.Category, a.Type, a.OCSF.ClassUID, a.OCSF.ActivityName())
	// Output: true web [network web] [access] 4002 Post
}
