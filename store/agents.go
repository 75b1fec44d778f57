package store

import (
	"context"
	"encoding/json"
	"time"
)

// Agent is one enrolled endpoint agent. Its ID is the ID of the agent API
// token it received at enrollment, so that a request's token names its agent.
type Agent struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// HostID is the endpoint's stable host id (host.id), when it has one.
	HostID string `json:"host_id,omitempty"`
	OS     string `json:"os,omitempty"`
	// EvidenceKey is the agent's Ed25519 public key (base64, standard
	// encoding) that its evidence packages are signed with.
	EvidenceKey    string `json:"evidence_key,omitempty"`
	Version        string `json:"version,omitempty"`
	BundleName     string `json:"bundle_name,omitempty"`
	BundleRevision string `json:"bundle_revision,omitempty"`
	// Sensors is the agent's last sensor health report, by sensor name.
	Sensors json.RawMessage `json:"sensors,omitempty" swaggertype:"object"`
	// Spool is the agent's last report on its upload queue.
	Spool      json.RawMessage `json:"spool,omitempty" swaggertype:"object"`
	RemoteAddr string          `json:"remote_addr,omitempty"`
	Enrolled   time.Time       `json:"enrolled"`
	LastSeen   time.Time       `json:"last_seen"`
}

// Heartbeat is what an agent reports about itself periodically.
type Heartbeat struct {
	Version        string
	BundleName     string
	BundleRevision string
	Sensors        json.RawMessage
	Spool          json.RawMessage
	RemoteAddr     string
	// Time is when the server received it.
	Time time.Time
}

// Agents records enrolled agents and what they last reported.
//
// Add records a newly enrolled agent (ID and Name required, else
// ErrInvalid; an ID already stored is ErrConflict). Heartbeat records a
// report and the time it was received, or ErrNotFound for an unknown agent.
// Get returns one agent, or ErrNotFound. List returns agents ordered by
// id, which is enrollment order, one page at a time.
//
// All methods are safe for concurrent use.
type Agents interface {
	Add(ctx context.Context, a Agent) error
	Heartbeat(ctx context.Context, id string, h Heartbeat) error
	Get(ctx context.Context, id string) (Agent, error)
	List(ctx context.Context, limit int, cursor string) (agents []Agent, next string, err error)
}
