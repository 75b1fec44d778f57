package event

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFieldPaths(t *testing.T) {
	paths := FieldPaths()
	require.Equal(t, "@timestamp", paths[0])
	require.Equal(t, "agent.bundle_revision", paths[len(paths)-1])
	require.Contains(t, paths, "labels.*")
	require.Contains(t, paths, "email.attachments.sha256")
	require.NotContains(t, paths, "email.attachments", "only leaves are listed")
	seen := map[string]bool{}
	for _, p := range paths {
		require.False(t, seen[p], "duplicate path %s", p)
		seen[p] = true
	}
	paths[0] = "changed"
	require.Equal(t, "@timestamp", FieldPaths()[0], "FieldPaths returns a copy")
	require.Len(t, Fields(), len(paths))
}

func TestFieldDocsAreComplete(t *testing.T) {
	documented := map[string]bool{}
	for _, f := range Fields() {
		require.NotEmpty(t, f.Description, "field %s has no description in fieldDocs", f.Path)
		require.True(t, strings.HasSuffix(f.Description, "."), "description of %s must be a sentence", f.Path)
		documented[f.Path] = true
	}
	for _, set := range fieldSets() {
		require.NotEmpty(t, fieldDocs[set], "field set %s has no description in fieldDocs", set)
		documented[set] = true
	}
	for path := range fieldDocs {
		require.True(t, documented[path], "fieldDocs describes %s, which is not a field", path)
	}
}

// fieldSets lists the paths of the objects of the schema.
func fieldSets() []string {
	var out []string
	var walk func(p *structPlan, prefix string)
	walk = func(p *structPlan, prefix string) {
		for _, f := range p.fields {
			if f.plan != nil {
				path := joinPath(prefix, f.name)
				out = append(out, path)
				walk(f.plan, path)
			}
		}
	}
	walk(eventPlan, "")
	return append(out, "labels")
}

func TestEveryFieldHasAnAccessor(t *testing.T) {
	e := validEvent()
	for _, f := range Fields() {
		path := strings.Replace(f.Path, "*", "site", 1)
		t.Run(path, func(t *testing.T) {
			get, err := NewAccessor(path)
			require.NoError(t, err)
			v, ok := get(e)
			require.True(t, ok, "the full event has %s", path)
			switch f.Type {
			case FieldString:
				require.IsType(t, "", v)
			case FieldInt:
				require.IsType(t, int64(0), v)
			case FieldFloat:
				require.IsType(t, float64(0), v)
			case FieldBool:
				require.IsType(t, false, v)
			case FieldTime:
				require.IsType(t, time.Time{}, v)
			case FieldStrings:
				require.IsType(t, []string(nil), v)
			case FieldInts:
				require.IsType(t, []int64(nil), v)
			default:
				t.Fatalf("type %v", f.Type)
			}
			info, ok := LookupField(path)
			require.True(t, ok)
			require.Equal(t, f, info)

			// Absent from an empty event, and from a nil one.
			v, ok = get(&Event{})
			if f.Type == FieldInt || f.Type == FieldFloat || f.Type == FieldBool {
				if !strings.Contains(path, ".") || strings.HasPrefix(path, "event.") && !strings.HasPrefix(path, "event.ocsf") {
					require.True(t, ok, "%s of the event itself is always present", path)
					return
				}
			}
			require.False(t, ok)
			require.Nil(t, v)
			_, ok = get(nil)
			require.False(t, ok)
		})
	}
}

func TestAccessorValues(t *testing.T) {
	e := validEvent()
	e.Process.ExitCode = nil
	e.File.Hash.MD5 = ""
	e.Volume.Removable = false
	e.Email.Attachments = append(e.Email.Attachments, Attachment{Name: "b.pdf", Size: 7})
	tests := []struct {
		path string
		want any
		ok   bool
	}{
		{"@timestamp", e.Timestamp, true},
		{"event.action", "file-copied-to-removable", true},
		{"event.category", []string{"file"}, true},
		{"event.ingested", *e.Event.Ingested, true},
		{"event.ocsf.class_uid", int64(1001), true},
		{"file.size", int64(48213), true},
		{"file.hash.md5", nil, false},
		{"process.exit_code", nil, false},
		{"command.exit_code", int64(0), true},
		{"user.active", true, true},
		{"user.contractor", false, true},
		{"volume.removable", false, true},
		{"user.risk_score", 72.5, true},
		{"email.attachments.name", []string{"q3.xlsx", "b.pdf"}, true},
		{"email.attachments.size", []int64{48213, 7}, true},
		{"email.attachments.mime_type", []string{"application/zip", ""}, true},
		{"labels.site", "paris", true},
		{"labels.missing", nil, false},
		{"message", "copied q3.xlsx to KINGSTON", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			get, err := NewAccessor(tt.path)
			require.NoError(t, err)
			v, ok := get(e)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, v)
		})
	}
}

func TestAccessorErrors(t *testing.T) {
	tests := []struct {
		path string
		want string
	}{
		{"file.pth", `unknown field "file.pth" (did you mean "file.path"?)`},
		{"timestamp", `unknown field "timestamp" (did you mean "@timestamp"?)`},
		{"file", `unknown field "file"`},
		{"email.attachments", `unknown field "email.attachments"`},
		{"labels", `unknown field "labels": name a label, as in "labels.cost_center"`},
		{"labels.*", `unknown field "labels.*": name a label, as in "labels.cost_center"`},
		{"usr.name", `unknown field "usr.name" (did you mean "user.name"?)`},
		{"", `unknown field ""`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, err := NewAccessor(tt.path)
			require.EqualError(t, err, tt.want)
			require.ErrorIs(t, err, ErrUnknownField)
			_, err = NewStringAccessor(tt.path)
			require.ErrorIs(t, err, ErrUnknownField)
			_, err = NewIntAccessor(tt.path)
			require.ErrorIs(t, err, ErrUnknownField)
		})
	}
}

func TestTypedAccessors(t *testing.T) {
	e := validEvent()
	name, err := NewStringAccessor("user.name")
	require.NoError(t, err)
	v, ok := name(e)
	require.True(t, ok)
	require.Equal(t, "jdoe", v)
	_, ok = name(&Event{})
	require.False(t, ok)

	label, err := NewStringAccessor("labels.site")
	require.NoError(t, err)
	v, ok = label(e)
	require.True(t, ok)
	require.Equal(t, "paris", v)

	pages, err := NewIntAccessor("print.pages")
	require.NoError(t, err)
	n, ok := pages(e)
	require.True(t, ok)
	require.Equal(t, int64(12), n)

	exit, err := NewIntAccessor("process.exit_code")
	require.NoError(t, err)
	n, ok = exit(e)
	require.True(t, ok)
	require.Equal(t, int64(-9), n)

	_, err = NewStringAccessor("file.size")
	require.EqualError(t, err, `field "file.size" holds integer, not string`)
	_, err = NewIntAccessor("file.path")
	require.EqualError(t, err, `field "file.path" holds string, not integer`)
	_, err = NewIntAccessor("labels.site")
	require.EqualError(t, err, `field "labels.site" holds string, not integer`)
}

func TestLookupField(t *testing.T) {
	f, ok := LookupField("labels.cost_center")
	require.True(t, ok)
	require.Equal(t, "labels.*", f.Path)
	require.Equal(t, FieldString, f.Type)
	f, ok = LookupField("email.to")
	require.True(t, ok)
	require.Equal(t, FieldStrings, f.Type)
	_, ok = LookupField("email")
	require.False(t, ok)
	require.Equal(t, "array of integers", FieldInts.String())
	require.Equal(t, "FieldType(0)", FieldType(0).String())
}

func TestAccessorsDoNotAllocate(t *testing.T) {
	e := validEvent()
	e.File.Size = 12 // small integers box without allocating
	for _, path := range []string{"event.action", "file.path", "user.name", "labels.site"} {
		get, err := NewStringAccessor(path)
		require.NoError(t, err)
		require.Zero(t, testing.AllocsPerRun(100, func() { get(e) }), path)
	}
	for _, path := range []string{"file.size", "print.pages", "process.exit_code", "event.sequence"} {
		get, err := NewIntAccessor(path)
		require.NoError(t, err)
		require.Zero(t, testing.AllocsPerRun(100, func() { get(e) }), path)
	}
	for _, path := range []string{"file.size", "volume.removable", "@timestamp", "email.to"} {
		get, err := NewAccessor(path)
		require.NoError(t, err)
		require.LessOrEqual(t, testing.AllocsPerRun(100, func() { get(e) }), 1.0, path)
	}
}

var (
	sinkAny any
	sinkStr string
	sinkInt int64
	sinkOK  bool
)

func BenchmarkAccessor(b *testing.B) {
	e := validEvent()
	for _, path := range []string{"event.action", "file.path", "process.parent.name", "file.size", "print.pages", "volume.removable", "@timestamp", "labels.site"} {
		get, err := NewAccessor(path)
		require.NoError(b, err)
		b.Run("kind=any/path="+path, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkAny, sinkOK = get(e)
			}
		})
	}
	for _, path := range []string{"event.action", "file.path", "process.parent.name", "labels.site"} {
		get, err := NewStringAccessor(path)
		require.NoError(b, err)
		b.Run("kind=string/path="+path, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkStr, sinkOK = get(e)
			}
		})
	}
	for _, path := range []string{"file.size", "print.pages", "process.exit_code"} {
		get, err := NewIntAccessor(path)
		require.NoError(b, err)
		b.Run("kind=int/path="+path, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkInt, sinkOK = get(e)
			}
		})
	}
}
