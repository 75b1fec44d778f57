package event

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidateAcceptsValidEvents(t *testing.T) {
	require.NoError(t, validEvent().Validate())
	minimal := &Event{Timestamp: time.Unix(1, 0), Event: Meta{ID: "x", Action: ActionLogon}}
	require.NoError(t, minimal.Validate())
	for i, line := range exampleLines(t) {
		e, err := Decode(line)
		require.NoError(t, err, "example %d", i+1)
		require.NoError(t, e.Validate())
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(e *Event)
		want   []string
	}{
		{"missing timestamp", func(e *Event) { e.Timestamp = time.Time{} }, []string{"@timestamp: required"}},
		{"missing id", func(e *Event) { e.Event.ID = "" }, []string{"event.id: required"}},
		{"missing action", func(e *Event) { e.Event.Action = "" }, []string{"event.action: required"}},
		{"unknown action with suggestion", func(e *Event) { e.Event.Action = "fil-created" },
			[]string{`event.action: unknown value "fil-created" (did you mean "file-created"?)`}},
		{"unknown action without suggestion", func(e *Event) { e.Event.Action = "exfiltrate" },
			[]string{`event.action: unknown value "exfiltrate"`}},
		{"bad kind", func(e *Event) { e.Event.Kind = "evnt" }, []string{`event.kind: unknown value "evnt" (did you mean "event"?)`}},
		{"bad category", func(e *Event) { e.Event.Category = []string{"file", "usb"} }, []string{`event.category[1]: unknown value "usb"`}},
		{"bad type", func(e *Event) { e.Event.Type = []string{"created"} }, []string{`event.type[0]: unknown value "created" (did you mean "creation"?)`}},
		{"bad outcome", func(e *Event) { e.Event.Outcome = "ok" }, []string{`event.outcome: unknown value "ok"`}},
		{"negative sequence", func(e *Event) { e.Event.Sequence = -1 }, []string{"event.sequence: must not be negative"}},
		{"ingested out of range", func(e *Event) { t := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC); e.Event.Ingested = &t },
			[]string{"event.ingested: year 10000 out of range"}},
		{"bad employment", func(e *Event) { e.User.Employment.Status = "fired"; e.User.Employment.EndDate = "12/10/2026" },
			[]string{`user.employment.status: unknown value "fired"`, `user.employment.end_date: want a date such as 2026-11-28, got "12/10/2026"`}},
		{"NaN risk", func(e *Event) { e.User.RiskScore = math.NaN() }, []string{"user.risk_score: must be a non-negative finite number"}},
		{"short sha256", func(e *Event) { e.File.Hash.SHA256 = "abc" }, []string{"file.hash.sha256: want 64 hex digits"}},
		{"non-hex sha256", func(e *Event) { e.Process.Hash.SHA256 = "zz" + e.Process.Hash.SHA256[2:] }, []string{"process.hash.sha256: want 64 hex digits"}},
		{"bad md5", func(e *Event) { e.Process.Hash.MD5 = "098f" }, []string{"process.hash.md5: want 32 hex digits"}},
		{"bad attachment", func(e *Event) {
			e.Email.Attachments = append(e.Email.Attachments, Attachment{Name: "x", Size: -5, SHA256: "no"})
		}, []string{"email.attachments[1].size: must not be negative", "email.attachments[1].sha256: want 64 hex digits"}},
		{"bad clipboard", func(e *Event) { e.Clipboard.Operation = "yank"; e.Clipboard.ContentSHA256 = "x" },
			[]string{`clipboard.operation: unknown value "yank"`, "clipboard.content_sha256: want 64 hex digits"}},
		{"port out of range", func(e *Event) { e.Destination.Port = 70000; e.URL.Port = -1 },
			[]string{"url.port: want a port number from 0 to 65535", "destination.port: want a port number from 0 to 65535"}},
		{"bad direction", func(e *Event) { e.Network.Direction = "out" }, []string{`network.direction: unknown value "out"`}},
		{"negative pages", func(e *Event) { e.Print.Pages = -3 }, []string{"print.pages: must not be negative"}},
		{"several at once", func(e *Event) { e.Event.ID = ""; e.Event.Action = "print"; e.File.Size = -1 },
			[]string{"event.id: required", `event.action: unknown value "print"`, "file.size: must not be negative"}},
		{"exit codes may be negative", func(e *Event) { c := int64(-1); e.Command.ExitCode = &c }, nil},
		{"uppercase hex is valid", func(e *Event) {
			e.File.Hash.SHA256 = "2C26B46B68FFC68FF99B453C1D30413413422D706483BFA0F98A5E886266E7AE"
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEvent()
			tt.mutate(e)
			err := e.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
			require.Equal(t, tt.want, errorStrings(err))
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
		})
	}
}

func TestValidateNilEvent(t *testing.T) {
	var e *Event
	require.ErrorIs(t, e.Validate(), ErrInvalid)
}

// TestValidateChecksEveryCount sets each integer field of a full event to -1
// in turn: Validate must name it, except for exit codes, which may be
// negative.
func TestValidateChecksEveryCount(t *testing.T) {
	root := validEvent()
	var visit func(p *structPlan, v reflect.Value, prefix string)
	checked := 0
	visit = func(p *structPlan, v reflect.Value, prefix string) {
		for _, f := range p.fields {
			path := joinPath(prefix, f.name)
			fv := v.Field(f.index)
			if f.kind == kindPtr {
				if fv.IsNil() {
					t.Fatalf("validEvent leaves %s nil", path)
				}
				if f.elem.kind == kindStruct {
					visit(f.plan, fv.Elem(), path)
					continue
				}
				fv = fv.Elem()
			}
			switch f.kind {
			case kindStruct:
				visit(f.plan, fv, path)
			case kindSlice:
				visit(f.plan, fv.Index(0), path+"[0]")
			case kindInt, kindPtr:
				if fv.Kind() != reflect.Int64 {
					continue
				}
				old := fv.Int()
				fv.SetInt(-1)
				err := root.Validate()
				fv.SetInt(old)
				if signedInts[path] {
					require.NoError(t, err, path)
					continue
				}
				require.Error(t, err, "Validate accepts %s = -1", path)
				require.Equal(t, path, FieldErrors(err)[0].Path)
				checked++
			}
		}
	}
	visit(eventPlan, reflect.ValueOf(root).Elem(), "")
	require.Greater(t, checked, 20)
}

func TestFieldErrorsFlattensTrees(t *testing.T) {
	a := &FieldError{Path: "a", Msg: "x"}
	b := &FieldError{Path: "b", Msg: "y"}
	c := &FieldError{Msg: "z"}
	err := errors.Join(a, fmt.Errorf("wrapped: %w", errors.Join(b, c)), errors.New("other"))
	require.Equal(t, []*FieldError{a, b, c}, FieldErrors(err))
	require.Nil(t, FieldErrors(nil))
	require.Equal(t, "z", c.Error())
	require.ErrorIs(t, err, ErrInvalid)
}
