-- Signed webhooks (Standard Webhooks v1): the endpoints admins register, and the deliveries
-- every committed status change owes them, written in the change's own statement.
CREATE TABLE webhook_endpoints (
    id                  UUID PRIMARY KEY,
    url                 TEXT NOT NULL,
    description         TEXT,
    -- The subscribed event types; NULL: every type, those added later included.
    events              TEXT[],
    enabled             BOOLEAN NOT NULL DEFAULT TRUE,
    -- whsec_ + base64 of the signing key; the previous one signs too until previous_until.
    secret              TEXT NOT NULL,
    previous_secret     TEXT,
    previous_until      TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL
);

-- One event owed to one endpoint. The event is the change's audit event (its actor, reason
-- and time); the user's email is kept as it was when the change committed.
CREATE TABLE webhook_deliveries (
    id               UUID PRIMARY KEY,
    endpoint_id      UUID NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- The audit event's id (audit_events.id): the webhook-id, the same on every attempt.
    event_id         UUID NOT NULL,
    event_type       TEXT NOT NULL,
    email            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- When it is next due; a claim pushes it to the end of the claim's lease.
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    leased_until     TIMESTAMPTZ,
    last_status_code INTEGER,
    last_error       TEXT,
    delivered_at     TIMESTAMPTZ,
    failed_at        TIMESTAMPTZ,
    UNIQUE (endpoint_id, event_id)
);

-- Claims look only at what is still owed.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (next_attempt_at, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;

-- The worker deletes deliveries delivered longer ago than the retention period.
CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries (delivered_at)
    WHERE delivered_at IS NOT NULL;
