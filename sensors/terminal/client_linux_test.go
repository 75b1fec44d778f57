package terminal

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/evidence"
)

func TestClientBuffersUntilTheAgentComes(t *testing.T) {
	sock := filepath.Join(socketDir(t), "shell.sock")
	c := NewClient(sock, Message{Session: "late", Shell: "/bin/sh"}, 64<<10, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { c.Run(ctx) })
	defer func() {
		cancel()
		wg.Wait()
	}()

	c.Send(Message{Type: MsgRecord, Kind: "o", Data: "typed while the agent was down"})
	c.Send(Message{Type: MsgCommand, Line: "ls"})
	// Over the bound: records are dropped and counted.
	big := strings.Repeat("x", 40<<10)
	c.Send(Message{Type: MsgRecord, Kind: "o", Data: big})
	c.Send(Message{Type: MsgRecord, Kind: "o", Data: big})
	require.Equal(t, uint64(1), c.Dropped())
	require.False(t, c.Connected())

	_, sink, ev := startSensor(t, sock)
	got := ev.wait(t, 1)
	require.Equal(t, "ls", got[0].Command.Line)
	require.Equal(t, "u0-late", got[0].Session.ID)
	require.Eventually(t, func() bool { return strings.Contains(sink.output(), "typed while the agent was down") }, 30*time.Second, 10*time.Millisecond)
	recs := sink.records()
	require.Equal(t, evidence.TerminalStart, recs[0].Kind)
	require.Equal(t, "/bin/sh", recs[0].Shell)

	code := int64(0)
	c.Finish(&code, 10*time.Second)
	require.Eventually(t, func() bool {
		r := sink.records()
		return r[len(r)-1].Kind == evidence.TerminalEnd
	}, 10*time.Second, 10*time.Millisecond)
}

func TestClientFinishWithoutAgentReturns(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"), Message{Session: "x"}, 64<<10, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { c.Run(ctx) })
	c.Send(Message{Type: MsgRecord, Kind: "o", Data: "lost"})
	c.Finish(nil, time.Hour) // must not wait: nobody is listening
	cancel()
	wg.Wait()
	require.False(t, c.Connected())
}
