package state

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies"
)

// feed sends events [from, to) of the synthetic stream and returns the
// rendered results.
func feed(k kind, tr tracker, from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		key, ts := streamEvent(i)
		out = append(out, k.observe(tr, key, ts, i))
	}
	return out
}

func snapshot(t *testing.T, tr tracker) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, tr.Snapshot(&buf))
	return buf.Bytes()
}

func TestSnapshotRoundTrip(t *testing.T) {
	const half, all = 3000, 6000
	for _, k := range kinds() {
		t.Run("kind="+k.name, func(t *testing.T) {
			a := k.make(Options{})
			feed(k, a, 0, half)
			snap := snapshot(t, a)

			b := k.make(Options{})
			require.NoError(t, b.Restore(bytes.NewReader(snap)))
			require.Equal(t, a.Keys(), b.Keys())

			// From here on both must answer exactly alike.
			require.Equal(t, feed(k, a, half, all), feed(k, b, half, all))

			// Restoring replaces what was there.
			c := k.make(Options{})
			feed(k, c, 0, 100)
			k.observe(c, "only-in-c", at(0), 0)
			require.NoError(t, c.Restore(bytes.NewReader(snapshot(t, b))))
			require.Equal(t, b.Keys(), c.Keys())
			require.Equal(t, feed(k, b, all, all+500), feed(k, c, all, all+500))
		})
	}
}

func TestSnapshotOfEmptyState(t *testing.T) {
	for _, k := range kinds() {
		a := k.make(Options{})
		snap := snapshot(t, a)
		require.Len(t, snap, headerLen+2, k.name)
		b := k.make(Options{})
		k.observe(b, "x", at(0), 0)
		require.NoError(t, b.Restore(bytes.NewReader(snap)), k.name)
		require.Equal(t, 0, b.Keys(), k.name)
	}
}

func TestSnapshotThresholdBucketsRoundTrip(t *testing.T) {
	spec := &policies.Threshold{Sum: &policies.FieldBound{Field: "n", GT: ptr(1e9)}, Window: pd(time.Minute)}
	a := must(NewThreshold(spec, Options{}))
	for i := range 1000 {
		a.Observe("k", at(time.Duration(i)*50*time.Millisecond), 2, "")
	}
	b := must(NewThreshold(spec, Options{}))
	require.NoError(t, b.Restore(bytes.NewReader(snapshot(t, a))))
	sh := b.store.shardFor("k")
	st, _ := b.store.get(sh, "k")
	require.NotNil(t, st.ring)
	ts := at(1000 * 50 * time.Millisecond)
	require.Equal(t, a.Observe("k", ts, 1, ""), b.Observe("k", ts, 1, ""))
}

func TestRestoreIntoSmallerCaps(t *testing.T) {
	a := must(NewFirstSeen(&policies.FirstSeen{Field: "h", Within: pd(time.Hour)}, Options{}))
	for i := range 100 {
		a.Observe(fmt.Sprintf("k%02d", i), "v", at(0))
	}
	for i := range 20 {
		a.Observe("k99", fmt.Sprintf("v%d", i), at(time.Duration(i)*time.Second))
	}
	snap := snapshot(t, a)

	b := must(NewFirstSeen(&policies.FirstSeen{Field: "h", Within: pd(time.Hour)}, Options{MaxKeys: 10, MaxValuesPerKey: 5}))
	require.NoError(t, b.Restore(bytes.NewReader(snap)))
	require.Equal(t, 10, b.Keys())
	require.Equal(t, uint64(90), b.Evictions())
	// k99 had the newest events, so it survived, with its newest five
	// values.
	r := b.Observe("k99", "v19", at(time.Minute))
	require.False(t, r.Fired)
	require.Equal(t, 5, r.KnownValues)
	require.True(t, b.Observe("k99", "v14", at(time.Minute)).Fired)
}

func TestRestoreRejects(t *testing.T) {
	th := must(NewThreshold(&policies.Threshold{Count: 5, Window: pd(time.Minute)}, Options{}))
	for i := range 50 {
		th.Observe(fmt.Sprintf("k%d", i%7), at(time.Duration(i)*time.Second), 0, "")
	}
	valid := snapshot(t, th)
	otherCount := must(NewThreshold(&policies.Threshold{Count: 6, Window: pd(time.Minute)}, Options{}))
	otherBy := must(NewThreshold(&policies.Threshold{Count: 5, Window: pd(time.Minute), By: []string{"user.name"}}, Options{}))
	seq := must(NewSequence(&policies.Sequence{Within: pd(time.Minute), Steps: make([]policies.Step, 2)}, Options{}))

	withVersion := bytes.Clone(valid)
	withVersion[4] = 2
	tests := []struct {
		name   string
		into   tracker
		input  []byte
		sentry error
		want   string
	}{
		{"empty input", th, nil, ErrSnapshot, "read header"},
		{"not a snapshot", th, []byte("this is not a snapshot at all"), ErrSnapshot, "not a state snapshot"},
		{"unknown version", th, withVersion, ErrSnapshot, "unsupported version 2"},
		{"another count", otherCount, valid, ErrSnapshotMismatch, "different specification"},
		{"other by-fields", otherBy, valid, ErrSnapshotMismatch, "different specification"},
		{"another kind", seq, valid, ErrSnapshotMismatch, "holds kind 1"},
		{"no end frame", th, valid[:len(valid)-2], ErrSnapshot, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.into.Keys()
			err := tt.into.Restore(bytes.NewReader(tt.input))
			require.ErrorIs(t, err, tt.sentry)
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, before, tt.into.Keys(), "a failed restore changes nothing")
		})
	}
}

func TestRestoreDetectsEveryTruncationAndBitFlip(t *testing.T) {
	for _, k := range kinds() {
		t.Run("kind="+k.name, func(t *testing.T) {
			a := k.make(Options{})
			feed(k, a, 0, 200)
			snap := snapshot(t, a)
			b := k.make(Options{})
			for n := range len(snap) {
				err := b.Restore(bytes.NewReader(snap[:n]))
				require.ErrorIs(t, err, ErrSnapshot, "truncated to %d of %d bytes", n, len(snap))
			}
			for i := range snap {
				for bit := range 8 {
					bad := bytes.Clone(snap)
					bad[i] ^= 1 << bit
					err := b.Restore(bytes.NewReader(bad))
					require.Error(t, err, "bit %d of byte %d flipped", bit, i)
					require.True(t, errors.Is(err, ErrSnapshot) || errors.Is(err, ErrSnapshotMismatch), "%v", err)
				}
			}
			require.Equal(t, 0, b.Keys())
		})
	}
}

func FuzzRestore(f *testing.F) {
	for _, k := range kinds() {
		a := k.make(Options{})
		feed(k, a, 0, 300)
		var buf bytes.Buffer
		if err := a.Snapshot(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte("VGST"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range kinds() {
			tr := k.make(Options{MaxKeys: 50, MaxValuesPerKey: 50})
			err := tr.Restore(bytes.NewReader(data))
			if err != nil {
				require.True(t, errors.Is(err, ErrSnapshot) || errors.Is(err, ErrSnapshotMismatch), "%s: %v", k.name, err)
				require.Equal(t, 0, tr.Keys())
				continue
			}
			// Accepted state must be usable and survive a round trip.
			require.LessOrEqual(t, tr.Keys(), 50)
			feed(k, tr, 0, 40)
			again := k.make(Options{MaxKeys: 50, MaxValuesPerKey: 50})
			require.NoError(t, again.Restore(bytes.NewReader(snapshot(t, tr))), k.name)
			require.Equal(t, tr.Keys(), again.Keys())
		}
	})
}
