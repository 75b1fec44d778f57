package printing

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// PageLogFormat is the cupsd.conf PageLogFormat value the sensor reads. It
// starts with a marker naming the format's version, and keeps the job name,
// the only field that may hold spaces, last:
//
//	vigil1 PRINTER USER JOB-ID [DATE] PAGE COPIES IMPRESSIONS JOB-COPIES HOST TITLE
//
// PAGE is a page number on lines that filters report per page, or "total"
// on the one line cupsd writes when the job completes; on a "total" line
// COPIES is the number of sheet sides printed for the whole job.
// IMPRESSIONS is job-impressions-completed and JOB-COPIES the copies
// attribute the job was submitted with; cupsd writes "-" for attributes a
// job does not have.
const PageLogFormat = "vigil1 %p %u %j %T %P %C %{job-impressions-completed} %{copies} %{job-originating-host-name} %{job-name}"

// pageLogMarker is the first field of every line in PageLogFormat.
const pageLogMarker = "vigil1"

// cupsTimeLayout is the layout of cupsd's %T (common log format).
const cupsTimeLayout = "[02/Jan/2006:15:04:05 -0700]"

// ErrOtherFormat is returned (wrapped) for a page_log line that is not in
// PageLogFormat.
var ErrOtherFormat = errors.New("page_log line is not in the vigil1 PageLogFormat")

// PageLine is one parsed page_log line.
type PageLine struct {
	// Printer is the queue name.
	Printer string
	// User is the user who submitted the job.
	User string
	// JobID is the job number on that server.
	JobID int64
	// Time is when cupsd wrote the line.
	Time time.Time
	// Total is true on the line written when the job completed.
	Total bool
	// Page is the page number on per-page lines.
	Page int64
	// Sheets is %C: the copies of one page on per-page lines, the sheet
	// sides of the whole job on the total line.
	Sheets int64
	// Impressions is job-impressions-completed, or -1 when unknown.
	Impressions int64
	// Copies is the copies attribute of the job, or -1 when unknown.
	Copies int64
	// Host is the host the job came from ("" when unknown).
	Host string
	// Title is the job name ("" when unknown).
	Title string
}

// ParsePageLine parses one line (without its newline) written in
// PageLogFormat.
func ParsePageLine(line string) (PageLine, error) {
	var p PageLine
	if f, ok := nextField(&line); !ok || f != pageLogMarker {
		return p, ErrOtherFormat
	}
	fields := make([]string, 0, 9)
	for range 9 {
		f, ok := nextField(&line)
		if !ok {
			return p, fmt.Errorf("%w: %d fields, want at least 11", ErrOtherFormat, len(fields)+1)
		}
		fields = append(fields, f)
	}
	p.Printer, p.User = fields[0], fields[1]
	var err error
	if p.JobID, err = strconv.ParseInt(fields[2], 10, 64); err != nil || p.JobID <= 0 {
		return p, fmt.Errorf("%w: job id %q", ErrOtherFormat, fields[2])
	}
	if p.Time, err = time.Parse(cupsTimeLayout, fields[3]+" "+fields[4]); err != nil {
		return p, fmt.Errorf("%w: date %q: %w", ErrOtherFormat, fields[3]+" "+fields[4], err)
	}
	if fields[5] == "total" {
		p.Total = true
	} else if p.Page, err = strconv.ParseInt(fields[5], 10, 64); err != nil || p.Page < 0 {
		return p, fmt.Errorf("%w: page %q", ErrOtherFormat, fields[5])
	}
	if p.Sheets, err = strconv.ParseInt(fields[6], 10, 64); err != nil || p.Sheets < 0 {
		return p, fmt.Errorf("%w: copies %q", ErrOtherFormat, fields[6])
	}
	if p.Impressions, err = optionalCount(fields[7]); err != nil {
		return p, fmt.Errorf("%w: job-impressions-completed %q", ErrOtherFormat, fields[7])
	}
	if p.Copies, err = optionalCount(fields[8]); err != nil {
		return p, fmt.Errorf("%w: copies attribute %q", ErrOtherFormat, fields[8])
	}
	host, ok := nextField(&line)
	if !ok {
		return p, fmt.Errorf("%w: no host field", ErrOtherFormat)
	}
	if host != "-" {
		p.Host = host
	}
	// The title is the rest of the line, spaces and all; cupsd writes an
	// empty job name as "-".
	if t := strings.TrimSpace(line); t != "-" {
		p.Title = t
	}
	return p, nil
}

// nextField removes and returns the next space-separated field of *s.
func nextField(s *string) (string, bool) {
	t := strings.TrimLeft(*s, " ")
	if t == "" {
		*s = ""
		return "", false
	}
	i := strings.IndexByte(t, ' ')
	if i < 0 {
		*s = ""
		return t, true
	}
	*s = t[i+1:]
	return t[:i], true
}

func optionalCount(s string) (int64, error) {
	if s == "-" || s == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a count: %q", s)
	}
	return n, nil
}

// Directive is what a cupsd.conf says about one directive.
type Directive struct {
	// Found is true when the directive is present.
	Found bool
	// Value is its value, without surrounding quotes.
	Value string
	// Line is its line number (1-based), 0 when not found.
	Line int
}

// ReadPageLogFormat returns the PageLogFormat directive of the cupsd.conf
// at path. The last occurrence wins, as in cupsd.
func ReadPageLogFormat(path string) (Directive, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Directive{}, fmt.Errorf("read cupsd configuration %s: %w", path, err)
	}
	var d Directive
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		name, value, _ := strings.Cut(line, " ")
		if !strings.EqualFold(name, "PageLogFormat") {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		d = Directive{Found: true, Value: value, Line: n}
	}
	if err := sc.Err(); err != nil {
		return Directive{}, fmt.Errorf("read cupsd configuration %s: %w", path, err)
	}
	return d, nil
}
