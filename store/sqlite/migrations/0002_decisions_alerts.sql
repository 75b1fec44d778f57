-- Decisions, alerts with their triage history, and the evidence index.

-- decisions holds one row per recorded engine decision; body is the whole
-- decision as JSON, rule_ids a JSON array copied into decision_rules for
-- filtering.
CREATE TABLE decisions (
    rid             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    ts              INTEGER NOT NULL,
    event_id        TEXT    NOT NULL DEFAULT '',
    action          TEXT    NOT NULL DEFAULT '',
    user_name       TEXT    NOT NULL DEFAULT '',
    host_name       TEXT    NOT NULL DEFAULT '',
    bundle_name     TEXT    NOT NULL DEFAULT '',
    bundle_revision TEXT    NOT NULL DEFAULT '',
    alert           INTEGER NOT NULL DEFAULT 0,
    severity        TEXT    NOT NULL DEFAULT '',
    risk_score      REAL    NOT NULL DEFAULT 0,
    rule_ids        TEXT    NOT NULL DEFAULT '[]',
    body            BLOB
);
CREATE INDEX decisions_ts   ON decisions (ts);
CREATE INDEX decisions_user ON decisions (user_name, ts);
CREATE INDEX decisions_host ON decisions (host_name, ts);

CREATE TABLE decision_rules (
    rule_id      TEXT    NOT NULL,
    decision_rid INTEGER NOT NULL REFERENCES decisions (rid) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, decision_rid)
) WITHOUT ROWID;
CREATE INDEX decision_rules_decision ON decision_rules (decision_rid);

-- alerts holds one alert per alerting decision (decision_id is the dedupe
-- key) with a copy of the decision's summary, since decisions expire and
-- alerts do not.
CREATE TABLE alerts (
    rid             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    decision_id     TEXT    NOT NULL UNIQUE,
    ts              INTEGER NOT NULL,
    created         INTEGER NOT NULL,
    updated         INTEGER NOT NULL,
    event_id        TEXT    NOT NULL DEFAULT '',
    action          TEXT    NOT NULL DEFAULT '',
    user_name       TEXT    NOT NULL DEFAULT '',
    host_name       TEXT    NOT NULL DEFAULT '',
    severity        TEXT    NOT NULL DEFAULT '',
    risk_score      REAL    NOT NULL DEFAULT 0,
    rule_ids        TEXT    NOT NULL DEFAULT '[]',
    bundle_name     TEXT    NOT NULL DEFAULT '',
    bundle_revision TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'acknowledged', 'resolved', 'false-positive')),
    assignee        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX alerts_ts       ON alerts (ts);
CREATE INDEX alerts_status   ON alerts (status, ts);
CREATE INDEX alerts_user     ON alerts (user_name, ts);
CREATE INDEX alerts_host     ON alerts (host_name, ts);
CREATE INDEX alerts_severity ON alerts (severity, ts);

CREATE TABLE alert_rules (
    rule_id   TEXT    NOT NULL,
    alert_rid INTEGER NOT NULL REFERENCES alerts (rid) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, alert_rid)
) WITHOUT ROWID;
CREATE INDEX alert_rules_alert ON alert_rules (alert_rid);

-- alert_history records the creation and every change of an alert.
CREATE TABLE alert_history (
    rid         INTEGER PRIMARY KEY,
    alert_rid   INTEGER NOT NULL REFERENCES alerts (rid) ON DELETE CASCADE,
    ts          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    from_status TEXT    NOT NULL DEFAULT '',
    to_status   TEXT    NOT NULL,
    assignee    TEXT    NOT NULL DEFAULT '',
    comment     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX alert_history_alert ON alert_history (alert_rid, rid);

-- evidence indexes evidence packages kept outside the database. alert_id
-- is not a foreign key: evidence may arrive before its alert.
CREATE TABLE evidence (
    package_id  TEXT    PRIMARY KEY,
    alert_id    TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    created     INTEGER NOT NULL,
    verified    INTEGER NOT NULL DEFAULT 0,
    verified_at INTEGER
);
CREATE INDEX evidence_alert   ON evidence (alert_id, created);
CREATE INDEX evidence_created ON evidence (created);
