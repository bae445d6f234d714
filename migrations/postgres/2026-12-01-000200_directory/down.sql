DROP INDEX login_attempts_locked_accounts;
DROP INDEX audit_events_by_client;
DROP INDEX audit_events_by_actor;
DROP INDEX users_inactive;
DROP INDEX users_last_name_prefix;
DROP INDEX users_first_name_prefix;
DROP INDEX users_email_prefix;
