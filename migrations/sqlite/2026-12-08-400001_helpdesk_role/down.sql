-- Back to two roles; fails while a helpdesk account exists.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt as
-- https://www.sqlite.org/lang_altertable.html#otheralter says: outside diesel's transaction
-- (metadata.toml), with foreign keys off while the old table goes, in a transaction of its own.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE users_rebuilt (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    first_name          TEXT NOT NULL DEFAULT '',
    last_name           TEXT NOT NULL DEFAULT '',
    role                TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    is_active           BOOLEAN NOT NULL DEFAULT 1,
    deactivated_at      TEXT,
    deactivated_by      TEXT REFERENCES users (id) ON DELETE SET NULL,
    deactivation_reason TEXT,
    -- Bumped by every status or role change; access tokens carry the version they were issued for.
    token_version       INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    deactivated_until   TEXT,
    CHECK (is_active = (deactivated_at IS NULL))
);
INSERT INTO users_rebuilt (id, email, password_hash, first_name, last_name, role, is_active,
                           deactivated_at, deactivated_by, deactivation_reason, token_version,
                           created_at, updated_at, deactivated_until)
SELECT id, email, password_hash, first_name, last_name, role, is_active, deactivated_at,
       deactivated_by, deactivation_reason, token_version, created_at, updated_at,
       deactivated_until
  FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE INDEX users_active_admins ON users (id) WHERE role = 'admin' AND is_active;
CREATE INDEX users_inactive ON users (id DESC) WHERE NOT is_active;
CREATE INDEX users_deactivated_until ON users (deactivated_until)
    WHERE deactivated_until IS NOT NULL;
COMMIT;
PRAGMA foreign_keys = ON;
