-- Background jobs (bulk deactivation) and their items, so a job survives a restart and no item
-- is carried out by two runners at once (items are claimed with a lease, like the outbox).
CREATE TABLE jobs (
    id             TEXT PRIMARY KEY NOT NULL,
    kind           TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    token_version  INTEGER NOT NULL,
    valid_until    TEXT NOT NULL,
    reason         TEXT,
    suspend_until  TEXT,
    total          INTEGER NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE TABLE job_items (
    job_id        TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    user_id       TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    leased_until  TEXT,
    status_code   INTEGER,
    message       TEXT,
    PRIMARY KEY (job_id, seq)
);
-- The runners' claim walks only unfinished items.
CREATE INDEX job_items_unfinished ON job_items (job_id, seq) WHERE status_code IS NULL;
