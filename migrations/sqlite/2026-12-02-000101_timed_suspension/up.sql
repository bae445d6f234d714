-- Timed suspension: a deactivation may carry its end, when the system reactivates the account.
-- The lifter asks for the suspensions due now, earliest first: a partial index holds only them.
ALTER TABLE users ADD COLUMN deactivated_until TEXT;
CREATE INDEX users_deactivated_until ON users (deactivated_until)
    WHERE deactivated_until IS NOT NULL;
-- The deactivation email says until when.
ALTER TABLE outbox ADD COLUMN suspended_until TEXT;
