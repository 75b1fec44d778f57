package x11

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/internal/xvfb"
)

// startAuthXvfb starts an Xvfb that only admits clients with cookie, and
// returns its display. (internal/xvfb starts servers without access
// control.)
func startAuthXvfb(t *testing.T, cookie []byte) string {
	t.Helper()
	xvfb.NeedCommand(t, "Xvfb", "xvfb")
	dir := t.TempDir()
	serverAuth := filepath.Join(dir, "server.auth")
	require.NoError(t, os.WriteFile(serverAuth, xauthEntry(familyWild, "", "", "MIT-MAGIC-COOKIE-1", cookie), 0o600))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-auth", serverAuth, "-nolisten", "tcp", "-noreset", "-screen", "0", "320x240x24")
	cmd.ExtraFiles = []*os.File{w}
	require.NoError(t, cmd.Start())
	_ = w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		defer r.Close()
		s := bufio.NewScanner(r)
		s.Scan()
		lines <- s.Text()
	}()
	select {
	case n := <-lines:
		require.NotEmpty(t, strings.TrimSpace(n), "Xvfb reported no display")
		return ":" + strings.TrimSpace(n)
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not start")
	}
	return ""
}

func TestDialRawWithCookie(t *testing.T) {
	cookie := []byte("0123456789abcdef")
	display := startAuthXvfb(t, cookie)
	d, err := ParseDisplay(display)
	require.NoError(t, err)
	host, err := os.Hostname()
	require.NoError(t, err)
	dir := t.TempDir()

	right := filepath.Join(dir, "right")
	require.NoError(t, os.WriteFile(right, xauthEntry(familyLocal, host, d.Number, "MIT-MAGIC-COOKIE-1", cookie), 0o600))
	wrong := filepath.Join(dir, "wrong")
	require.NoError(t, os.WriteFile(wrong, xauthEntry(familyLocal, host, d.Number, "MIT-MAGIC-COOKIE-1", []byte("fedcba9876543210")), 0o600))

	cases := []struct {
		name, file string
		ok         bool
	}{
		{"right cookie", right, true},
		{"wrong cookie", wrong, false},
		{"no cookie", filepath.Join(dir, "missing"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XAUTHORITY", tc.file)
			c, err := DialRaw(d, 10*time.Second)
			if !tc.ok {
				require.ErrorContains(t, err, "refused the connection")
				return
			}
			require.NoError(t, err)
			require.NoError(t, c.Close())
			// The xgb connection reads the same file.
			xc, err := Open(display)
			require.NoError(t, err)
			defer xc.Close()
			_, err = xc.Extension(ExtXFixes)
			require.NoError(t, err)
		})
	}
}
