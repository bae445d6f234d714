ALTER TABLE audited_changes DROP COLUMN actor_role;
ALTER TABLE audit_events DROP COLUMN actor_role;
