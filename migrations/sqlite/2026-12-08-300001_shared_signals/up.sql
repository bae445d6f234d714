-- Shared Signals (SSF 1.0): the streams receivers (machine clients) configure, and the SETs
-- every committed status change owes them, written in the change's own statement.
CREATE TABLE ssf_streams (
    id                   TEXT PRIMARY KEY,
    client_id            TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    -- The SETs' aud.
    audience             TEXT NOT NULL,
    -- urn:ietf:rfc:8935 (push) or urn:ietf:rfc:8936 (poll).
    delivery_method      TEXT NOT NULL,
    -- Push only: where SETs go, and the Authorization header sent with them.
    endpoint_url         TEXT,
    authorization_header TEXT,
    -- The event type URIs the receiver asked for, and those the stream carries, one a line.
    events_requested     TEXT NOT NULL,
    events_delivered     TEXT NOT NULL,
    -- enabled, paused or disabled.
    status               TEXT NOT NULL,
    status_reason        TEXT,
    description          TEXT,
    created_at           TEXT NOT NULL
);

CREATE INDEX ssf_streams_client ON ssf_streams (client_id, created_at);

-- One SET owed to one stream, in order (seq). Its claims are made from these columns when it
-- is sent, the same each time (iat is the change's time): a retry or a second poll repeats it.
CREATE TABLE ssf_events (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    jti              TEXT NOT NULL UNIQUE,
    stream_id        TEXT NOT NULL REFERENCES ssf_streams (id) ON DELETE CASCADE,
    -- The status change's audit event id, shared by the SETs of one change.
    txn              TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    subject          TEXT,
    occurred_at      TEXT NOT NULL,
    actor_kind       TEXT,
    reason           TEXT,
    -- A verification event's state.
    state            TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    -- Delivered: pushed (202) or acknowledged by a poll. Failed: refused for good.
    delivered_at     TEXT,
    failed_at        TEXT
);

CREATE INDEX ssf_events_owed ON ssf_events (stream_id, seq)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
