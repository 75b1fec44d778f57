package printing

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func yamlNode(t *testing.T, text string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(text), &n))
	return n.Content[0]
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestTailerRotationTruncationAndPartialLines(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "log")
	tl := newTailer(p)
	defer tl.close()
	require.NoError(t, tl.resume(nil)) // no file yet: it is read from its start
	var got []string
	poll := func() {
		_, err := tl.poll(func(l []byte) { got = append(got, string(l)) })
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

	// A line longer than maxLine is dropped whole, the next is kept.
	appendFile(t, p, strings.Repeat("x", maxLine+10)+"\nsix\n")
	poll()
	require.Equal(t, "six", got[len(got)-1])
	require.Len(t, got, 6)

	// Resume from saved state continues after "six"; other state starts
	// at the end.
	st := tl.state()
	appendFile(t, p, "seven\n")
	t2 := newTailer(p)
	defer t2.close()
	require.NoError(t, t2.resume(&st))
	var got2 []string
	_, err := t2.poll(func(l []byte) { got2 = append(got2, string(l)) })
	require.NoError(t, err)
	require.Equal(t, []string{"seven"}, got2)

	t3 := newTailer(p)
	defer t3.close()
	require.NoError(t, t3.resume(&tailState{Path: p, FileID: st.FileID + 1, Offset: 0}))
	_, err = t3.poll(func(l []byte) { t.Fatalf("unexpected line %q", l) })
	require.NoError(t, err)
}

func TestStateRoundTrip(t *testing.T) {
	p := statePath(t.TempDir())
	require.Nil(t, loadState(p))
	want := tailState{Path: "/x", FileID: 7, Offset: 42, Recent: []string{"P-1"}}
	require.NoError(t, saveState(p, want))
	require.Equal(t, &want, loadState(p))
	require.NoError(t, os.WriteFile(p, []byte("{"), 0o600))
	require.Nil(t, loadState(p))
}
