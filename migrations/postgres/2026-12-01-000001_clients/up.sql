-- Machine clients: other services (token introspection, SCIM provisioning) authenticate as a
-- client, not as a user. A client's bearer token is shown once and stored only as its SHA-256.
-- A revoked client keeps its row, so audit events that name it keep their actor.
CREATE TABLE clients (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    -- Comma-separated scope names, as the domain writes them (e.g. "introspect,scim").
    scopes     TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- One live client per name; a revoked client's name may be given again.
CREATE UNIQUE INDEX clients_live_name ON clients (name) WHERE revoked_at IS NULL;

-- A change made by a client records the client (actor_id stays for user actors only).
ALTER TABLE audit_events ADD COLUMN actor_client_id UUID REFERENCES clients (id);
