package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/store"
)

// crashChildEnv names the database a child process of
// TestCrashKeepsAcknowledgedWrites appends to.
const crashChildEnv = "VIGIL_STORE_CRASH_CHILD_DB"

// TestCrashKeepsAcknowledgedWrites kills a process that is appending
// events (SIGKILL: no Close, no checkpoint) and checks that every batch
// it was told had been stored is there when the database is opened
// again.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	path := t.TempDir() + "/crash.db"
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedWrites$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	// Each line is the seq of a batch the child saw acknowledged.
	var acked int64
	lines := bufio.NewScanner(out)
	for acked < 30 && lines.Scan() {
		seq, err := strconv.ParseInt(lines.Text(), 10, 64)
		if err != nil {
			continue // test framework output
		}
		acked = seq
	}
	_ = cmd.Process.Kill() // mid-write, as a crash would
	_ = cmd.Wait()
	require.GreaterOrEqual(t, acked, int64(30), "the child acknowledged too little: %v", lines.Err())

	db := openAt(t, path, Options{})
	last, err := db.Events().LastSeq(t.Context(), "crash")
	require.NoError(t, err)
	require.GreaterOrEqual(t, last, acked)
	got := queryAll(t, db, store.EventFilter{Limit: store.MaxLimit})
	require.GreaterOrEqual(t, len(got), int(acked)*20)
	ids := map[string]bool{}
	for _, e := range got {
		ids[e.Event.ID] = true
	}
	for seq := int64(1); seq <= acked; seq++ {
		for _, e := range genEvents(seq, 20) {
			require.True(t, ids[e.Event.ID], "batch %d event %s lost", seq, e.Event.ID)
		}
	}
}

// crashChild appends batches until it is killed, printing the seq of
// each acknowledged one.
func crashChild(path string) {
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for seq := int64(1); ; seq++ {
		if _, err := db.Events().Append(context.Background(), "crash", seq, genEvents(seq, 20)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(seq)
		if seq > 10_000 {
			time.Sleep(time.Hour) // wait to be killed
		}
	}
}
