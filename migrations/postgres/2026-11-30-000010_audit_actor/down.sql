ALTER TABLE audit_events DROP COLUMN actor_kind, DROP COLUMN actor_name;
