-- The identity directory's own documents: what each source (SCIM, LDAP,
-- HR feed) says about people and groups, SCIM resources as provisioned,
-- watchlists and sync cursors. One JSON document per (kind, id); the
-- directory merges them in memory.
CREATE TABLE identity_docs (
    kind    TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    doc     TEXT    NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT, WITHOUT ROWID;
