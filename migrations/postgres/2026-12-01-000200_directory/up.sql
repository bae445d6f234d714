-- The directory: account search (GET /api/v1/users?q=), the audit log (GET /api/v1/events) and
-- the access explanation (GET /api/v1/users/{id}/access).
--
-- Search matches a prefix of the lower-cased email, first name or last name. text_pattern_ops
-- lets a `lower(x) LIKE 'prefix%'` use these indexes whatever the database's collation, so a
-- search stays an index lookup at millions of accounts (no pg_trgm needed).
CREATE INDEX users_email_prefix ON users (lower(email) text_pattern_ops);
CREATE INDEX users_first_name_prefix ON users (lower(first_name) text_pattern_ops);
CREATE INDEX users_last_name_prefix ON users (lower(last_name) text_pattern_ops);
-- `status=inactive` without text: the few deactivated accounts, newest first.
CREATE INDEX users_inactive ON users (id DESC) WHERE NOT is_active;

-- The audit log filtered by actor (an account or a client), newest first (by target:
-- audit_events_by_user).
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, id DESC);
CREATE INDEX audit_events_by_client ON audit_events (actor_client_id, id DESC);

-- The sign-in lockouts of one account, whatever the client.
CREATE INDEX login_attempts_locked_accounts ON login_attempts (account)
    WHERE blocked_until IS NOT NULL;
