-- Administration: policy bundles, the user directory, the audit log and
-- API tokens.

CREATE TABLE bundles (
    rid         INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    revision    TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    tarball     BLOB    NOT NULL,
    uploaded_by TEXT    NOT NULL DEFAULT '',
    uploaded_at INTEGER NOT NULL,
    UNIQUE (name, revision)
);

-- bundle_activations is the activation history; its last row names the
-- active bundle.
CREATE TABLE bundle_activations (
    rid          INTEGER PRIMARY KEY,
    bundle_rid   INTEGER NOT NULL REFERENCES bundles (rid),
    activated_by TEXT    NOT NULL DEFAULT '',
    activated_at INTEGER NOT NULL,
    reason       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX bundle_activations_bundle ON bundle_activations (bundle_rid);

CREATE TABLE users (
    id                TEXT    PRIMARY KEY,
    name              TEXT    NOT NULL UNIQUE,
    full_name         TEXT    NOT NULL DEFAULT '',
    email             TEXT    NOT NULL DEFAULT '',
    department        TEXT    NOT NULL DEFAULT '',
    manager           TEXT    NOT NULL DEFAULT '',
    groups_json       TEXT    NOT NULL DEFAULT '[]',
    employment_status TEXT    NOT NULL DEFAULT '',
    end_date          TEXT    NOT NULL DEFAULT '',
    contractor        INTEGER NOT NULL DEFAULT 0,
    updated           INTEGER NOT NULL
);
CREATE INDEX users_department ON users (department);

-- audit is append-only. AUTOINCREMENT keeps ids increasing even after
-- retention has removed the newest-numbered rows.
CREATE TABLE audit (
    rid        INTEGER PRIMARY KEY AUTOINCREMENT,
    ts         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL DEFAULT '',
    reason     TEXT    NOT NULL DEFAULT '',
    request_id TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_ts     ON audit (ts);
CREATE INDEX audit_actor  ON audit (actor, ts);
CREATE INDEX audit_target ON audit (target, ts);

-- audit_retention holds the one cutoff below which audit rows may be
-- deleted. Retention raises it, deletes, and lowers it again in one
-- transaction; at any other time no audit row can be deleted or changed.
CREATE TABLE audit_retention (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    cutoff INTEGER NOT NULL
);
INSERT INTO audit_retention (id, cutoff) VALUES (1, -9223372036854775808);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
WHEN old.ts >= (SELECT cutoff FROM audit_retention WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;

-- tokens stores the SHA-256 digest of each secret, never the secret.
CREATE TABLE tokens (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'analyst', 'auditor', 'agent')),
    kind       TEXT    NOT NULL CHECK (kind IN ('api', 'enrollment')),
    hash       BLOB    NOT NULL UNIQUE,
    created_by TEXT    NOT NULL DEFAULT '',
    created    INTEGER NOT NULL,
    expires    INTEGER,
    last_used  INTEGER,
    revoked    INTEGER,
    single_use INTEGER NOT NULL DEFAULT 0,
    used       INTEGER
);
