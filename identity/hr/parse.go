package hr

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/vigil-itm/vigil/identity"
	"github.com/vigil-itm/vigil/store"
)

// Fields of a person in a feed. Column (CSV) and key (JSON) names are
// matched ignoring case, spaces and dashes; each field also answers to the
// aliases listed in fieldAliases.
const (
	FieldUserName     = "user_name"
	FieldEmail        = "email"
	FieldEmployeeID   = "employee_id"
	FieldFullName     = "full_name"
	FieldDepartment   = "department"
	FieldTitle        = "title"
	FieldManager      = "manager"
	FieldStatus       = "status"
	FieldType         = "type"
	FieldStartDate    = "start_date"
	FieldNoticeDate   = "notice_date"
	FieldEndDate      = "end_date"
	FieldContractor   = "contractor"
	FieldDivision     = "division"
	FieldCostCenter   = "cost_center"
	FieldOrganization = "organization"
)

// fieldAliases maps every accepted column name, normalised, to its field.
var fieldAliases = func() map[string]string {
	m := map[string]string{}
	for field, aliases := range map[string][]string{
		FieldUserName:     {"login", "username", "samaccountname", "account"},
		FieldEmail:        {"mail", "work_email", "email_address"},
		FieldEmployeeID:   {"employee_number", "employee_no", "employeeid", "worker_id"},
		FieldFullName:     {"name", "display_name"},
		FieldDepartment:   {"dept"},
		FieldTitle:        {"job_title"},
		FieldManager:      {"manager_login", "manager_email", "manager_id", "manager_employee_id"},
		FieldStatus:       {"employment_status"},
		FieldType:         {"employment_type", "worker_type"},
		FieldStartDate:    {"hire_date"},
		FieldNoticeDate:   {"resignation_date"},
		FieldEndDate:      {"termination_date", "last_day"},
		FieldContractor:   {"is_contractor"},
		FieldDivision:     {},
		FieldCostCenter:   {"cost_centre"},
		FieldOrganization: {"company"},
	} {
		m[normKey(field)] = field
		for _, a := range aliases {
			m[normKey(a)] = field
		}
	}
	return m
}()

func normKey(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_', '\ufeff':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
}

// RowError is one problem of a feed: the line (1-based; for JSON, the line
// the person's object starts on), the field when known, and what is wrong.
type RowError struct {
	Line  int    `json:"line"`
	Field string `json:"field,omitempty"`
	Msg   string `json:"message"`
}

func (e RowError) String() string {
	if e.Field != "" {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// maxRowErrors is how many problems an ImportError lists.
const maxRowErrors = 100

// ImportError reports a feed that was refused; nothing of it was applied.
// It wraps store.ErrInvalid.
type ImportError struct {
	// Origin names the feed (file path, URL, "upload").
	Origin string
	Errors []RowError
	// More counts problems beyond those listed.
	More int
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hr feed %s refused, nothing applied: ", e.Origin)
	for i, re := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(re.String())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "; and %d more", e.More)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, store.ErrInvalid) hold.
func (e *ImportError) Unwrap() error { return store.ErrInvalid }

type collector struct {
	origin string
	errs   []RowError
	more   int
}

func (c *collector) add(line int, field, format string, args ...any) {
	if len(c.errs) == maxRowErrors {
		c.more++
		return
	}
	c.errs = append(c.errs, RowError{Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	sort.SliceStable(c.errs, func(i, j int) bool { return c.errs[i].Line < c.errs[j].Line })
	return &ImportError{Origin: c.origin, Errors: c.errs, More: c.more}
}

// row is one person as read: field → value, and the line it starts on.
type row struct {
	line   int
	values map[string]string
}

// ParseCSV reads a CSV feed with a header row. columns maps field names to
// the feed's own column names, for headers the aliases do not cover. Rows
// are checked whole; any problem refuses the feed (*ImportError).
func ParseCSV(data []byte, columns map[string]string, origin string) ([]identity.Record, error) {
	c := &collector{origin: origin}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !utf8.Valid(data) {
		c.add(1, "", "the feed is not UTF-8 text")
		return nil, c.err()
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			c.add(1, "", "empty feed: want a header row")
		} else {
			c.add(lineOf(err, 1), "", "%v", err)
		}
		return nil, c.err()
	}
	fields := make([]string, len(header))
	overrides := map[string]string{}
	for field, col := range columns {
		overrides[normKey(col)] = field
	}
	seen := map[string]int{}
	for i, h := range header {
		k := normKey(h)
		f, ok := overrides[k]
		if !ok {
			f = fieldAliases[k]
		}
		if f == "" {
			continue // a column Vigil does not use
		}
		if prev, dup := seen[f]; dup {
			c.add(1, f, "columns %q and %q both give %s", header[prev], h, f)
		}
		seen[f] = i
		fields[i] = f
	}
	_, hasUser := seen[FieldUserName]
	_, hasEmail := seen[FieldEmail]
	if !hasUser && !hasEmail {
		c.add(1, "", "the header has neither a user_name nor an email column (header: %s)", strings.Join(header, ","))
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	var rows []row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.add(lineOf(err, 1), "", "%v", err)
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrQuote) {
				break // the rest of the file cannot be split reliably
			}
			continue
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rec) != len(header) {
			c.add(line, "", "%d fields, but the header has %d", len(rec), len(header))
			continue
		}
		rw := row{line: line, values: map[string]string{}}
		for i, v := range rec {
			if fields[i] != "" {
				rw.values[fields[i]] = strings.TrimSpace(v)
			}
		}
		rows = append(rows, rw)
	}
	return toRecords(rows, c)
}

func lineOf(err error, def int) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return max(pe.StartLine, 1)
	}
	return def
}

// ParseJSON reads a JSON feed: an array of people, or an object whose
// "people" member is one. Each person is an object with the CSV column
// names as keys; values are strings (contractor may be a boolean).
func ParseJSON(data []byte, origin string) ([]identity.Record, error) {
	c := &collector{origin: origin}
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n")) }
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		c.add(lineAt(dec.InputOffset()), "", "not JSON: %v", err)
		return nil, c.err()
	}
	if d, ok := tok.(json.Delim); ok && d == '{' {
		found := false
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				c.add(lineAt(dec.InputOffset()), "", "not JSON: %v", err)
				return nil, c.err()
			}
			if key == "people" {
				found = true
				break
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				c.add(lineAt(dec.InputOffset()), "", "not JSON: %v", err)
				return nil, c.err()
			}
		}
		if !found {
			c.add(1, "", `want an array of people, or an object with a "people" array`)
			return nil, c.err()
		}
		if tok, err = dec.Token(); err != nil {
			c.add(lineAt(dec.InputOffset()), "", "not JSON: %v", err)
			return nil, c.err()
		}
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		c.add(lineAt(dec.InputOffset()), "", `want an array of people, or an object with a "people" array`)
		return nil, c.err()
	}
	var rows []row
	for dec.More() {
		// The object starts after the separator the decoder has not read
		// yet; skip it and white space to find its line.
		off := int(dec.InputOffset())
		for off < len(data) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
			off++
		}
		line := lineAt(int64(off))
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			c.add(line, "", "want an object: %v", err)
			return nil, c.err()
		}
		rw := row{line: line, values: map[string]string{}}
		for k, v := range obj {
			f := fieldAliases[normKey(k)]
			if f == "" {
				continue
			}
			switch x := v.(type) {
			case nil:
			case string:
				rw.values[f] = strings.TrimSpace(x)
			case bool:
				rw.values[f] = fmt.Sprint(x)
			case json.Number:
				rw.values[f] = x.String()
			default:
				c.add(line, f, "want a string, got %T", v)
			}
		}
		rows = append(rows, rw)
	}
	if _, err := dec.Token(); err != nil {
		c.add(lineAt(dec.InputOffset()), "", "not JSON: %v", err)
	}
	return toRecords(rows, c)
}

// statusAliases maps the status words HR systems use to Vigil's.
var statusAliases = map[string]string{
	"active": identity.StatusActive, "employed": identity.StatusActive, "current": identity.StatusActive,
	"notice": identity.StatusNotice, "resigned": identity.StatusNotice, "on notice": identity.StatusNotice,
	"leave": identity.StatusLeave, "on leave": identity.StatusLeave, "loa": identity.StatusLeave,
	"terminated": identity.StatusTerminated, "left": identity.StatusTerminated, "former": identity.StatusTerminated,
	"contractor": identity.StatusContractor,
}

// toRecords checks rows and turns them into records.
func toRecords(rows []row, c *collector) ([]identity.Record, error) {
	recs := make([]identity.Record, 0, len(rows))
	byLogin, byKey := map[string]int{}, map[string]int{}
	for _, rw := range rows {
		v := rw.values
		rec := identity.Record{
			FullName: v[FieldFullName], Email: v[FieldEmail], Title: v[FieldTitle], Department: v[FieldDepartment],
			EmployeeNumber: v[FieldEmployeeID], Division: v[FieldDivision], CostCenter: v[FieldCostCenter],
			Organization: v[FieldOrganization], Manager: v[FieldManager], ManagerRef: v[FieldManager],
			Employment: identity.Employment{Type: strings.ToLower(v[FieldType]), StartDate: v[FieldStartDate],
				NoticeDate: v[FieldNoticeDate], EndDate: v[FieldEndDate]},
		}
		rec.Login = strings.ToLower(v[FieldUserName])
		if rec.Login == "" && rec.Email != "" {
			local, _, _ := strings.Cut(strings.ToLower(rec.Email), "@")
			rec.Login = local
		}
		if rec.Login == "" {
			c.add(rw.line, FieldUserName, "empty: every person needs a user_name or an email")
			continue
		}
		if rec.Email != "" && !strings.Contains(rec.Email, "@") {
			c.add(rw.line, FieldEmail, "%q is not an email address", rec.Email)
		}
		rec.Key = rec.Login
		if rec.EmployeeNumber != "" {
			rec.Key = "emp:" + rec.EmployeeNumber
			rec.Refs = []string{rec.EmployeeNumber}
		}
		rec.Refs = append(rec.Refs, rec.Login)
		if st := strings.ToLower(v[FieldStatus]); st != "" {
			s, ok := statusAliases[st]
			if !ok {
				c.add(rw.line, FieldStatus, "%q: want active, notice, leave, terminated or contractor", v[FieldStatus])
			}
			rec.Employment.Status = s
		}
		if err := rec.Employment.Validate(); err != nil {
			field, msg, _ := strings.Cut(err.Error(), " ")
			c.add(rw.line, field, "%s", msg)
		}
		if s := v[FieldContractor]; s != "" {
			b, ok := parseBool(s)
			if !ok {
				c.add(rw.line, FieldContractor, "%q: want true or false (yes/no, y/n, 1/0)", s)
			}
			rec.Contractor = &b
		}
		if prev, dup := byLogin[rec.Login]; dup {
			c.add(rw.line, FieldUserName, "%q is also on line %d", rec.Login, prev)
			continue
		}
		byLogin[rec.Login] = rw.line
		if prev, dup := byKey[rec.Key]; dup {
			c.add(rw.line, FieldEmployeeID, "%q is also on line %d", rec.EmployeeNumber, prev)
			continue
		}
		byKey[rec.Key] = rw.line
		recs = append(recs, rec)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return recs, nil
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "y", "1", "t":
		return true, true
	case "false", "no", "n", "0", "f":
		return false, true
	}
	return false, false
}
