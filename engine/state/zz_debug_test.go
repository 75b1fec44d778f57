package state

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestZZDebugCorpus(t *testing.T) {
	dir := os.Getenv("FZDIR")
	if dir == "" {
		t.Skip()
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		lines := strings.SplitN(string(raw), "\n", 2)
		s := strings.TrimSpace(lines[1])
		s = strings.TrimSuffix(strings.TrimPrefix(s, "[]byte("), ")")
		data, err := strconv.Unquote(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kinds() {
			start := time.Now()
			tr := k.make(Options{MaxKeys: 50, MaxValuesPerKey: 50})
			err := tr.Restore(bytes.NewReader([]byte(data)))
			if err == nil {
				feed(k, tr, 0, 40)
			}
			if el := time.Since(start); el > 50*time.Millisecond {
				t.Logf("%s %s: %v (%v) len=%d", filepath.Base(f), k.name, el, err, len(data))
			}
		}
	}
}
