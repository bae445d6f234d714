ALTER TABLE webhook_endpoints DROP COLUMN created_by;
ALTER TABLE clients DROP COLUMN created_by;
DROP TABLE audited_changes;
