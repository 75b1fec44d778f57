package logtail

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

func appendFile(t testing.TB, path, text string) {
	t.Helper()
	sensortest.AppendFile(t, path, []byte(text))
}

// lines polls tl once and returns the lines read.
func lines(t testing.TB, tl *Tailer) []string {
	t.Helper()
	var got []string
	_, err := tl.Poll(func(l []byte) { got = append(got, string(l)) })
	require.NoError(t, err)
	return got
}

func TestTailerRotationTruncationAndPartialLines(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "log")
	tl := New(p)
	defer tl.Close()
	require.NoError(t, tl.Resume(nil)) // no file yet: it is read from its start
	var got []string
	poll := func() {
		_, err := tl.Poll(func(l []byte) { got = append(got, string(l)) })
		require.NoError(t, err)
	}
	poll()
	appendFile(t, p, "one\ntw")
	poll()
	require.Equal(t, []string{"one"}, got)
	appendFile(t, p, "o\n")
	poll()
	require.Equal(t, []string{"one", "two"}, got)

	// Lines written to the old file after the last poll, then a rotation.
	appendFile(t, p, "three\n")
	require.NoError(t, os.Rename(p, p+".O"))
	poll() // the new file does not exist yet
	appendFile(t, p, "four\n")
	poll()
	require.Equal(t, []string{"one", "two", "three", "four"}, got)

	// Truncation in place.
	require.NoError(t, os.WriteFile(p, []byte("5\n"), 0o600))
	poll()
	require.Equal(t, []string{"one", "two", "three", "four", "5"}, got)

	// A line longer than MaxLine is dropped whole, the next is kept.
	appendFile(t, p, strings.Repeat("x", MaxLine+10)+"\nsix\n")
	poll()
	require.Equal(t, "six", got[len(got)-1])
	require.Len(t, got, 6)

	// Resume from saved state continues after "six"; other state starts
	// at the end.
	st := tl.Position()
	appendFile(t, p, "seven\n")
	t2 := New(p)
	defer t2.Close()
	require.NoError(t, t2.Resume(&st))
	require.Equal(t, []string{"seven"}, lines(t, t2))

	t3 := New(p)
	defer t3.Close()
	require.NoError(t, t3.Resume(&Position{Path: p, FileID: st.FileID + 1, Offset: 0}))
	_, err := t3.Poll(func(l []byte) { t.Fatalf("unexpected line %q", l) })
	require.NoError(t, err)
}

func TestTailerStartsAtTheEndWithoutState(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	appendFile(t, p, "old\n")
	tl := New(p)
	defer tl.Close()
	require.NoError(t, tl.Resume(nil))
	require.Empty(t, lines(t, tl), "lines written before the sensor started are not read")
	appendFile(t, p, "new\n")
	require.Equal(t, []string{"new"}, lines(t, tl))

	// A file that replaces it by rotation is new: all of it is read.
	require.NoError(t, os.Rename(p, p+".1"))
	appendFile(t, p, "first\nsecond\n")
	require.Equal(t, []string{"first", "second"}, lines(t, tl))

	pos := tl.Position()
	require.Equal(t, p, pos.Path)
	require.Equal(t, int64(len("first\nsecond\n")), pos.Offset)
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, FileID(fi), pos.FileID)
	require.NotZero(t, pos.FileID)

	// State for another path, or past the end of the file, is not trusted.
	for _, bad := range []Position{{Path: p + ".1", FileID: pos.FileID}, {Path: p, FileID: pos.FileID, Offset: pos.Offset + 1}} {
		t2 := New(p)
		require.NoError(t, t2.Resume(&bad))
		require.Equal(t, pos.Offset, t2.Position().Offset, "%+v", bad)
		t2.Close()
	}
}

// TestPositionFormat pins the JSON names of a saved position: sensors keep
// it in their state files, which must stay readable across versions.
func TestPositionFormat(t *testing.T) {
	data, err := json.Marshal(Position{Path: "/var/log/mail.log", FileID: 7, Offset: 42})
	require.NoError(t, err)
	require.JSONEq(t, `{"path":"/var/log/mail.log","file_id":7,"offset":42}`, string(data))
}

func TestTailerErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	appendFile(t, file, "x\n")
	p := filepath.Join(file, "log") // under a file, not a directory
	tl := New(p)
	defer tl.Close()
	require.ErrorContains(t, tl.Resume(nil), "open "+p)
	_, err := tl.Poll(func([]byte) {})
	require.ErrorContains(t, err, "stat "+p)
}

// FuzzTailer writes arbitrary bytes to a log in arbitrary pieces, polling
// after each, and checks that exactly the complete lines come out, those
// longer than MaxLine left out.
func FuzzTailer(f *testing.F) {
	f.Add([]byte("one\ntwo\n"), uint8(3))
	f.Add([]byte("a\n\n\nb"), uint8(1))
	f.Add([]byte("no newline at all"), uint8(0))
	f.Add(append(bytes.Repeat([]byte("x"), MaxLine+1), "\nshort\n"...), uint8(200))
	f.Fuzz(func(t *testing.T, data []byte, piece uint8) {
		p := filepath.Join(t.TempDir(), "log")
		tl := New(p)
		defer tl.Close()
		require.NoError(t, tl.Resume(nil))
		var got []string
		step := int(piece) + 1
		if len(data) > 4*MaxLine {
			step = max(step, len(data)/64)
		}
		for rest := data; len(rest) > 0; {
			n := min(step, len(rest))
			appendFile(t, p, string(rest[:n]))
			rest = rest[n:]
			got = append(got, lines(t, tl)...)
		}
		var want []string
		parts := strings.Split(string(data), "\n")
		for _, l := range parts[:len(parts)-1] { // the last part is not a complete line
			if len(l) <= MaxLine {
				want = append(want, l)
			}
		}
		require.Equal(t, want, got)
		require.Equal(t, int64(len(data)), tl.Position().Offset)
	})
}

func BenchmarkTailerPoll(b *testing.B) {
	p := filepath.Join(b.TempDir(), "log")
	line := "E [28/Nov/2026:10:00:00 +0000] Vigil_Test 17 jdoe 1 1 - localhost report.pdf A4 one-sided\n"
	chunk := strings.Repeat(line, 100)
	tl := New(p)
	defer tl.Close()
	require.NoError(b, tl.Resume(nil))
	n := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		appendFile(b, p, chunk)
		if _, err := tl.Poll(func([]byte) { n++ }); err != nil {
			b.Fatal(err)
		}
	}
	require.Equal(b, 100*b.N, n)
}
