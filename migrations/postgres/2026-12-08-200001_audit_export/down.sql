DROP TABLE audit_export_horizon;
DROP INDEX audited_changes_by_time;
DROP INDEX audit_events_by_time;
ALTER TABLE audited_changes DROP COLUMN export_order;
ALTER TABLE audit_events DROP COLUMN export_order;
