package sqlite

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-itm/vigil/store"
)

// Times are stored as INTEGER nanoseconds since the Unix epoch, UTC, so
// that they sort and compare as numbers; times outside the int64 range
// (before 1678 or after 2262) are clamped to its ends.
var (
	minTime = time.Unix(0, math.MinInt64).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// nanos returns the stored form of t.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// nullNanos returns the stored form of an optional time: NULL for zero.
func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return nanos(t)
}

// fromNanos returns the time of a stored value.
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// fromNullNanos returns the time of an optional stored value, zero for
// NULL.
func fromNullNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return fromNanos(*n)
}

// where builds the WHERE clause of a list query.
type where struct {
	conds []string
	args  []any
}

// eq adds "col = v" when v is set.
func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col+" = ?", v)
	}
}

// timeRange adds "from <= col < to" for the bounds that are set.
func (w *where) timeRange(col string, from, to time.Time) {
	if !from.IsZero() {
		w.add(col+" >= ?", nanos(from))
	}
	if !to.IsZero() {
		w.add(col+" < ?", nanos(to))
	}
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// A position cursor marks where a page ended in a list ordered by a time
// column then the rowid: the last row's time and rowid, opaque to callers.
type position struct {
	ts, rid int64
}

func (p position) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.ts, 10) + "." + strconv.FormatInt(p.rid, 10)))
}

// parsePosition decodes a cursor; "" is the first page.
func parsePosition(cursor string) (p position, ok bool, err error) {
	if cursor == "" {
		return p, false, nil
	}
	bad := fmt.Errorf("%w: malformed cursor %q", store.ErrInvalid, cursor)
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return p, false, bad
	}
	a, b, found := strings.Cut(string(raw), ".")
	if !found {
		return p, false, bad
	}
	if p.ts, err = strconv.ParseInt(a, 10, 64); err != nil {
		return p, false, bad
	}
	if p.rid, err = strconv.ParseInt(b, 10, 64); err != nil {
		return p, false, bad
	}
	return p, true, nil
}

// after adds the keyset condition of a page after cursor in a list
// ordered by (tsCol, ridCol), descending or not.
func (w *where) after(cursor, tsCol, ridCol string, desc bool) error {
	p, ok, err := parsePosition(cursor)
	if err != nil || !ok {
		return err
	}
	op := ">"
	if desc {
		op = "<"
	}
	w.add("("+tsCol+", "+ridCol+") "+op+" (?, ?)", p.ts, p.rid)
	return nil
}

// order returns the ORDER BY and LIMIT of a keyset page; it fetches one
// row more than the page to learn whether another page follows.
func order(tsCol, ridCol string, desc bool, limit int) string {
	dir := ""
	if desc {
		dir = " DESC"
	}
	return " ORDER BY " + tsCol + dir + ", " + ridCol + dir + " LIMIT " + strconv.Itoa(limit+1)
}

// stringCursor encodes a cursor for lists ordered by a text key.
func stringCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// parseStringCursor decodes a stringCursor; "" is the first page.
func parseStringCursor(cursor string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", fmt.Errorf("%w: malformed cursor %q", store.ErrInvalid, cursor)
	}
	return string(raw), nil
}

// boolInt returns the stored form of a bool.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
