-- Ingest: events and the per-agent batch sequence that makes it idempotent.
-- Times are INTEGER nanoseconds since the Unix epoch (UTC).

-- agents holds, per agent, the seq of the last batch stored, so that a
-- resent batch is recognised as a duplicate.
CREATE TABLE agents (
    agent_id  TEXT    PRIMARY KEY,
    last_seq  INTEGER NOT NULL DEFAULT 0,
    last_seen INTEGER NOT NULL
) WITHOUT ROWID;

-- events holds every event once (id is event.id). body is the event as
-- written by event.Encode; the other columns are copies for filtering.
--
-- The table is clustered by event time: rid is the event's millisecond
-- shifted left by 20 bits plus a slot (see events.go), so time ranges,
-- paging and retention are rowid ranges, and the indexes below, which all
-- end in the rowid, list each user's, host's or action's events in time
-- order without a time column of their own.
CREATE TABLE events (
    rid       INTEGER PRIMARY KEY,
    id        TEXT    NOT NULL UNIQUE,
    ts        INTEGER NOT NULL,
    ingested  INTEGER NOT NULL,
    agent_id  TEXT    NOT NULL DEFAULT '',
    seq       INTEGER NOT NULL DEFAULT 0,
    action    TEXT    NOT NULL DEFAULT '',
    user_name TEXT    NOT NULL DEFAULT '',
    host_name TEXT    NOT NULL DEFAULT '',
    body      BLOB    NOT NULL
);
CREATE INDEX events_user   ON events (user_name);
CREATE INDEX events_host   ON events (host_name);
CREATE INDEX events_action ON events (action);
