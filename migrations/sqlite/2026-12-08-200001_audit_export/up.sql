-- GET /api/v1/events/export orders the audit trail by (export_order, id). SQLite has one
-- writer at a time, so a counter bumped by the insert itself (these triggers, in the writing
-- transaction) numbers the rows of both tables in commit order
-- (docs/architecture.md, "The audit export's cursor"). Rows written before this migration
-- keep 0 and are ordered by id among themselves.
CREATE TABLE audit_export_sequence (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last INTEGER NOT NULL
);
INSERT INTO audit_export_sequence (id, last) VALUES (1, 0);

ALTER TABLE audit_events ADD COLUMN export_order BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audited_changes ADD COLUMN export_order BIGINT NOT NULL DEFAULT 0;
CREATE INDEX audit_events_export ON audit_events (export_order, id);
CREATE INDEX audited_changes_export ON audited_changes (export_order, id);
CREATE INDEX audit_events_by_time ON audit_events (created_at);
CREATE INDEX audited_changes_by_time ON audited_changes (created_at);

CREATE TRIGGER audit_events_export_order AFTER INSERT ON audit_events
BEGIN
    UPDATE audit_export_sequence SET last = last + 1 WHERE id = 1;
    UPDATE audit_events SET export_order = (SELECT last FROM audit_export_sequence WHERE id = 1)
        WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER audited_changes_export_order AFTER INSERT ON audited_changes
BEGIN
    UPDATE audit_export_sequence SET last = last + 1 WHERE id = 1;
    UPDATE audited_changes SET export_order = (SELECT last FROM audit_export_sequence WHERE id = 1)
        WHERE rowid = NEW.rowid;
END;

-- The last position WARDEN_AUDIT_RETENTION_DAYS deleted: a cursor before it answers 410.
CREATE TABLE audit_export_horizon (
    id           INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    export_order BIGINT NOT NULL,
    event_id     TEXT NOT NULL
);
