-- event_keys.entries is written in a binary format from this version on:
-- a 0x01 byte, then 12 bytes per entry (rid - first as a little-endian
-- uint32, ts as a little-endian int64), a third of the JSON array's size
-- (see eventkeys.go). Rows in the JSON format stay as they are and are
-- read as before. Nothing changes in the schema: this version is here so
-- that a Vigil that reads only the JSON format refuses the database
-- (schema too new) instead of finding its rows malformed.
SELECT 1;
