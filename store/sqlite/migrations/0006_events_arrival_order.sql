-- Events are stored in the order they arrive: a new event's rid is the
-- last one plus one. Clustering the table by event time (0001) made every
-- batch an agent sends, which spans its own stretch of time, land between
-- the rows of other agents' batches, so each commit rewrote pages all over
-- the table; appending touches only its end. Time order is now the ts
-- index, and the filter indexes carry ts so that each lists its key's
-- events in time order. Rows stored before keep their rids.
DROP INDEX events_user;
DROP INDEX events_host;
DROP INDEX events_action;
CREATE INDEX events_ts     ON events (ts);
CREATE INDEX events_user   ON events (user_name, ts);
CREATE INDEX events_host   ON events (host_name, ts);
CREATE INDEX events_action ON events (action, ts);
