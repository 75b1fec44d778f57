// Package xvfb starts a private Xvfb X server for tests that need a real
// screen, keyboard and clipboard. It is used only from tests.
package xvfb

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-itm/vigil/internal/syncbuf"
)

// logs holds the *syncbuf.Buffer of each running Xvfb by display name.
var logs sync.Map

// Log returns what the Xvfb of display (as Start returned it) has written
// to its standard error so far, such as "EQ overflowing" when it discarded
// input events: tests name it when they fail.
func Log(display string) string {
	if l, ok := logs.Load(display); ok {
		return l.(*syncbuf.Buffer).String() //nolint:errcheck // only *syncbuf.Buffer values are stored
	}
	return ""
}

// Required reports whether tests must fail, rather than skip, when a real
// component they need is missing. scripts/test sets VIGIL_TEST_REAL=1 after
// installing everything, so CI never skips silently.
func Required() bool { return os.Getenv("VIGIL_TEST_REAL") == "1" }

// NeedCommand fails the test (or skips it outside scripts/test) when cmd is
// not on PATH, naming the Debian package to install.
func NeedCommand(t testing.TB, cmd, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(cmd); err != nil {
		if Required() {
			t.Fatalf("%s not found (Debian package %s); scripts/test installs it", cmd, pkg)
		}
		t.Skipf("%s not found: install the Debian package %s, or run scripts/test", cmd, pkg)
	}
}

// Start starts Xvfb on a free display with one screen of the given size and
// depth 24, sets DISPLAY for the test (t.Setenv) and returns the display
// name, such as ":99". The server is stopped when the test ends.
func Start(t testing.TB, width, height int) string {
	t.Helper()
	NeedCommand(t, "Xvfb", "xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", width, height),
		"-nolisten", "tcp", "-noreset", "+extension", "RECORD", "+extension", "XFIXES", "+extension", "MIT-SHM")
	cmd.ExtraFiles = []*os.File{w}
	stderr := &syncbuf.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	_ = w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		defer func() { _ = r.Close() }()
		s := bufio.NewScanner(r)
		if s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	select {
	case n, ok := <-lines:
		if !ok || strings.TrimSpace(n) == "" {
			t.Fatalf("Xvfb did not report a display: %s", stderr.String())
		}
		display := ":" + strings.TrimSpace(n)
		t.Setenv("DISPLAY", display)
		logs.Store(display, stderr)
		t.Cleanup(func() { logs.Delete(display) })
		return display
	case <-time.After(20 * time.Second):
		t.Fatalf("Xvfb did not start within 20s: %s", stderr.String())
	}
	return ""
}
