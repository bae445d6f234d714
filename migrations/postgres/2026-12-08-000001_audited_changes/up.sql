-- Privileged writes other than status changes are audited: registering and revoking machine
-- clients, creating, changing, rotating and deleting webhook endpoints, and provisioning
-- clients' profile updates. Each row is written in the transaction of the change itself, after
-- the actor's authority was re-checked there (its row locked FOR SHARE until commit).
-- GET /api/v1/events lists them with audit_events.
CREATE TABLE audited_changes (
    id         UUID PRIMARY KEY, -- UUIDv7: ordering by id is ordering by time
    action     TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    -- The acting account or client (no reference: a deleted account keeps its record).
    actor_id   UUID,
    actor_name TEXT NOT NULL,
    -- The account, client or webhook endpoint concerned (the action says which).
    target_id  UUID NOT NULL,
    -- profile_updated: the changed attributes' names (never their values).
    attributes TEXT[] NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX audited_changes_by_actor ON audited_changes (actor_id, id DESC);
CREATE INDEX audited_changes_by_target ON audited_changes (target_id, id DESC);

-- Who created a client or endpoint: the acting account (NULL for one created at the console,
-- or before this was recorded).
ALTER TABLE clients ADD COLUMN created_by UUID;
ALTER TABLE webhook_endpoints ADD COLUMN created_by UUID;
