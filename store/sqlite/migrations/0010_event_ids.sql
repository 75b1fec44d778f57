-- An event no longer has an events row (see eventbodies.go): its chunk
-- holds its id, user, host, action and body, and the time of ingest, and
-- event_ids holds its id → rid entry, which makes Append idempotent by
-- event id. The events row cost the writer a row in one B-tree and an
-- entry in the index of its id; event_ids is one entry in one B-tree.
--
-- Rids are counted in event_rid, whose one row is the next rid to give:
-- since no row of events is written any more, SQLite no longer numbers
-- them. A rid is never given twice.
--
-- Events stored before keep their row (an empty body when their body is
-- in a chunk of format 1) and are read as before; their ids are copied to
-- event_ids, so that a retried batch of old events is still recognised.
CREATE TABLE event_ids (
    id  TEXT    PRIMARY KEY,
    rid INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO event_ids (id, rid) SELECT id, rid FROM events ORDER BY id;

CREATE TABLE event_rid (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    next INTEGER NOT NULL
);
INSERT INTO event_rid (id, next) SELECT 1, coalesce(max(rid), 0) + 1 FROM events;
