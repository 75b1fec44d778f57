package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vigil-itm/vigil/store"
)

type agents struct{ db *DB }

var _ store.Agents = agents{}

const agentColumns = "id, name, host_id, os, evidence_key, version, bundle_name, bundle_revision, sensors, spool, remote_addr, enrolled, last_seen"

func scanAgent(sc interface{ Scan(...any) error }) (store.Agent, error) {
	var (
		a                  store.Agent
		sensors, spool     string
		enrolled, lastSeen int64
	)
	err := sc.Scan(&a.ID, &a.Name, &a.HostID, &a.OS, &a.EvidenceKey, &a.Version, &a.BundleName, &a.BundleRevision,
		&sensors, &spool, &a.RemoteAddr, &enrolled, &lastSeen)
	if err != nil {
		return a, err
	}
	a.Sensors, a.Spool = json.RawMessage(sensors), json.RawMessage(spool)
	a.Enrolled, a.LastSeen = fromNanos(enrolled), fromNanos(lastSeen)
	return a, nil
}

// rawObject returns the stored form of an optional JSON object.
func rawObject(what string, raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "{}", nil
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("%w: %s: want a JSON object: %w", store.ErrInvalid, what, err)
	}
	return string(raw), nil
}

// Add implements store.Agents.
func (s agents) Add(ctx context.Context, a store.Agent) error {
	switch {
	case a.ID == "":
		return fmt.Errorf("add agent: %w: no id", store.ErrInvalid)
	case a.Name == "":
		return fmt.Errorf("add agent %q: %w: no name", a.ID, store.ErrInvalid)
	}
	sensors, err := rawObject("sensors", a.Sensors)
	if err != nil {
		return fmt.Errorf("add agent %q: %w", a.ID, err)
	}
	spool, err := rawObject("spool", a.Spool)
	if err != nil {
		return fmt.Errorf("add agent %q: %w", a.ID, err)
	}
	now := s.db.now()
	if a.Enrolled.IsZero() {
		a.Enrolled = now
	}
	if a.LastSeen.IsZero() {
		a.LastSeen = a.Enrolled
	}
	err = s.db.write(ctx, 1, func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO agent_registry (`+agentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Name, a.HostID, a.OS, a.EvidenceKey, a.Version, a.BundleName, a.BundleRevision,
			sensors, spool, a.RemoteAddr, nanos(a.Enrolled), nanos(a.LastSeen))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("add agent %q: %w", a.ID, err)
	}
	return nil
}

// Heartbeat implements store.Agents.
func (s agents) Heartbeat(ctx context.Context, id string, h store.Heartbeat) error {
	sensors, err := rawObject("sensors", h.Sensors)
	if err != nil {
		return fmt.Errorf("agent %q heartbeat: %w", id, err)
	}
	spool, err := rawObject("spool", h.Spool)
	if err != nil {
		return fmt.Errorf("agent %q heartbeat: %w", id, err)
	}
	if h.Time.IsZero() {
		h.Time = s.db.now()
	}
	err = s.db.write(ctx, 1, func(tx *wtx) error {
		n, err := tx.execCount(`UPDATE agent_registry SET version = ?, bundle_name = ?, bundle_revision = ?, sensors = ?, spool = ?,
remote_addr = ?, last_seen = MAX(last_seen, ?) WHERE id = ?`,
			h.Version, h.BundleName, h.BundleRevision, sensors, spool, h.RemoteAddr, nanos(h.Time), id)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("agent %q heartbeat: %w", id, err)
	}
	return nil
}

// Get implements store.Agents.
func (s agents) Get(ctx context.Context, id string) (store.Agent, error) {
	a, err := scanAgent(s.db.queryRow(ctx, "SELECT "+agentColumns+" FROM agent_registry WHERE id = ?", id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return a, fmt.Errorf("get agent %q: %w", id, store.ErrNotFound)
	case err != nil:
		return a, fmt.Errorf("get agent %q: %w", id, s.db.readErr(err))
	}
	return a, nil
}

// List implements store.Agents.
func (s agents) List(ctx context.Context, limit int, cursor string) ([]store.Agent, string, error) {
	limit = store.PageLimit(limit)
	var w where
	if cursor != "" {
		after, err := parseStringCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list agents: %w", err)
		}
		w.add("id > ?", after)
	}
	rows, err := s.db.query(ctx, "SELECT "+agentColumns+" FROM agent_registry"+w.String()+" ORDER BY id LIMIT ?", append(w.args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list agents: %w", err)
	}
	defer func() { _ = rows.Close() }() // errors surface from rows.Err
	var out []store.Agent
	for rows.Next() {
		if len(out) == limit {
			return out, stringCursor(out[len(out)-1].ID), nil
		}
		a, err := scanAgent(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list agents: %w", classify(err))
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list agents: %w", s.db.readErr(err))
	}
	return out, "", nil
}
