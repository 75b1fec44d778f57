package owner

import (
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
)

// noSuchUID is a numeric id that names no user on a test machine.
const noSuchUID = "3999999999"

func me(t *testing.T) *user.User {
	t.Helper()
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	require.NoError(t, err)
	return u
}

func TestUID(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(os.Getuid()), UID(fi))
}

func TestUsers(t *testing.T) {
	m := me(t)
	var u Users
	require.Equal(t, m.Username, u.Name(m.Uid))
	require.Equal(t, m.Uid, u.ID(m.Username))
	require.Equal(t, &event.User{ID: m.Uid, Name: m.Username}, u.User(m.Uid))
	require.Nil(t, u.User(""))
	require.Empty(t, u.Name(""))

	// Unknown users give empty answers, which are remembered too.
	require.Empty(t, u.Name(noSuchUID))
	require.Equal(t, &event.User{ID: noSuchUID}, u.User(noSuchUID))
	require.Empty(t, u.ID("no-such-user-vigil"))
	require.Contains(t, u.names, noSuchUID)
	require.Contains(t, u.ids, "no-such-user-vigil")
}

func TestUsersForgetWhenFull(t *testing.T) {
	u := Users{Max: 3}
	for i := range 4 {
		u.Name(strconv.Itoa(3999999990 + i))
	}
	require.Len(t, u.names, 4, "up to Max+1 answers are kept")
	u.Name(noSuchUID)
	require.Len(t, u.names, 1, "then all are forgotten before the next")
	require.Contains(t, u.names, noSuchUID)

	var d Users
	for i := range DefaultMaxUsers + 2 {
		d.Name(strconv.Itoa(3999990000 + i))
	}
	require.Len(t, d.names, 1, "the zero value forgets after DefaultMaxUsers")
}

func TestUsersConcurrent(t *testing.T) {
	m := me(t)
	var u Users
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				assert.Equal(t, m.Username, u.Name(m.Uid))
				assert.Equal(t, m.Uid, u.ID(m.Username))
			}
		})
	}
	wg.Wait()
}

func BenchmarkUsersName(b *testing.B) {
	uid := strconv.Itoa(os.Getuid())
	var u Users
	b.ReportAllocs()
	for b.Loop() {
		_ = u.Name(uid)
	}
}

func TestHomeGlobs(t *testing.T) {
	got := HomeGlobs()
	require.NotEmpty(t, got)
	for _, g := range got {
		_, err := filepath.Match(g, "")
		require.NoError(t, err, g)
	}
	if runtime.GOOS == "linux" {
		require.Equal(t, []string{"/home/*", "/root"}, got)
	}
}
