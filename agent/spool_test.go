package agent

import (
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
)

func testEvents(n int, size int) []*event.Event {
	out := make([]*event.Event, n)
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	for i := range out {
		out[i] = &event.Event{Timestamp: at, Event: event.Meta{ID: event.NewID(at), Action: "file-created"},
			File: &event.File{Path: "/home/u/" + strings.Repeat("x", size)}}
	}
	return out
}

func openTestSpool(t *testing.T, dir string, maxBytes int64) *Spool {
	t.Helper()
	s, err := OpenSpool(dir, maxBytes, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return s
}

func TestSpoolOrderAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir, 0)
	require.NoError(t, s.AddBatch(testEvents(3, 10), nil, 0))
	require.NoError(t, s.AddBatch(testEvents(2, 10), []engine.Decision{{DecisionID: "d", EventID: "e", Alert: true}}, 4))
	ev := filepath.Join(t.TempDir(), "pkg.zip")
	require.NoError(t, os.WriteFile(ev, []byte("zip"), 0o600))
	require.NoError(t, s.AddEvidence(ev))
	require.NoFileExists(t, ev, "evidence is moved into the spool")

	items := s.snapshot()
	require.Len(t, items, 3)
	require.Equal(t, []uint64{1, 2, 3}, []uint64{items[0].seq, items[1].seq, items[2].seq})
	require.Equal(t, kindEvidence, items[2].kind)

	// The file is the exact ingest body, with the item's seq.
	var body batchBody
	data, err := os.ReadFile(s.path(items[1]))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &body))
	require.Equal(t, uint64(2), body.Seq)
	require.Len(t, body.Events, 2)
	require.Len(t, body.Decisions, 1)

	// A crash left a partial file: it is removed; complete items come back.
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".tmp-123"), []byte("half"), 0o600))
	require.NoError(t, s.Done(items[0]))
	s2 := openTestSpool(t, dir, 0)
	require.Len(t, s2.snapshot(), 2)
	require.NoFileExists(t, filepath.Join(dir, ".tmp-123"))

	// Sequence numbers never go back, even once the spool is empty.
	for _, it := range s2.snapshot() {
		require.NoError(t, s2.Done(it))
	}
	s3 := openTestSpool(t, dir, 0)
	require.NoError(t, s3.AddBatch(testEvents(1, 1), nil, 0))
	require.Equal(t, uint64(4), s3.snapshot()[0].seq)
}

// TestSpoolCapDropsLowPriorityFirst: at the byte limit, the oldest batch
// with the lowest priority goes first; alerts' batches and evidence stay.
func TestSpoolCapDropsLowPriorityFirst(t *testing.T) {
	s := openTestSpool(t, t.TempDir(), 0)
	require.NoError(t, s.AddBatch(testEvents(5, 400), nil, 0))
	one := s.snapshot()[0].size
	s.maxBytes = one*4 + one/2 // room for four such batches

	require.NoError(t, s.AddBatch(testEvents(5, 400), nil, 4)) // an alert's batch
	require.NoError(t, s.AddBatch(testEvents(5, 400), nil, 0))
	require.NoError(t, s.AddBatch(testEvents(5, 400), nil, 2))
	require.Zero(t, s.TakeDropped())

	require.NoError(t, s.AddBatch(testEvents(5, 400), nil, 0)) // pushes out seq 1
	require.EqualValues(t, 5, s.TakeDropped())
	require.NoError(t, s.AddBatch(testEvents(5, 400), nil, 3)) // pushes out seq 3 (priority 0)
	require.EqualValues(t, 5, s.TakeDropped())
	var seqs []uint64
	for _, it := range s.snapshot() {
		seqs = append(seqs, it.seq)
	}
	require.Equal(t, []uint64{2, 4, 5, 6}, seqs)

	// Nothing of priority 0 can push out priority 2 and above... but the
	// oldest priority-0 batch goes for it.
	require.NoError(t, s.AddBatch(testEvents(5, 400), nil, 0))
	require.EqualValues(t, 5, s.TakeDropped())
	// Now only higher-priority batches remain besides the newest: a
	// low-priority batch that does not fit is refused and counted.
	for _, it := range s.snapshot() {
		if it.priority == 0 {
			require.NoError(t, s.Done(it))
		}
	}
	require.NoError(t, s.AddBatch(testEvents(5, 400), nil, 4))
	err := s.AddBatch(testEvents(5, 400), nil, 0)
	require.ErrorIs(t, err, ErrSpoolFull)
	require.EqualValues(t, 5, s.TakeDropped())
	require.EqualValues(t, 20, s.Stats().DroppedEvents)
}

// TestSpoolFullDisk: on a real file system that fills up, a batch that
// cannot be written is refused with ErrSpoolFull and counted, what was
// queued before stays intact, and writing works again once there is room.
func TestSpoolFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		if xvfb.Required() {
			t.Fatal("mounting a small tmpfs needs root; scripts/test runs as root in CI")
		}
		t.Skip("mounting a small tmpfs needs root")
	}
	xvfb.NeedCommand(t, "mount", "mount")
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })

	s := openTestSpool(t, filepath.Join(dir, "spool"), 0)
	var full error
	kept := 0
	for i := range 100 {
		if err := s.AddBatch(testEvents(20, 1000), nil, 0); err != nil {
			full = err
			break
		}
		kept = i + 1
	}
	require.Error(t, full, "the tmpfs filled up")
	require.ErrorIs(t, full, ErrSpoolFull, "%v", full)
	require.Positive(t, kept)
	require.EqualValues(t, 20, s.TakeDropped())
	// No partial file is left behind, and every kept batch decodes.
	items := s.snapshot()
	require.Len(t, items, kept)
	for _, it := range items {
		data, err := os.ReadFile(s.path(it))
		require.NoError(t, err)
		var b batchBody
		require.NoError(t, json.Unmarshal(data, &b), "batch %d", it.seq)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "spool"))
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), ".tmp-"), "partial file %s left", e.Name())
	}
	// Room again: the next batch is kept.
	require.NoError(t, s.Done(items[0]))
	require.NoError(t, s.Done(items[1]))
	require.NoError(t, s.AddBatch(testEvents(20, 1000), nil, 0))
}

func TestParseItemName(t *testing.T) {
	for name, ok := range map[string]bool{
		"00000000000000000001.p0.n5.batch.json": true,
		"00000000000000000002.evidence.zip":     true,
		"00000000000000000000.evidence.zip":     false,
		"x.p0.n5.batch.json":                    false,
		"1.p-1.n5.batch.json":                   false,
		"1.batch.json":                          false,
		"last-seq":                              false,
	} {
		_, got := parseItemName(name)
		require.Equal(t, ok, got, name)
	}
}

func FuzzParseItemName(f *testing.F) {
	f.Add("00000000000000000001.p0.n5.batch.json")
	f.Add("00000000000000000002.evidence.zip")
	f.Fuzz(func(t *testing.T, name string) {
		it, ok := parseItemName(name)
		if !ok {
			return
		}
		it.name = ""
		if got, ok2 := parseItemName(itemName(it)); !ok2 || got.seq != it.seq || got.kind != it.kind {
			t.Fatalf("%q: round trip %q failed", name, itemName(it))
		}
	})
}

func TestOneAgentPerDataDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock on windows")
	}
	dir := t.TempDir()
	cfg := Config{Server: "http://127.0.0.1:1", DataDir: dir, OnlySensors: []string{}}
	a, err := New(cfg, Options{})
	require.NoError(t, err)
	_, err = New(cfg, Options{})
	require.ErrorContains(t, err, "in use by another agent")
	a.Close()
	b, err := New(cfg, Options{})
	require.NoError(t, err, "the lock goes with the agent")
	b.Close()
}

// TestSpoolWritesCanonicalEvents: every event of a spooled batch is in its
// canonical form, even with characters HTML escaping would rewrite, so
// that the server stores the bytes as they come.
func TestSpoolWritesCanonicalEvents(t *testing.T) {
	s := openTestSpool(t, t.TempDir(), 0)
	evs := testEvents(2, 3)
	evs[0].URL = &event.URL{Full: "https://share.example/upload?a=1&b=<2>"}
	evs[1].Message = "Q&A <draft> \u2028 \"quoted\"\n"
	require.NoError(t, s.AddBatch(evs, nil, 0))
	data, err := os.ReadFile(s.path(s.snapshot()[0]))
	require.NoError(t, err)
	var body struct {
		Events []json.RawMessage `json:"events"`
	}
	require.NoError(t, json.Unmarshal(data, &body))
	require.Len(t, body.Events, 2)
	for i, raw := range body.Events {
		e, canonical, err := event.DecodeCanonical(raw)
		require.NoError(t, err)
		require.True(t, canonical, "%s", raw)
		require.Equal(t, evs[i], e)
	}
}
