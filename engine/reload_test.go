package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies"
)

func writeBundle(t *testing.T, dir, revision, when string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "rules"), 0o755))
	manifest := `{"revision": "` + revision + `", "roots": ["vigil"], "metadata": {"name": "live"}}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".manifest"), []byte(manifest), 0o644))
	rule := "- id: usb\n  title: USB copy\n  severity: high\n  tags: [removable]\n  when: " + when + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules", "usb.yaml"), []byte(rule), 0o644))
}

func TestLiveReloadKeepsLastGoodBundle(t *testing.T) {
	dir := t.TempDir()
	writeBundle(t, dir, "r1", `event.action == "file-copied-to-removable"`)

	type result struct {
		rev string
		err error
	}
	results := make(chan result, 16)
	live, err := NewLive(dir, func(p string) (*policies.Bundle, error) { return policies.Load(p) }, nil,
		WithDebounce(50*time.Millisecond),
		OnReload(func(p *Program, err error) {
			r := result{err: err}
			if p != nil {
				r.rev = p.Revision()
			}
			results <- r
		}))
	require.NoError(t, err)
	require.Equal(t, "r1", live.Program().Revision())

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := live.Watch(ctx); err != nil {
			t.Error(err)
		}
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()
	// Give the watcher time to register before the first write.
	time.Sleep(100 * time.Millisecond)

	wait := func() result {
		t.Helper()
		select {
		case r := <-results:
			// Drain a burst: the last result is the one that counts.
			for {
				select {
				case r = <-results:
				case <-time.After(300 * time.Millisecond):
					return r
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no reload within 10s")
		}
		return result{}
	}

	// A broken rule: the reload fails, says why, and r1 stays active.
	writeBundle(t, dir, "r2", `event.action == "file-copied-to-removable" && fiel.size > 1`)
	r := wait()
	require.Error(t, r.err)
	require.Contains(t, r.err.Error(), `rules/usb.yaml`)
	require.Contains(t, r.err.Error(), `unknown name "fiel.size"`)
	require.Equal(t, "r1", live.Program().Revision())
	require.Equal(t, r.err, live.LastError())
	d, err := live.Evaluate(context.Background(), copyEvent("e1", t0, "u", "/m/a"))
	require.NoError(t, err)
	require.True(t, d.Alert, "the last good bundle still judges events")

	// Fixed: r3 becomes active.
	writeBundle(t, dir, "r3", `event.action == "file-copied-to-removable" && file.extension == "pdf"`)
	r = wait()
	require.NoError(t, r.err)
	require.Equal(t, "r3", r.rev)
	require.Equal(t, "r3", live.Program().Revision())
	require.NoError(t, live.LastError())
	d, err = live.Evaluate(context.Background(), copyEvent("e2", t0, "u", "/m/a.txt"))
	require.NoError(t, err)
	require.False(t, d.Alert)
	require.True(t, strings.HasPrefix(d.Bundle.Revision, "r3"))
}
