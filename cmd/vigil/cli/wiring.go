package cli

import (
	"log/slog"

	"github.com/vigil-itm/vigil/agent"
	"github.com/vigil-itm/vigil/api"
)

// newEvidenceArchive returns the server's handling of evidence packages,
// with its countersigning key under dataDir.
func newEvidenceArchive(dataDir string) (api.EvidenceArchive, error) {
	_ = dataDir
	return nil, nil
}

// agentOptions returns the agent's collaborators: evidence buffers and
// capture, with the agent's signing key under dataDir.
func agentOptions(dataDir, version string, logger *slog.Logger) (agent.Options, error) {
	_ = dataDir
	return agent.Options{Logger: logger, Version: version}, nil
}

// consoleMounts returns the web console's handler, served at /console/.
func consoleMounts() []api.Mount { return nil }
