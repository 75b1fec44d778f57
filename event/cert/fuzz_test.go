package cert

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzRows feeds arbitrary files to the row mapper of every kind: it never
// panics, every event it returns is valid and carries the module and an id
// of its file, and every row is either an event or a counted skip.
func FuzzRows(f *testing.F) {
	for _, layout := range []string{"old", "new"} {
		for k := range numKinds {
			data, err := os.ReadFile(filepath.Join("testdata", layout, kinds[k].file))
			require.NoError(f, err)
			f.Add(uint8(k), data)
		}
	}
	f.Add(uint8(kindEmail), []byte("id,date,user,pc,attachments\n1,1/2/2010 3:04:05,u,p,a(1);(2);b(x);;c\\d(99999999999999999999)\n"))
	f.Add(uint8(kindHTTP), []byte("date,user,pc,url\n01/02/2010 00:00:00,u,p,::\n01/02/2010 00:00:00,u,p,http://[::1\n"))
	var read atomic.Int64
	st := Stats{Rows: map[string]int64{}, Skipped: map[string]int64{}}
	dir, err := loadDirectory("testdata/old/LDAP", time.UTC, &st, &read)
	require.NoError(f, err)
	cfg := newConfig(Options{})

	f.Fuzz(func(t *testing.T, k uint8, data []byte) {
		kd := kind(k % uint8(numKinds))
		r := newCSVReader(bytes.NewReader(data), nil)
		if !r.next() {
			return
		}
		cols := headerIndex(r)
		for _, c := range kinds[kd].required {
			if cols.get(c) < 0 {
				return
			}
		}
		m := newMapper(kd, newLayout(cols, r.nfields), cfg, dir, r)
		events := int64(0)
		for e := m.next(); e != nil; e = m.next() {
			events++
			require.NoError(t, e.Validate())
			require.Equal(t, "cert", e.Event.Module)
			require.True(t, strings.HasPrefix(e.Event.ID, "cert-"+kinds[kd].name+"-"), e.Event.ID)
			require.False(t, e.Timestamp.IsZero())
		}
		require.NoError(t, r.err)
		skipped := int64(0)
		for _, n := range m.skipped {
			skipped += n
		}
		require.Equal(t, m.row, events+skipped)
	})
}

// FuzzParseDate: parseDate agrees with time.ParseInLocation on the layout
// "1/2/2006 15:04:05": whatever it accepts the standard parser reads as the
// same instant, and it accepts everything the standard parser does but
// fractions of a second longer than nine digits.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"01/02/2010 06:49:00", "1/2/2010 6:49:00", "12/31/1999 23:59:59", "02/29/2012 00:00:00",
		"02/29/2010 00:00:00", "13/01/2010 00:00:00", "01/02/2010  06:49:00", "01/02/2010 06:49:00.25",
		"01/02/2010 06:49:00,5", "01/02/2010 06:49", "2010-01-02 06:49:00", "01/02/2010 24:00:00", "",
	} {
		f.Add(s)
	}
	loc := time.FixedZone("X", -4*3600)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseDate([]byte(s), loc)
		want, err := time.ParseInLocation("1/2/2006 15:04:05", s, loc)
		if ok {
			require.NoError(t, err, "parseDate accepts %q", s)
			require.True(t, want.Equal(got), "%q: %v, want %v", s, got, want)
			return
		}
		if err == nil && !strings.ContainsAny(s, ".,") {
			t.Fatalf("parseDate rejects %q, which time.Parse reads as %v", s, want)
		}
	})
}
