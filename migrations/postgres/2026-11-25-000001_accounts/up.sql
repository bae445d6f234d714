-- Accounts, their lifecycle audit trail, and the outbox of notifications owed to users.

CREATE TABLE users (
    id                  UUID PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    first_name          TEXT NOT NULL DEFAULT '',
    last_name           TEXT NOT NULL DEFAULT '',
    role                TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    is_active           BOOLEAN NOT NULL DEFAULT TRUE,
    deactivated_at      TIMESTAMPTZ,
    deactivated_by      UUID REFERENCES users (id) ON DELETE SET NULL,
    deactivation_reason TEXT,
    -- Bumped by every status change; access tokens carry the version they were issued for.
    token_version       INTEGER NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    CHECK (is_active = (deactivated_at IS NULL))
);

-- The last-active-admin guard counts these.
CREATE INDEX users_active_admins ON users (id) WHERE role = 'admin' AND is_active;

CREATE TABLE audit_events (
    id         UUID PRIMARY KEY, -- UUIDv7: ordering by id is ordering by time
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id   UUID REFERENCES users (id) ON DELETE SET NULL,
    action     TEXT NOT NULL CHECK (action IN ('deactivated', 'reactivated')),
    reason     TEXT,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX audit_events_by_user ON audit_events (user_id, id DESC);

CREATE TABLE outbox (
    id              UUID PRIMARY KEY, -- also the email's Message-ID
    action          TEXT NOT NULL CHECK (action IN ('deactivated', 'reactivated')),
    recipient       TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    reason          TEXT,
    occurred_at     TIMESTAMPTZ NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- When the entry is next due; a claim pushes it to the end of the claim's lease.
    next_attempt_at TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    failed_at       TIMESTAMPTZ,
    last_error      TEXT
);

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
