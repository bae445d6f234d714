ALTER TABLE outbox DROP COLUMN suspended_until;
DROP INDEX users_deactivated_until;
ALTER TABLE users DROP COLUMN deactivated_until;
