package agent_test

import (
	"context"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/agent"
)

// TestAgentVerifiesServerTLS: over HTTPS the agent trusts only a server
// whose certificate chains to the CA it is given.
func TestAgentVerifiesServerTLS(t *testing.T) {
	s := newServer(t)
	ts := httptest.NewUnstartedServer(s.srv.Handler())
	ts.StartTLS()
	defer ts.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600))

	// Without the CA: refused, nothing enrolled.
	c, err := agent.NewClient(ts.URL, "", 5*time.Second)
	require.NoError(t, err)
	_, err = c.Enroll(context.Background(), agent.EnrollRequest{EnrollmentToken: s.enrollmentToken(), Name: "ws", EvidenceKey: "x"})
	require.ErrorContains(t, err, "certificate")

	cfg := agentConfig(s, t.TempDir())
	cfg.Server, cfg.ServerCAFile = ts.URL, ca
	a, stop := runAgent(t, cfg)
	require.Eventually(t, func() bool { return a.Credentials().AgentID != "" }, 10*time.Second, 10*time.Millisecond)
	stop()
}
