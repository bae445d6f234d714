-- Safe retries: one row per Idempotency-Key, scoped to the acting account and the route
-- ("PATCH /api/v1/users/deactivate"). While the first request is in flight status_code and body
-- are NULL; once it answered they hold the answer as sent, replayed to retries for 24 h.
CREATE TABLE idempotency_keys (
    actor       TEXT NOT NULL,
    route       TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    -- SHA-256 of the request body, lower-case hex.
    fingerprint TEXT NOT NULL,
    reserved_at TIMESTAMPTZ NOT NULL,
    status_code INTEGER,
    body        TEXT,
    PRIMARY KEY (actor, route, idem_key)
);

-- The purge of expired keys.
CREATE INDEX idempotency_keys_reserved_at ON idempotency_keys (reserved_at);
