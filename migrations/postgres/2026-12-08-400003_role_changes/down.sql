DELETE FROM audit_events WHERE action = 'role_changed';
ALTER TABLE audit_events DROP COLUMN to_role, DROP COLUMN from_role;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check
    CHECK (action IN ('deactivated', 'reactivated'));
