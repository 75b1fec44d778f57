-- agent_registry holds enrolled endpoint agents: who they are, the key their evidence is signed
-- with, and what they last reported.
CREATE TABLE agent_registry (
    id              TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL,
    host_id         TEXT    NOT NULL DEFAULT '',
    os              TEXT    NOT NULL DEFAULT '',
    evidence_key    TEXT    NOT NULL DEFAULT '',
    version         TEXT    NOT NULL DEFAULT '',
    bundle_name     TEXT    NOT NULL DEFAULT '',
    bundle_revision TEXT    NOT NULL DEFAULT '',
    sensors         TEXT    NOT NULL DEFAULT '{}',
    spool           TEXT    NOT NULL DEFAULT '{}',
    remote_addr     TEXT    NOT NULL DEFAULT '',
    enrolled        INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL
) STRICT;
CREATE INDEX agent_registry_last_seen ON agent_registry (last_seen);
