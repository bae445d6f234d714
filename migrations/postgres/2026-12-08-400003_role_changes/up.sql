-- Role changes are audit events of the account they change: action role_changed, with the role
-- the account had and the role it got.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check
    CHECK (action IN ('deactivated', 'reactivated', 'role_changed'));
ALTER TABLE audit_events ADD COLUMN from_role TEXT, ADD COLUMN to_role TEXT;
