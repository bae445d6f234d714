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
    actor_role      TEXT,
    -- The audit export's order (2026-12-08-200001_audit_export).
    export_order    BIGINT NOT NULL DEFAULT 0
);
INSERT INTO audit_events_rebuilt (id, user_id, actor_id, action, reason, created_at, actor_kind,
                                  actor_name, actor_client_id, actor_role, export_order)
SELECT id, user_id, actor_id, action, reason, created_at, actor_kind, actor_name,
       actor_client_id, actor_role, export_order
  FROM audit_events
 WHERE action <> 'role_changed';
DROP TABLE audit_events;
ALTER TABLE audit_events_rebuilt RENAME TO audit_events;
CREATE INDEX audit_events_by_user ON audit_events (user_id, id DESC);
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, id DESC);
CREATE INDEX audit_events_by_client ON audit_events (actor_client_id, id DESC);
CREATE INDEX audit_events_export ON audit_events (export_order, id);
CREATE INDEX audit_events_by_time ON audit_events (created_at);
CREATE TRIGGER audit_events_export_order AFTER INSERT ON audit_events
BEGIN
    UPDATE audit_export_sequence SET last = last + 1 WHERE id = 1;
    UPDATE audit_events SET export_order = (SELECT last FROM audit_export_sequence WHERE id = 1)
        WHERE rowid = NEW.rowid;
END;
COMMIT;
PRAGMA foreign_keys = ON;
