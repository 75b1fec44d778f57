package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/store"
)

func TestAudit(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, path := openTest(t, Options{Now: clk.Now})
	au := db.Audit()

	var all []store.AuditEntry
	for i := range 30 {
		e, err := au.Append(ctx, store.AuditEntry{
			Actor: []string{"ann", "bob"}[i%2], Action: []string{"evidence.view", "alert.update", "bundle.activate"}[i%3],
			Target: fmt.Sprintf("a%d", i%4), Reason: "case 42", RequestID: fmt.Sprintf("req-%d", i),
		})
		require.NoError(t, err)
		require.Equal(t, clk.Now(), e.Time)
		if i > 0 {
			require.Greater(t, e.ID, all[i-1].ID)
		}
		all = append(all, e)
		clk.Add(time.Minute)
	}
	explicit, err := au.Append(ctx, store.AuditEntry{Time: clk.Now().Add(-time.Hour), Actor: "sys", Action: "import"})
	require.NoError(t, err)
	require.Equal(t, clk.Now().Add(-time.Hour), explicit.Time)
	_, err = au.Append(ctx, store.AuditEntry{Actor: "ann"})
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = au.Append(ctx, store.AuditEntry{Action: "x"})
	require.ErrorIs(t, err, store.ErrInvalid)

	list := func(f store.AuditFilter) []store.AuditEntry {
		var out []store.AuditEntry
		for {
			page, next, err := au.List(ctx, f)
			require.NoError(t, err)
			out = append(out, page...)
			if next == "" {
				return out
			}
			f.Cursor = next
		}
	}
	got := list(store.AuditFilter{Actor: "ann", Action: "evidence.view", Limit: 2})
	var want []store.AuditEntry
	for i := len(all) - 1; i >= 0; i-- {
		if i%2 == 0 && i%3 == 0 {
			want = append(want, all[i])
		}
	}
	require.Equal(t, want, got)
	require.Len(t, list(store.AuditFilter{Target: "a1"}), 8)
	t0 := all[0].Time
	require.Equal(t, []store.AuditEntry{all[12], all[11], all[10]}, list(store.AuditFilter{From: t0.Add(10 * time.Minute), To: t0.Add(13 * time.Minute)}))
	require.Len(t, list(store.AuditFilter{}), 31)

	// Below the interface: no UPDATE or DELETE gets through.
	raw := rawDB(t, path)
	for _, q := range []string{
		"UPDATE audit SET actor = 'mallory'",
		"UPDATE audit SET reason = '' WHERE rid = 1",
		"DELETE FROM audit",
		"DELETE FROM audit WHERE rid = 1",
	} {
		_, err := raw.Exec(q)
		require.Error(t, err, q)
		require.Contains(t, err.Error(), "append-only", q)
	}
	require.Len(t, list(store.AuditFilter{}), 31)
	annList := list(store.AuditFilter{Actor: "ann"})
	require.Equal(t, all[0], annList[len(annList)-1])
}

func TestTokens(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, path := openTest(t, Options{Now: clk.Now})
	tk := db.Tokens()

	admin, secret, err := tk.Create(ctx, store.NewToken{Name: "ops", Role: store.RoleAdmin, CreatedBy: "setup"})
	require.NoError(t, err)
	require.True(t, store.WellFormedTokenSecret(secret), secret)
	require.Equal(t, store.TokenAPI, admin.Kind)
	require.Equal(t, clk.Now(), admin.Created)

	got, err := tk.Authenticate(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, admin.ID, got.ID)
	require.Equal(t, clk.Now(), got.LastUsed)

	for name, s := range map[string]string{
		"empty":      "",
		"junk":       "hello",
		"other":      store.NewTokenSecret(),
		"one off":    secret[:len(secret)-1] + string(secret[len(secret)-1]^1),
		"prefix":     secret[:len(secret)-4],
		"hash as is": fmt.Sprintf("%x", store.HashTokenSecret(secret)),
	} {
		_, err := tk.Authenticate(ctx, s)
		require.ErrorIs(t, err, store.ErrUnauthorized, name)
	}

	clk.Add(time.Second)
	expiring, expSecret, err := tk.Create(ctx, store.NewToken{Name: "temp", Role: store.RoleAuditor, Expires: clk.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, err = tk.Authenticate(ctx, expSecret)
	require.NoError(t, err)
	clk.Add(time.Hour)
	_, err = tk.Authenticate(ctx, expSecret)
	require.ErrorIs(t, err, store.ErrUnauthorized, "expired")

	require.NoError(t, tk.Revoke(ctx, admin.ID))
	revokedAt := clk.Now()
	clk.Add(time.Minute)
	require.NoError(t, tk.Revoke(ctx, admin.ID), "revoking twice")
	_, err = tk.Authenticate(ctx, secret)
	require.ErrorIs(t, err, store.ErrUnauthorized, "revoked")
	require.ErrorIs(t, tk.Revoke(ctx, "nope"), store.ErrNotFound)
	got, err = tk.Get(ctx, admin.ID)
	require.NoError(t, err)
	require.Equal(t, revokedAt, got.Revoked)
	_, err = tk.Get(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := tk.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, expiring.ID, list[0].ID)

	for name, nt := range map[string]store.NewToken{
		"no name":                {Role: store.RoleAdmin},
		"bad role":               {Name: "x", Role: "root"},
		"bad kind":               {Name: "x", Role: store.RoleAgent, Kind: "session"},
		"enrollment not agent":   {Name: "x", Role: store.RoleAdmin, Kind: store.TokenEnrollment, SingleUse: true},
		"enrollment forever":     {Name: "x", Role: store.RoleAgent, Kind: store.TokenEnrollment},
		"single-use api":         {Name: "x", Role: store.RoleAgent, SingleUse: true},
		"expired at creation":    {Name: "x", Role: store.RoleAgent, Expires: clk.Now()},
		"enrollment in the past": {Name: "x", Role: store.RoleAgent, Kind: store.TokenEnrollment, Expires: clk.Now().Add(-time.Hour)},
	} {
		_, _, err := tk.Create(ctx, nt)
		require.ErrorIs(t, err, store.ErrInvalid, name)
	}

	// The plaintext of a secret is nowhere in the database files; its
	// digest is.
	require.NoError(t, db.Close())
	var files bytes.Buffer
	for _, suffix := range []string{"", "-wal", "-shm"} {
		data, err := os.ReadFile(path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		files.Write(data)
	}
	for _, s := range []string{secret, expSecret} {
		require.NotContains(t, files.String(), s)
		require.NotContains(t, files.String(), strings.TrimPrefix(s, store.TokenPrefix))
		h := store.HashTokenSecret(s)
		require.Contains(t, files.String(), string(h[:]))
	}
}

func TestEnrollment(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	tk := db.Tokens()

	once, onceSecret, err := tk.Create(ctx, store.NewToken{Name: "laptops", Role: store.RoleAgent, Kind: store.TokenEnrollment, SingleUse: true})
	require.NoError(t, err)
	_, err = tk.Authenticate(ctx, onceSecret)
	require.ErrorIs(t, err, store.ErrUnauthorized, "an enrollment token is no API token")

	agent, agentSecret, err := tk.Enroll(ctx, onceSecret, "ws-042")
	require.NoError(t, err)
	require.Equal(t, store.RoleAgent, agent.Role)
	require.Equal(t, store.TokenAPI, agent.Kind)
	require.Equal(t, "ws-042", agent.Name)
	require.Equal(t, "enrollment:"+once.ID, agent.CreatedBy)
	got, err := tk.Authenticate(ctx, agentSecret)
	require.NoError(t, err)
	require.Equal(t, agent.ID, got.ID)
	_, _, err = tk.Enroll(ctx, agentSecret, "x")
	require.ErrorIs(t, err, store.ErrUnauthorized, "an API token cannot enrol")

	_, _, err = tk.Enroll(ctx, onceSecret, "ws-043")
	require.ErrorIs(t, err, store.ErrUnauthorized, "single-use token used twice")
	used, err := tk.Get(ctx, once.ID)
	require.NoError(t, err)
	require.Equal(t, clk.Now(), used.Used)

	// Concurrent redemptions of one single-use token: one wins.
	_, race, err := tk.Create(ctx, store.NewToken{Name: "race", Role: store.RoleAgent, Kind: store.TokenEnrollment, SingleUse: true})
	require.NoError(t, err)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, _, err := tk.Enroll(ctx, race, fmt.Sprint("ws-", i))
			errs <- err
		}()
	}
	ok := 0
	for range 8 {
		if err := <-errs; err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, store.ErrUnauthorized)
		}
	}
	require.Equal(t, 1, ok)

	// An expiring enrollment token works until it expires.
	_, fleet, err := tk.Create(ctx, store.NewToken{Name: "fleet", Role: store.RoleAgent, Kind: store.TokenEnrollment, Expires: clk.Now().Add(24 * time.Hour)})
	require.NoError(t, err)
	for i := range 3 {
		_, _, err := tk.Enroll(ctx, fleet, fmt.Sprint("srv-", i))
		require.NoError(t, err)
	}
	clk.Add(24 * time.Hour)
	_, _, err = tk.Enroll(ctx, fleet, "srv-late")
	require.ErrorIs(t, err, store.ErrUnauthorized)

	_, _, err = tk.Enroll(ctx, store.NewTokenSecret(), "x")
	require.ErrorIs(t, err, store.ErrUnauthorized)
	_, _, err = tk.Enroll(ctx, fleet, "")
	require.ErrorIs(t, err, store.ErrInvalid)
}

// TestTokenLastUsed checks that authentication records the time of use
// without waiting for it, at most once a minute per token.
func TestTokenLastUsed(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	path := t.TempDir() + "/tokens.db"
	db, err := Open(ctx, path, Options{Now: clk.Now})
	require.NoError(t, err)
	tok, secret, err := db.Tokens().Create(ctx, store.NewToken{Name: "ci", Role: store.RoleAnalyst})
	require.NoError(t, err)
	_, err = db.Tokens().Authenticate(ctx, secret)
	require.NoError(t, err)
	first := clk.Now()
	require.Eventually(t, func() bool {
		got, err := db.Tokens().Get(ctx, tok.ID)
		return err == nil && got.LastUsed.Equal(first)
	}, 5*time.Second, time.Millisecond, "the time of use is written in the background")
	clk.Add(30 * time.Second)
	got, err := db.Tokens().Authenticate(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, first, got.LastUsed, "within the minute: not written again")
	clk.Add(time.Minute)
	_, err = db.Tokens().Authenticate(ctx, secret)
	require.NoError(t, err)
	require.NoError(t, db.Close()) // drains the queued write

	db = openAt(t, path, Options{Now: clk.Now})
	got, err = db.Tokens().Get(ctx, tok.ID)
	require.NoError(t, err)
	require.Equal(t, clk.Now(), got.LastUsed)
}
