-- Event bodies are stored compressed, up to 16 events a row (see
-- eventbodies.go): first is the rid of the chunk's first event, data a
-- 0x01 byte and an S2 block of the bodies of events first, first+1, …
-- Events stored from this version on have an empty body column; those
-- stored before keep their body in the row and are read as before.
CREATE TABLE event_bodies (
    first INTEGER PRIMARY KEY,
    data  BLOB    NOT NULL
);
