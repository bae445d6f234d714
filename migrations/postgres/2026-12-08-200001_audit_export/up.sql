-- GET /api/v1/events/export orders the audit trail by (export_order, id), where export_order
-- is the id of the transaction that wrote the row (xid8 as a bigint: 64 bits, never wraps).
-- The export only hands out rows whose transaction id is below the oldest transaction still
-- running (pg_snapshot_xmin), so no row that commits later can sort before one already
-- exported (docs/architecture.md, "The audit export's cursor"). Rows written before this
-- migration share its transaction id and are ordered by id among themselves.
ALTER TABLE audit_events
    ADD COLUMN export_order BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
ALTER TABLE audited_changes
    ADD COLUMN export_order BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX audit_events_export ON audit_events (export_order, id);
CREATE INDEX audited_changes_export ON audited_changes (export_order, id);
CREATE INDEX audit_events_by_time ON audit_events (created_at);
CREATE INDEX audited_changes_by_time ON audited_changes (created_at);

-- The last position WARDEN_AUDIT_RETENTION_DAYS deleted: a cursor before it answers 410.
CREATE TABLE audit_export_horizon (
    id           SMALLINT PRIMARY KEY CHECK (id = 1),
    export_order BIGINT NOT NULL,
    event_id     UUID NOT NULL
);
