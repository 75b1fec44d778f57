package api

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vigil-itm/vigil/store"
)

// enrollRequest is the body of POST /api/v1/agents/enroll.
type enrollRequest struct {
	// EnrollmentToken is the secret of an enrollment token made with
	// `vigil token create --kind enrollment` (or POST /api/v1/tokens).
	EnrollmentToken string `json:"enrollment_token" api:"required"`
	// Name is the endpoint's host name; it names the agent's token too.
	Name   string `json:"name" api:"required"`
	HostID string `json:"host_id,omitempty"`
	OS     string `json:"os,omitempty"`
	// Version is the agent's Vigil version.
	Version string `json:"version,omitempty"`
	// EvidenceKey is the agent's Ed25519 public key (32 bytes, standard
	// base64) that its evidence packages are signed with.
	EvidenceKey string `json:"evidence_key" api:"required"`
}

// enrollResponse is the answer to an enrollment: the agent's credential.
type enrollResponse struct {
	// AgentID is the agent's id, also the id of its token.
	AgentID string `json:"agent_id"`
	// Token is the agent's API token secret; it is shown only here.
	Token string `json:"token"`
	// ServerEvidenceKey is the server's Ed25519 public key (standard
	// base64) that countersigns evidence on receipt; empty when the server
	// has none.
	ServerEvidenceKey string `json:"server_evidence_key"`
	// ServerSealKey is the server's X25519 public key (standard base64)
	// that the agent seals evidence packages to before they wait in its
	// spool; empty when the server has none.
	ServerSealKey string `json:"server_seal_key,omitempty"`
}

// heartbeatRequest is the body of POST /api/v1/agents/heartbeat.
type heartbeatRequest struct {
	Version        string `json:"version,omitempty"`
	BundleName     string `json:"bundle_name,omitempty"`
	BundleRevision string `json:"bundle_revision,omitempty"`
	// Sensors is the health of each sensor, by name.
	Sensors json.RawMessage `json:"sensors,omitempty"`
	// Spool describes the agent's upload queue (bytes, files, dropped).
	Spool json.RawMessage `json:"spool,omitempty"`
}

// heartbeatResponse answers a heartbeat.
type heartbeatResponse struct {
	// Time is the server's clock, so agents can tell their skew.
	Time time.Time `json:"time"`
	// LastSeq is the agent's last acknowledged event batch seq.
	LastSeq int64 `json:"last_seq"`
	// BundleETag is the ETag of the active bundle ("" when none), so an
	// agent knows without a request whether its copy is current.
	BundleETag string `json:"bundle_etag"`
	// EvidenceSealKey is the server's current seal key (see
	// enrollResponse.ServerSealKey), so agents enrolled before it existed
	// or changed learn it.
	EvidenceSealKey string `json:"evidence_seal_key,omitempty"`
}

// agentList is a page of agents.
type agentList struct {
	Agents []store.Agent `json:"agents"`
	Next   string        `json:"next,omitempty"`
}

// maxAgentNameLen bounds host names given at enrollment.
const maxAgentNameLen = 253

// enrollAgent serves POST /api/v1/agents/enroll: it redeems an enrollment
// token for the agent's own API token and records the agent.
func (s *Server) enrollAgent(c *gin.Context) (any, error) {
	data, err := readBody(c, s.cfg.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	var req enrollRequest
	if err := decodeJSON(data, &req, false); err != nil {
		return nil, err
	}
	req.Name = strings.TrimSpace(req.Name)
	switch {
	case req.EnrollmentToken == "":
		return nil, errorf(CodeInvalidBody, "enrollment_token: required")
	case req.Name == "" || len(req.Name) > maxAgentNameLen || strings.ContainsAny(req.Name, "\x00\r\n"):
		return nil, errorf(CodeInvalidBody, "name: want the host name, 1 to %d characters on one line", maxAgentNameLen)
	}
	key, err := base64.StdEncoding.DecodeString(req.EvidenceKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return nil, errorf(CodeInvalidBody, "evidence_key: want a %d-byte Ed25519 public key in standard base64", ed25519.PublicKeySize)
	}
	if !store.WellFormedTokenSecret(req.EnrollmentToken) {
		return nil, errorf(CodeUnauthenticated, "invalid enrollment token")
	}
	ctx := c.Request.Context()
	tok, secret, err := s.deps.Tokens.Enroll(ctx, req.EnrollmentToken, req.Name)
	if errors.Is(err, store.ErrUnauthorized) {
		return nil, &apiError{code: CodeUnauthenticated, msg: "invalid enrollment token (unknown, expired, revoked or used)", err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("enroll agent %q: %w", req.Name, err)
	}
	err = s.deps.Agents.Add(ctx, store.Agent{
		ID: tok.ID, Name: req.Name, HostID: req.HostID, OS: req.OS, Version: req.Version,
		EvidenceKey: req.EvidenceKey, RemoteAddr: c.ClientIP(), Enrolled: s.now().UTC(),
	})
	if err != nil {
		return nil, fmt.Errorf("enroll agent %q: %w", req.Name, err)
	}
	if _, err := s.deps.Audit.Append(ctx, store.AuditEntry{
		Time: s.now().UTC(), Actor: req.Name, Action: "agent.enroll", Target: tok.ID, RequestID: requestIDOf(c),
	}); err != nil {
		return nil, fmt.Errorf("audit agent.enroll %s: %w", tok.ID, err)
	}
	s.log.Info("agent enrolled", "agent_id", tok.ID, "name", req.Name, "remote_addr", c.ClientIP())
	resp := enrollResponse{AgentID: tok.ID, Token: secret}
	if s.deps.EvidenceArchive != nil {
		resp.ServerEvidenceKey = base64.StdEncoding.EncodeToString(s.deps.EvidenceArchive.ServerKey())
		resp.ServerSealKey = s.deps.EvidenceArchive.SealKey()
	}
	return reply{status: http.StatusCreated, body: resp}, nil
}

// agentHeartbeat serves POST /api/v1/agents/heartbeat.
func (s *Server) agentHeartbeat(c *gin.Context) (any, error) {
	data, err := readBody(c, s.cfg.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	var req heartbeatRequest
	if err := decodeJSON(data, &req, true); err != nil {
		return nil, err
	}
	tok, _ := tokenOf(c)
	if tok.Role != store.RoleAgent {
		return nil, errorf(CodeForbidden, "only an agent token sends heartbeats")
	}
	ctx := c.Request.Context()
	now := s.now().UTC()
	err = s.deps.Agents.Heartbeat(ctx, tok.ID, store.Heartbeat{
		Version: req.Version, BundleName: req.BundleName, BundleRevision: req.BundleRevision,
		Sensors: req.Sensors, Spool: req.Spool, RemoteAddr: c.ClientIP(), Time: now,
	})
	if errors.Is(err, store.ErrNotFound) {
		// An agent token made by hand, without enrollment: register it so it
		// shows in the agents list.
		err = s.deps.Agents.Add(ctx, store.Agent{ID: tok.ID, Name: tok.Name, Version: req.Version,
			BundleName: req.BundleName, BundleRevision: req.BundleRevision, Sensors: req.Sensors, Spool: req.Spool,
			RemoteAddr: c.ClientIP(), Enrolled: now})
	}
	if err != nil {
		return nil, err
	}
	last, err := s.deps.Events.LastSeq(ctx, tok.ID)
	if err != nil {
		return nil, err
	}
	resp := heartbeatResponse{Time: now, LastSeq: last}
	if s.deps.EvidenceArchive != nil {
		resp.EvidenceSealKey = s.deps.EvidenceArchive.SealKey()
	}
	if rev, err := s.deps.Bundles.Active(ctx); err == nil {
		resp.BundleETag = rev.ETag()
	}
	return resp, nil
}

func (s *Server) listAgents(c *gin.Context) (any, error) {
	q := queryParams{c: c}
	limit, cursor := q.int("limit", 0, 1, maxLimit), q.str("cursor")
	if q.err != nil {
		return nil, q.err
	}
	agents, next, err := s.deps.Agents.List(c.Request.Context(), limit, cursor)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	if agents == nil {
		agents = []store.Agent{}
	}
	return agentList{Agents: agents, Next: next}, nil
}

func (s *Server) getAgent(c *gin.Context) (any, error) {
	return s.deps.Agents.Get(c.Request.Context(), c.Param("id"))
}

// agentDirectory serves GET /api/v1/agents/directory: the user context
// agents enrich events with before their own engine evaluates them, with
// an ETag so that an agent downloads it only when it changed.
func (s *Server) agentDirectory(c *gin.Context) (any, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	data := d.BundleData()
	// The ETag covers the contents, not the time the document was made.
	stable := make(map[string]any, len(data))
	for k, v := range data {
		if k != "generated" && k != "valid_until" {
			stable[k] = v
		}
	}
	raw, err := json.Marshal(stable)
	if err != nil {
		return nil, fmt.Errorf("directory for agents: %w", err)
	}
	sum := sha256.Sum256(raw)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	c.Header("ETag", etag)
	c.Header("Cache-Control", "no-cache")
	if etagMatches(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		c.Writer.WriteHeaderNow()
		return nil, nil
	}
	return data, nil
}
