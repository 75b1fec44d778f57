package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/store"
	"github.com/vigil-itm/vigil/store/sqlite"
)

// TestMain lets the test binary act as the vigil command, so that fleet
// tests run `vigil server` and `vigil agent` as real processes and kill
// them for real.
func TestMain(m *testing.M) {
	if os.Getenv("VIGIL_TEST_AS_VIGIL") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// proc is a vigil process started by a test.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{} // closed when the process has exited
	err  error         // what Wait returned, once done is closed
}

func startVigil(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(os.Args[0], args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "VIGIL_TEST_AS_VIGIL=1")
	r, w := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = w, w
	require.NoError(t, p.cmd.Start())
	go func() {
		s := bufio.NewScanner(r)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		for s.Scan() {
			p.mu.Lock()
			p.out.WriteString(s.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	go func() {
		p.err = p.cmd.Wait()
		_ = w.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// kill sends SIGKILL (no drain, no clean shutdown) and waits for the end.
func (p *proc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("did not stop on SIGTERM:\n%s", p.output())
	}
	require.NoError(t, p.err, p.output())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// TestFleetServerKilledMidBurst runs `vigil server` and `vigil agent` as
// processes: the agent enrolls with a one-time token, pulls the bundle and
// forwards what its cloud-sync sensor sees; the server is killed (SIGKILL)
// in the middle of a burst of files and started again, then the agent is
// killed with a full spool and again mid-upload, and every event arrives
// exactly once.
func TestFleetServerKilledMidBurst(t *testing.T) {
	dir := t.TempDir()
	serverDir := filepath.Join(dir, "server")
	addr := freeAddr(t)
	serverCfg := filepath.Join(dir, "server.yml")
	require.NoError(t, os.WriteFile(serverCfg, fmt.Appendf(nil, "data_dir: %s\napi:\n  listen_addr: %s\n", serverDir, addr), 0o600))

	// Tokens made in the server's store before it starts: an enrollment
	// token for the agent, an admin token for the test.
	ctx := context.Background()
	require.NoError(t, os.MkdirAll(serverDir, 0o700))
	db, err := sqlite.Open(ctx, filepath.Join(serverDir, "vigil.db"), sqlite.Options{})
	require.NoError(t, err)
	_, enroll, err := db.Tokens().Create(ctx, store.NewToken{Name: "enroll", Role: store.RoleAgent, Kind: store.TokenEnrollment, SingleUse: true})
	require.NoError(t, err)
	_, admin, err := db.Tokens().Create(ctx, store.NewToken{Name: "test", Role: store.RoleAdmin})
	require.NoError(t, err)
	require.NoError(t, db.Close())

	server := startVigil(t, "server", "--config", serverCfg)
	base := "http://" + addr
	get := func(path string, v any) int {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		defer func() { _ = resp.Body.Close() }()
		if v != nil {
			_ = json.NewDecoder(resp.Body).Decode(v)
		}
		return resp.StatusCode
	}
	require.Eventually(t, func() bool { return get("/readyz", nil) == http.StatusOK }, 30*time.Second, 50*time.Millisecond, server.output())

	// The agent watches one cloud-sync folder.
	sync := filepath.Join(dir, "home", "Dropbox")
	require.NoError(t, os.MkdirAll(sync, 0o700))
	agentCfg := filepath.Join(dir, "agent.yml")
	require.NoError(t, os.WriteFile(agentCfg, fmt.Appendf(nil, `server: %s
enroll_token: %s
data_dir: %s
flush_interval: 50ms
heartbeat_interval: 200ms
retry_min: 50ms
retry_max: 500ms
only_sensors: [cloudsync]
sensors:
  cloudsync:
    homes: []
    default_folders: false
    settle: 100ms
    folders: [{path: %s, provider: dropbox}]
`, base, enroll, filepath.Join(dir, "agent"), sync), 0o600))
	agent := startVigil(t, "agent", "--config", agentCfg)

	type agentList struct {
		Agents []struct {
			Name           string          `json:"name"`
			BundleRevision string          `json:"bundle_revision"`
			Sensors        json.RawMessage `json:"sensors"`
		} `json:"agents"`
	}
	require.Eventually(t, func() bool {
		var l agentList
		return get("/api/v1/agents", &l) == http.StatusOK && len(l.Agents) == 1 && l.Agents[0].BundleRevision != "" &&
			strings.Contains(string(l.Agents[0].Sensors), `"cloudsync":{"state":"ok"`)
	}, 30*time.Second, 100*time.Millisecond, agent.output())

	countCloud := func() int {
		n, cursor := 0, ""
		for {
			var page struct {
				Events []json.RawMessage `json:"events"`
				Next   string            `json:"next"`
			}
			if get("/api/v1/events?action=file-copied-to-cloud-sync&limit=1000&cursor="+cursor, &page) != http.StatusOK {
				return -1
			}
			n += len(page.Events)
			if page.Next == "" {
				return n
			}
			cursor = page.Next
		}
	}

	const burst = 300
	for i := range burst {
		require.NoError(t, os.WriteFile(filepath.Join(sync, fmt.Sprintf("report-%03d.txt", i)), []byte(strings.Repeat("x", i+1)), 0o600))
		if i == burst/3 {
			require.Eventually(t, func() bool { return countCloud() > 0 }, 30*time.Second, 20*time.Millisecond, agent.output())
			server.kill()
		}
	}
	time.Sleep(300 * time.Millisecond) // the files settle and are spooled while the server is dead
	server = startVigil(t, "server", "--config", serverCfg)
	require.Eventually(t, func() bool { return countCloud() == burst }, 60*time.Second, 100*time.Millisecond,
		"server:\n%s\nagent:\n%s", server.output(), agent.output())

	// The agent is killed with a full spool, while the server is down, and
	// again just after uploading resumed: what was spooled arrives once.
	server.kill()
	for i := range burst {
		require.NoError(t, os.WriteFile(filepath.Join(sync, fmt.Sprintf("second-%03d.txt", i)), []byte("y"), 0o600))
	}
	spool := filepath.Join(dir, "agent", "spool")
	require.Eventually(t, func() bool { return spooled(t, spool) == burst }, 30*time.Second, 50*time.Millisecond, agent.output())
	agent.kill()
	server = startVigil(t, "server", "--config", serverCfg)
	agent = startVigil(t, "agent", "--config", agentCfg)
	require.Eventually(t, func() bool { return countCloud() > burst }, 30*time.Second, 10*time.Millisecond, agent.output())
	agent.kill() // mid-upload
	agent = startVigil(t, "agent", "--config", agentCfg)
	require.Eventually(t, func() bool { return countCloud() == 2*burst }, 60*time.Second, 100*time.Millisecond,
		"server:\n%s\nagent:\n%s", server.output(), agent.output())

	// Nothing twice: still exactly that after the agent has drained.
	require.Eventually(t, func() bool { return strings.Contains(agent.output(), "Vigil agent for") }, 30*time.Second, 10*time.Millisecond)
	agent.stop(t)
	require.Equal(t, 2*burst, countCloud())
	server.stop(t)
}

// spooled counts the cloud-sync events waiting in an agent's spool.
func spooled(t *testing.T, dir string) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.batch.json"))
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // uploaded and removed meanwhile
		}
		var b struct {
			Events []struct {
				Event struct {
					Action string `json:"action"`
				} `json:"event"`
			} `json:"events"`
		}
		require.NoError(t, json.Unmarshal(data, &b))
		for _, e := range b.Events {
			if e.Event.Action == "file-copied-to-cloud-sync" {
				n++
			}
		}
	}
	return n
}
