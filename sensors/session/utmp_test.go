package session

import (
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRecordRoundTrip(t *testing.T) {
	tm := time.Date(2026, 11, 28, 10, 0, 0, 123456000, time.UTC)
	tests := []struct {
		name string
		rec  Record
		sid  string
		addr string
	}{
		{
			name: "ssh logon with IPv4",
			rec: Record{Type: TypeUserProcess, PID: 4242, Line: "pts/3", ID: "ts/3", User: "jdoe",
				Host: "203.0.113.7", Session: 4242, Time: tm, Addr: netip.MustParseAddr("203.0.113.7")},
			sid: "4242", addr: "203.0.113.7",
		},
		{
			name: "ssh logon with IPv6 and host name",
			rec: Record{Type: TypeUserProcess, PID: 7, Line: "pts/0", User: "alice",
				Host: "ws.example.org", Time: tm, Addr: netip.MustParseAddr("2001:db8::1")},
			sid: "7", addr: "2001:db8::1",
		},
		{
			name: "console logon",
			rec:  Record{Type: TypeUserProcess, PID: 900, Line: "tty1", ID: "1", User: "bob", Session: 900, Time: tm},
			sid:  "900", addr: "",
		},
		{
			name: "X display is not remote",
			rec:  Record{Type: TypeUserProcess, PID: 12, Line: ":0", User: "carol", Host: ":0", Time: tm},
			sid:  "12", addr: "",
		},
		{
			name: "dead process with exit status",
			rec:  Record{Type: TypeDeadProcess, PID: 4242, Line: "pts/3", Termination: 1, Exit: 2, Time: tm},
			sid:  "4242", addr: "",
		},
		{
			name: "fields filled to the brim",
			rec: Record{Type: TypeUserProcess, PID: 1, Line: "0123456789abcdef0123456789abcdef", ID: "abcd",
				User: "0123456789abcdef0123456789abcdef", Time: tm},
			sid: "1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.rec.MarshalBinary()
			require.NoError(t, err)
			require.Len(t, b, RecordSize)
			got, err := ParseRecord(b)
			require.NoError(t, err)
			require.Equal(t, tc.rec, got)
			require.Equal(t, tc.sid, got.SessionID())
			require.Equal(t, tc.addr, got.RemoteAddress())
		})
	}
}

func TestParseRecordShort(t *testing.T) {
	_, err := ParseRecord(make([]byte, RecordSize-1))
	require.ErrorIs(t, err, ErrShortRecord)
}

func TestParseAllIgnoresPartialTail(t *testing.T) {
	a, _ := Record{Type: TypeBootTime, Line: "~", User: "reboot"}.MarshalBinary()
	b, _ := Record{Type: TypeUserProcess, PID: 3, Line: "pts/1", User: "x"}.MarshalBinary()
	data := append(append(append([]byte{}, a...), b...), make([]byte, 100)...)
	recs := ParseAll(data)
	require.Len(t, recs, 2)
	require.Equal(t, int16(TypeBootTime), recs[0].Type)
	require.Equal(t, "pts/1", recs[1].Line)
}

// TestParseMachineUtmp reads this machine's real utmp and wtmp, when they
// exist: every whole record must decode to a known type.
func TestParseMachineUtmp(t *testing.T) {
	found := false
	for _, p := range []string{"/var/run/utmp", "/var/log/wtmp"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		found = true
		recs := ParseAll(b)
		require.Len(t, recs, len(b)/RecordSize, p)
		for _, r := range recs {
			require.GreaterOrEqual(t, r.Type, int16(TypeEmpty), p)
			require.LessOrEqual(t, r.Type, int16(TypeAccounting), p)
		}
	}
	if !found {
		t.Log("no utmp or wtmp on this machine; the temp-file tests cover the parser")
	}
}

func FuzzParseRecord(f *testing.F) {
	seed, _ := Record{Type: TypeUserProcess, PID: 1, Line: "pts/0", User: "root", Host: "10.0.0.1",
		Addr: netip.MustParseAddr("10.0.0.1"), Time: time.Unix(1700000000, 0)}.MarshalBinary()
	f.Add(seed)
	f.Add(make([]byte, RecordSize))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err != nil {
			require.Less(t, len(b), RecordSize)
			return
		}
		_ = r.SessionID()
		_ = r.RemoteAddress()
		// Re-encoding and decoding a parsed record is stable.
		enc, err := r.MarshalBinary()
		require.NoError(t, err)
		again, err := ParseRecord(enc)
		require.NoError(t, err)
		require.Equal(t, r.Type, again.Type)
		require.Equal(t, r.PID, again.PID)
		require.Equal(t, r.Line, again.Line)
		require.Equal(t, r.User, again.User)
		require.Equal(t, r.Host, again.Host)
		require.Equal(t, r.Addr, again.Addr)
		require.Len(t, ParseAll(b), len(b)/RecordSize)
	})
}
