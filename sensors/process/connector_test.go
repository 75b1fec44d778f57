package process

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// procMessage builds one netlink message carrying a process event, as the
// kernel sends it.
func procMessage(what uint32, words ...uint32) []byte {
	ne := binary.NativeEndian
	data := make([]byte, procHdrLen+4*len(words))
	ne.PutUint32(data[0:], what)
	ne.PutUint64(data[8:], 123456789)
	for i, w := range words {
		ne.PutUint32(data[procHdrLen+4*i:], w)
	}
	b := make([]byte, nlmsgHdrLen+cnMsgLen+len(data))
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], nlmsgDone)
	c := b[nlmsgHdrLen:]
	ne.PutUint32(c[0:], cnIdxProc)
	ne.PutUint32(c[4:], cnValProc)
	ne.PutUint16(c[16:], uint16(len(data)))
	copy(c[cnMsgLen:], data)
	return b
}

func TestParseMessages(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []procEvent
		err  bool
	}{
		{name: "exec", in: procMessage(procEventExec, 10, 10), want: []procEvent{{What: procEventExec, PID: 10, TGID: 10}}},
		{name: "exit with parent", in: procMessage(procEventExit, 11, 11, 256, 17, 1, 1),
			want: []procEvent{{What: procEventExit, PID: 11, TGID: 11, ExitCode: 256, ExitSignal: 17}}},
		{name: "fork", in: procMessage(procEventFork, 1, 1, 12, 12),
			want: []procEvent{{What: procEventFork, ParentPID: 1, ParentTGID: 1, PID: 12, TGID: 12}}},
		{name: "other event skipped", in: procMessage(0x200, 1, 2, 3, 4)},
		{name: "two messages", in: append(procMessage(procEventExec, 1, 1), procMessage(procEventExec, 2, 2)...),
			want: []procEvent{{What: procEventExec, PID: 1, TGID: 1}, {What: procEventExec, PID: 2, TGID: 2}}},
		{name: "short exec", in: procMessage(procEventExec, 1), err: true},
		{name: "bad length", in: func() []byte {
			b := procMessage(procEventExec, 1, 1)
			binary.NativeEndian.PutUint32(b, 4096)
			return b
		}(), err: true},
		{name: "ack without event", in: func() []byte { b := listenMessage(procCnMcastListen); return b }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMessages(tc.in)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestExitStatus(t *testing.T) {
	require.Equal(t, int64(0), exitStatus(0))
	require.Equal(t, int64(3), exitStatus(3<<8))
	require.Equal(t, int64(137), exitStatus(9))
	require.Equal(t, int64(143), exitStatus(15|0x80)) // core-dump bit
}

func TestTokenBucket(t *testing.T) {
	b := tokenBucket{rate: 2}
	now := time.Unix(1000, 0)
	require.True(t, b.allow(now))
	require.True(t, b.allow(now))
	require.False(t, b.allow(now), "burst is the rate")
	require.True(t, b.allow(now.Add(500*time.Millisecond)), "one token back after half a second")
	require.False(t, b.allow(now.Add(500*time.Millisecond)))
	unlimited := tokenBucket{}
	for range 1000 {
		require.True(t, unlimited.allow(now))
	}
}

func TestExcluded(t *testing.T) {
	pats := []string{"sleep", "/usr/lib/*/helper-*"}
	require.True(t, excluded(pats, "/usr/bin/sleep"))
	require.True(t, excluded(pats, "/usr/lib/x86_64/helper-a"))
	require.False(t, excluded(pats, "/usr/bin/sleepy"))
	require.False(t, excluded(pats, "/opt/lib/x/helper-a"))
}

func FuzzParseMessages(f *testing.F) {
	f.Add(procMessage(procEventExec, 10, 10))
	f.Add(procMessage(procEventExit, 11, 11, 256, 17, 1, 1))
	f.Add(append(procMessage(procEventFork, 1, 1, 12, 12), procMessage(procEventExec, 12, 12)...))
	f.Add(listenMessage(procCnMcastListen))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, _ := parseMessages(b)
		for _, e := range evs {
			require.Contains(t, []uint32{procEventFork, procEventExec, procEventExit}, e.What)
		}
	})
}
