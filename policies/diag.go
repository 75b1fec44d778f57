package policies

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors, for callers to test with errors.Is.
var (
	// ErrInvalidBundle is matched by a Diagnostics error that holds at least
	// one error: the bundle's content is wrong, not the way it was read.
	ErrInvalidBundle = errors.New("invalid bundle")
	// ErrTooLarge is returned when a bundle exceeds a size or file-count
	// limit (see WithMaxSize and WithMaxFiles).
	ErrTooLarge = errors.New("bundle too large")
	// ErrUnsafeEntry is returned for a tarball entry that is not a plain
	// file at a clean path inside the bundle: path traversal, an absolute
	// path, a link or a device.
	ErrUnsafeEntry = errors.New("unsafe bundle entry")
	// ErrSignature is returned when a bundle's signature is missing, does
	// not verify, or does not cover the bundle's files.
	ErrSignature = errors.New("bundle signature verification failed")
)

// Diagnostic severities.
const (
	// DiagError marks a problem that stops the bundle from loading.
	DiagError = "error"
	// DiagWarning marks a problem worth fixing that does not stop loading.
	DiagWarning = "warning"
)

// Diagnostic is one problem found in a bundle, at a place in one of its
// files.
type Diagnostic struct {
	// Pos is where the problem is; Pos.File is relative to the bundle root.
	Pos Position `json:"pos"`
	// Severity is DiagError or DiagWarning.
	Severity string `json:"severity"`
	// Code is a stable, machine-readable name for the kind of problem, such
	// as "unknown-key" or "duplicate-id".
	Code string `json:"code"`
	// Msg says what is wrong, in words a policy author can act on.
	Msg string `json:"msg"`
}

// String renders the diagnostic as "file:line:col: msg", with "warning: "
// before the message of a warning.
func (d Diagnostic) String() string {
	var b strings.Builder
	if p := d.Pos.String(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	if d.Severity == DiagWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// Diagnostics is a list of problems found in a bundle. As an error it holds
// every error found, not just the first, so that a policy author can fix
// them all in one pass.
type Diagnostics []Diagnostic

// Error prints one diagnostic per line, sorted by file, line and column.
func (ds Diagnostics) Error() string {
	sorted := ds.Sorted()
	lines := make([]string, len(sorted))
	for i, d := range sorted {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Is reports whether target is ErrInvalidBundle and the list holds an error.
func (ds Diagnostics) Is(target error) bool {
	return target == ErrInvalidBundle && ds.HasErrors()
}

// Sorted returns a copy sorted by file, line, column, severity and message.
func (ds Diagnostics) Sorted() Diagnostics {
	out := append(Diagnostics(nil), ds...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Column != b.Pos.Column {
			return a.Pos.Column < b.Pos.Column
		}
		if a.Severity != b.Severity {
			return a.Severity == DiagError
		}
		return a.Msg < b.Msg
	})
	return out
}

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == DiagError {
			return true
		}
	}
	return false
}

// Errors returns only the errors.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(DiagError) }

// Warnings returns only the warnings.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(DiagWarning) }

func (ds Diagnostics) filter(severity string) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == severity {
			out = append(out, d)
		}
	}
	return out
}

// Err returns the errors, sorted, as an error, or nil when there are none.
func (ds Diagnostics) Err() error {
	if errs := ds.Errors(); len(errs) > 0 {
		return errs.Sorted()
	}
	return nil
}

// diags collects diagnostics while a bundle is read.
type diags struct {
	list Diagnostics
}

func (d *diags) errorf(pos Position, code, format string, args ...any) {
	d.list = append(d.list, Diagnostic{Pos: pos, Severity: DiagError, Code: code, Msg: fmt.Sprintf(format, args...)})
}

func (d *diags) warnf(pos Position, code, format string, args ...any) {
	d.list = append(d.list, Diagnostic{Pos: pos, Severity: DiagWarning, Code: code, Msg: fmt.Sprintf(format, args...)})
}

func (d *diags) add(ds ...Diagnostic) { d.list = append(d.list, ds...) }

func (d *diags) hasErrors() bool { return d.list.HasErrors() }

// Diagnostic codes. They are part of the CLI's JSON output, so they do not
// change once released.
const (
	codeYAML         = "yaml-syntax"
	codeJSON         = "json-syntax"
	codeEncoding     = "encoding"
	codeUnknownKey   = "unknown-key"
	codeDuplicateKey = "duplicate-key"
	codeWrongType    = "wrong-type"
	codeRequired     = "required"
	codeBadValue     = "bad-value"
	codeConflict     = "conflict"
	codeDuplicateID  = "duplicate-id"
	codeBadID        = "bad-id"
	codeBadRef       = "bad-reference"
	codeRego         = "rego-parse"
	codeBadFile      = "unexpected-file"
	codeManifest     = "manifest"
	codeRoots        = "roots"
	codeData         = "data"

	codeNoTags       = "no-tags"
	codeNoRationale  = "no-rationale"
	codeTagFormat    = "tag-format"
	codeDuplicateTag = "duplicate-tag"
	codeUnusedData   = "unused-data"
	codeUnknownAct   = "unknown-action"
	codeNoKey        = "no-key"
	codeUntested     = "untested-rule"
	codeNoName       = "no-name"
	codeNeverFires   = "never-fires"
	codeEmptyRoll    = "empty-evidence"
	codeBadEvent     = "bad-event"
)
