-- Back to status changes only: role changes' events are dropped.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt as
-- https://www.sqlite.org/lang_altertable.html#otheralter says: outside diesel's transaction
-- (metadata.toml), with foreign keys off while the old table goes, in a transaction of its own.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE audit_events_rebuilt (
    id              TEXT PRIMARY KEY, -- UUIDv7: ordering by id is ordering by time
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id        TEXT REFERENCES users (id) ON DELETE SET NULL,
    action          TEXT NOT NULL CHECK (action IN ('deactivated', 'reactivated')),
    reason          TEXT,
    created_at      TEXT NOT NULL,
    actor_kind      TEXT NOT NULL DEFAULT 'user',
    actor_name      TEXT NOT NULL DEFAULT '',
    actor_client_id TEXT REFERENCES clients (id),
    actor_role      TEXT
);
INSERT INTO audit_events_rebuilt (id, user_id, actor_id, action, reason, created_at, actor_kind,
                                  actor_name, actor_client_id, actor_role)
SELECT id, user_id, actor_id, action, reason, created_at, actor_kind, actor_name,
       actor_client_id, actor_role
  FROM audit_events
 WHERE action <> 'role_changed';
DROP TABLE audit_events;
ALTER TABLE audit_events_rebuilt RENAME TO audit_events;
CREATE INDEX audit_events_by_user ON audit_events (user_id, id DESC);
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, id DESC);
CREATE INDEX audit_events_by_client ON audit_events (actor_client_id, id DESC);
COMMIT;
PRAGMA foreign_keys = ON;
