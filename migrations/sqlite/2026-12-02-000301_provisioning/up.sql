-- What provisioning clients (SCIM identity providers) keep beside an account, keyed by the
-- account: the provider's own identifier for it, and when a provider removed it from its view
-- (the account stays, deactivated, with its audit trail). An account without a row has neither.
CREATE TABLE provisioning (
    user_id     TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    external_id TEXT,
    removed_at  TEXT
);

-- SCIM's `externalId eq "..."` filter.
CREATE INDEX provisioning_external_id ON provisioning (external_id)
    WHERE external_id IS NOT NULL;
