-- The end of the lease of the claim that is delivering an entry right now (NULL when no claim
-- holds it): an admin's "retry now" must not make an entry due while it is being sent, or a
-- second worker would send it again. Cleared when the entry is sent, rescheduled or given up.
ALTER TABLE outbox ADD COLUMN leased_until TEXT;
