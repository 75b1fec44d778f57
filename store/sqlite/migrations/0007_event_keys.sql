-- The events table loses its four time-ordered indexes (ts, and user, host
-- and action each with ts): they were two thirds of what storing an event
-- cost. In their place, event_keys indexes events a batch at a time.
--
-- A block is the events one append stored: consecutive rids, first being
-- the lowest, which names the block. For each block, event_keys has one row
-- per key found in it (with at least 4 events, see event_key_entries):
-- kind 0 (value '') lists every event of the block, kind 1 a user.name,
-- kind 2 a host.name, kind 3 an event.action. entries
-- lists the key's events as a JSON array of [rid - first, ts] pairs in time
-- order (then rid order); min_ts and max_ts bound their times. An agent's batch of 500
-- events (one host, a few users, a dozen actions) writes some 30 rows here
-- instead of 2,000 index entries. A query reads the rows of its key that
-- overlap its time range, merges their entries from the end its order
-- starts at, and reads only the events of the page (see eventkeys.go).
CREATE TABLE event_keys (
    kind    INTEGER NOT NULL,
    value   TEXT    NOT NULL,
    max_ts  INTEGER NOT NULL,
    first   INTEGER NOT NULL,
    min_ts  INTEGER NOT NULL,
    entries TEXT    NOT NULL
);
-- Descending pages read a key's rows by their latest event, ascending ones
-- by their earliest; each index also holds the other bound, so rows outside
-- the time range are skipped without reading them. (The rows are large, so
-- they stay in a rowid table and the indexes hold only the keys.)
CREATE UNIQUE INDEX event_keys_max ON event_keys (kind, value, max_ts, first, min_ts);
CREATE INDEX event_keys_min ON event_keys (kind, value, min_ts, first, max_ts);
-- Retention finds a block's rows by its first rid.
CREATE INDEX event_keys_first ON event_keys (first);

-- A user, host or action with fewer than 4 events in a block has no row
-- there: its events are listed here, one row each, which costs less than a
-- row of event_keys for one or two events (batches that mix hundreds of
-- users and hosts, as imports and relays send, have many such keys).
CREATE TABLE event_key_entries (
    kind  INTEGER NOT NULL,
    value TEXT    NOT NULL,
    ts    INTEGER NOT NULL,
    rid   INTEGER NOT NULL,
    PRIMARY KEY (kind, value, ts, rid)
) WITHOUT ROWID;

-- Events stored before this migration become blocks of up to 512
-- consecutive rids.
WITH b AS MATERIALIZED (
    SELECT rid, ts, user_name, host_name, action,
           min(rid) OVER (PARTITION BY (rid - 1) / 512) AS first
    FROM events
), k AS MATERIALIZED (
    SELECT 0 AS kind, '' AS value, rid, ts, first FROM b
    UNION ALL SELECT 1, user_name, rid, ts, first FROM b WHERE user_name <> ''
    UNION ALL SELECT 2, host_name, rid, ts, first FROM b WHERE host_name <> ''
    UNION ALL SELECT 3, action, rid, ts, first FROM b WHERE action <> ''
)
INSERT INTO event_keys (kind, value, max_ts, first, min_ts, entries)
SELECT kind, value, max(ts), first, min(ts), json_group_array(json_array(rid - first, ts) ORDER BY ts, rid)
FROM k
GROUP BY kind, value, first;

DROP INDEX events_ts;
DROP INDEX events_user;
DROP INDEX events_host;
DROP INDEX events_action;
