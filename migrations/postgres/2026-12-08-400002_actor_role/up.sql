-- Audit events carry the acting account's role at the time it acted (NULL for clients, the
-- system, and events recorded before roles were kept).
ALTER TABLE audit_events ADD COLUMN actor_role TEXT;
ALTER TABLE audited_changes ADD COLUMN actor_role TEXT;
